"""Run `sigmd` in this process with a fault planted: a SIGKILL in a chosen phase, or forced ids.

Used by the reliability tests as a script:

    python tests/reliability/faults.py MARKS_FILE PHASE DELAY -- run --extract ... --db ...

PHASE is one of `none`, `read`, `screen`, `build`, `docs`, `before_replace`, `after_replace`.
For `read`, `screen`, `build` and `docs`, entering the phase starts a timer that sends SIGKILL to
this process after DELAY seconds, wherever it has got to by then (so the kill lands at a random
point of that phase or a later one). `before_replace` and `after_replace` kill the process just
before or just after the `os.replace` that publishes the database. Every phase entered is
appended to MARKS_FILE (one word a line, flushed), so the test knows where the kill landed.

With the environment variable `SIGMD_TEST_ATTEMPT_ID` set, every run uses that attempt id: two
runs then name their building files identically, as two containers with the same PID did.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

PHASES = ("read", "screen", "build", "docs")


def main(argv: list[str]) -> int:
    marks, phase, delay = Path(argv[0]), argv[1], float(argv[2])
    assert argv[3] == "--"
    install(marks, phase, delay)
    from pipeline.cli import main as sigmd

    return sigmd(argv[4:])


def mark(marks: Path, word: str) -> None:
    with marks.open("a") as fh:
        fh.write(word + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def kill_now() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install(marks: Path, phase: str, delay: float) -> None:
    from pipeline.publish import lock, publish
    from pipeline.read import normalize
    from pipeline.screen import funnel
    from pipeline.validate import docs

    forced = os.environ.get("SIGMD_TEST_ATTEMPT_ID")
    if forced:
        lock.new_attempt_id = lambda: forced  # type: ignore[assignment]

    def watch(module: Any, name: str, word: str) -> None:
        original = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            mark(marks, word)
            if word == phase:
                timer = threading.Timer(delay, kill_now)
                timer.daemon = True
                timer.start()
            return original(*args, **kwargs)

        setattr(module, name, wrapper)

    watch(normalize, "scan_labs", "read")
    watch(funnel, "screening", "screen")
    watch(publish, "_build_cohort", "build")
    watch(docs, "build_site", "docs")

    real_replace = os.replace

    def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        publishing = ".building-" in Path(src).name
        if publishing:
            mark(marks, "replace")
            if phase == "before_replace":
                kill_now()
        real_replace(src, dst, *args, **kwargs)
        if publishing:
            mark(marks, "replaced")
            if phase == "after_replace":
                kill_now()

    os.replace = replace  # type: ignore[assignment]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main(sys.argv[1:]))
