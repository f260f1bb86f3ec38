"""The landing zone as an erasure will leave it, built beside the real one and swapped in at the end.

`build_shadow` mirrors the landing zone into a work folder inside it (`<raw>/.segwarehouse/<name>/`, which the
ledger never lists): every file hard-linked (copied where links are not possible), links re-created as links,
and the files that hold the person's lines written anew without them. The warehouse is rebuilt from that
folder and checked before `swap_in` renames the new files over the old ones, so a failed erasure leaves the
landing zone as it was.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from segwarehouse.landing.ledger import WORK_DIR, file_sha256
from segwarehouse.privacy.matching import ErasureError


@dataclass(frozen=True)
class FileChange:
    """One landing file an erasure rewrites: its lines to drop and its content before and after."""

    source_file: str
    drop_lines: list[int]
    old_sha256: str
    new_sha256: str | None      # None: the file is removed (no data line of it is left)
    lines_removed: int

    def as_dict(self) -> dict:
        return {"source_file": self.source_file, "drop_lines": self.drop_lines, "old_sha256": self.old_sha256,
                "new_sha256": self.new_sha256, "lines_removed": self.lines_removed}


def shadow_root(raw: Path, name: str) -> Path:
    return raw / WORK_DIR / name


def rewrite(content: bytes, drop: set[int], *, keeps_header: bool) -> tuple[bytes | None, int]:
    """`content` without the 1-based lines in `drop` (lines split at LF, as the warehouse numbers them).

    Returns None when no data line is left in a file without a header (an events file of only the
    person's lines is removed, not left empty: an empty delivery is an error of its own).
    """
    lines = content.split(b"\n")
    kept = [line for i, line in enumerate(lines, start=1) if i not in drop]
    removed = len(lines) - len(kept)
    data_left = [line for line in kept[1 if keeps_header else 0:] if line.strip(b"\r")]
    if not keeps_header and not data_left:
        return None, removed
    return b"\n".join(kept), removed


def build_shadow(raw: Path, shadow: Path, plan: dict[str, list[int]], expected_sha256: dict[str, str],
                 headers: set[str]) -> list[FileChange]:
    """Mirror `raw` into `shadow` with the planned lines removed; refuse a file whose content changed.

    `expected_sha256` is the content the warehouse loaded for each planned file (its line numbers refer to
    it); `headers` the planned files whose first line is a header (CSV).
    """
    if shadow.exists():
        shutil.rmtree(shadow)
    shadow.mkdir(parents=True)
    changes: list[FileChange] = []
    for source_file, lines in plan.items():
        original = raw / source_file
        if original.is_symlink() or not original.is_file():
            raise ErasureError(f"{source_file}: not a regular file any more; re-run the build, then the erasure")
        content = original.read_bytes()
        digest = hashlib.sha256(content).hexdigest()
        if digest != expected_sha256.get(source_file):
            raise ErasureError(f"{source_file} changed since the warehouse loaded it (its line numbers would "
                               "hit other lines): run the build, then the erasure again")
        new, removed = rewrite(content, set(lines), keeps_header=source_file in headers)
        target = shadow / source_file
        target.parent.mkdir(parents=True, exist_ok=True)
        if new is not None:
            target.write_bytes(new)
            _fsync(target)
        changes.append(FileChange(source_file, lines, digest,
                                  None if new is None else hashlib.sha256(new).hexdigest(), removed))
    _mirror(raw, shadow, skip={c.source_file for c in changes})
    return changes


def _mirror(raw: Path, shadow: Path, skip: set[str]) -> None:
    for folder, dirs, files in os.walk(raw):
        rel_folder = Path(folder).relative_to(raw)
        if rel_folder == Path():
            dirs[:] = [d for d in dirs if d != WORK_DIR]
        for name in sorted(dirs):
            src = Path(folder) / name
            if src.is_symlink():  # a link to a folder: os.walk does not descend; keep the link itself
                (shadow / rel_folder / name).symlink_to(src.readlink())
            else:
                (shadow / rel_folder / name).mkdir(exist_ok=True)
        dirs[:] = [d for d in dirs if not (Path(folder) / d).is_symlink()]
        for name in files:
            rel = (rel_folder / name).as_posix()
            if rel in skip:
                continue
            src, dst = Path(folder) / name, shadow / rel_folder / name
            if src.is_symlink():
                dst.symlink_to(src.readlink())
                continue
            try:
                os.link(src, dst)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
                shutil.copy2(src, dst)


def swap_in(raw: Path, shadow: Path, changes: list[FileChange]) -> None:
    """Put the rewritten files in place (rename, atomic per file). Safe to repeat after an interruption:
    a file already swapped (its content is the new one) is left as it is."""
    for change in changes:
        target = raw / change.source_file
        staged = shadow / change.source_file
        if change.new_sha256 is None:
            if staged.exists():
                staged.unlink()
            target.unlink(missing_ok=True)
            continue
        if staged.exists():
            staged.replace(target)
            _fsync_dir(target.parent)
        elif not target.is_file() or file_sha256(target) != change.new_sha256:
            raise ErasureError(f"{change.source_file}: neither the rewritten file nor its staged copy is there; "
                               "restore the landing zone from backup or re-deliver the file")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
