"""Keep the gate's environment knobs out of the quality tests unless a test sets them itself."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_gate_env(monkeypatch):
    for name in ("SEGWAREHOUSE_GATE_TOLERANCE", "SEGWAREHOUSE_GATE_MEAN_TOLERANCE"):
        monkeypatch.delenv(name, raising=False)
