"""Child process for the fault tests: run one `segwarehouse` CLI stage and SIGKILL itself at a kill point.

usage: python kill_at.py MODULE:FUNCTION N before|after -- <segwarehouse CLI arguments>

The named module-level function of the production code is wrapped (its behaviour is unchanged) so that its
N-th call sends SIGKILL to this very process before or after the real call: the process dies exactly where
the test wants it (mid-transaction, between writing a file and renaming it, ...), with no clean-up, as
under the kernel's OOM killer or a `kill -9` from the scheduler. Exit code 97: the kill point was never
reached (the test then fails, because no fault was injected).
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

NOT_REACHED = 97


def _die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def arm(target: str, n: int, when: str) -> None:
    """Wrap `module:function` so that its n-th call kills the process `before` or `after` running it."""
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    original: Callable[..., Any] = getattr(module, attr)
    calls = 0

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == n and when == "before":
            _die()
        result = original(*args, **kwargs)
        if calls == n and when == "after":
            _die()
        return result

    setattr(module, attr, wrapper)


def main(argv: list[str]) -> int:
    target, n, when, sep, *cli = argv
    if sep != "--" or when not in ("before", "after"):
        raise SystemExit(__doc__)
    arm(target, int(n), when)
    from segwarehouse.cli.main import main as cli_main

    cli_main(cli)
    return NOT_REACHED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
