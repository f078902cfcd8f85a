"""One suite's validation result saved as a file of the run, atomically.

`pipeline.validate.suites` saves each result here; `pipeline.validate.docs` renders them as
Data Docs. Its own module so that neither of those two imports the other in a circle.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path

TEMPORARY = ".tmp-"


def save_result(results_dir: Path, suite: str, key: tuple[str, ...], result: str) -> Path:
    """Save one suite's validation result (GX's JSON) and its store key, atomically."""
    results_dir.mkdir(parents=True, exist_ok=True)
    target = results_dir / f"{suite}.json"
    write_atomically(target, json.dumps({"key": list(key), "result": result}))
    return target


def write_atomically(target: Path, text: str) -> None:
    """Write a file under a temporary name, flush it to disk, then rename it into place."""
    staging = target.with_name(f"{TEMPORARY}{uuid.uuid4().hex}-{target.name}")
    try:
        with staging.open("w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        staging.replace(target)
    finally:
        with contextlib.suppress(OSError):
            staging.unlink(missing_ok=True)
