"""The per-run HTML segment report, written by the report task after scoring and rendered in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import Served

CHROMIUM = Path("/usr/bin/chromium")
SECTIONS = ("sizes", "zscores", "pca", "selection", "stability", "drift")


def test_report_task_writes_the_report_of_the_scoring_run(served: Served):
    report = Path(served.score["report"])
    assert report == served.paths.runs / "score-2" / "report" / "index.html"
    page = report.read_text()
    for key in SECTIONS:
        assert f'<section id="{key}">' in page
        assert (report.parent / f"{key}.png").stat().st_size > 5_000
    assert page.count("data:image/png;base64,") == len(SECTIONS)
    assert "the champion&#x27;s preprocessing" in page  # the PCA used the model artifact, not the fallback
    assert "score-1" in page  # history covers both runs; drift names the previous run as its reference


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (CI installs it: apt-get install chromium)")
def test_report_renders_in_headless_chromium(served: Served, tmp_path):
    from PIL import Image

    report = Path(served.score["report"])
    shot = tmp_path / "report.png"
    proc = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={shot}", "--window-size=1400,2400", report.as_uri()],
        capture_output=True, text=True, timeout=90)
    assert shot.exists(), proc.stderr[-2000:]
    shutil.copy2(shot, "/tmp/report.png")  # for a human look
    image = Image.open(shot).convert("RGB")
    assert image.size == (1400, 2400)
    small = image.resize((140, 240))
    pixels = list(small.getdata())
    inked = sum(1 for p in pixels if min(p) < 200) / len(pixels)
    colours = len(set(image.getdata()))
    assert shot.stat().st_size > 50_000
    assert inked > 0.05, f"page looks blank ({inked:.1%} inked)"
    assert colours > 500, "no plots rendered (too few colours)"
