"""Hand a stage's result to the next stage as files: one Parquet file per frame, plus meta.json.

The Airflow tasks run in separate processes (on separate Celery workers), so a `Normalised` or a
`ScreenResult` travels between them as a folder inside the run's work directory, never as an
XCom. Writing goes to a sibling folder that replaces the target at the end, so a task that is
killed and retried never leaves a half-written hand-off behind.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Collection
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from pipeline.result import InputFile, Normalised, ScreenResult

META = "meta.json"
ONE_ROW = ".row.parquet"  # a dict value, as a one-row Parquet file (JSON has no exact decimal)
T = TypeVar("T", Normalised, ScreenResult)


def save(obj: Normalised | ScreenResult, directory: Path | str) -> Path:
    """Write `obj` to `directory` (replaced whole) and return it."""
    target = Path(directory)
    staging = target.with_name(f".{target.name}.writing")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    meta: dict[str, Any] = {"kind": type(obj).__name__}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, pl.DataFrame):
            value.write_parquet(frame_path(staging, f.name))
        elif f.name == "inputs":
            meta[f.name] = [vars(i) for i in value]
        elif isinstance(value, dict):  # nested values with exact decimals (the criteria applied)
            pl.DataFrame([value]).write_parquet(staging / f"{f.name}{ONE_ROW}")
        elif isinstance(value, datetime):
            meta[f.name] = value.isoformat()
        else:
            meta[f.name] = value
    (staging / META).write_text(json.dumps(meta, indent=1, sort_keys=True))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def load(kind: type[T], directory: Path | str, *, skip: Collection[str] = ()) -> T:
    """Read back what `save` wrote; frames absent on disk were None.

    The frames named in `skip` are not read (they are left empty): a caller that reads them
    itself with `frame_path` (the merge of buckets, which scans them all at once).
    """
    source = Path(directory)
    meta = json.loads((source / META).read_text())
    if meta.pop("kind") != kind.__name__:
        raise ValueError(f"{source} does not hold a {kind.__name__}")
    values: dict[str, Any] = {}
    for f in fields(kind):
        path = frame_path(source, f.name)
        one_row = source / f"{f.name}{ONE_ROW}"
        if f.name in skip:
            values[f.name] = pl.DataFrame()
        elif path.exists():
            values[f.name] = pl.read_parquet(path)
        elif one_row.exists():
            values[f.name] = pl.read_parquet(one_row).to_dicts()[0]
        elif f.name == "inputs":
            values[f.name] = [InputFile(**i) for i in meta[f.name]]
        elif f.name == "started_at":
            values[f.name] = datetime.fromisoformat(meta[f.name])
        else:
            values[f.name] = meta.get(f.name)
    return kind(**values)


def frame_path(directory: Path | str, name: str) -> Path:
    """The Parquet file `save` wrote for the frame `name`."""
    return Path(directory) / f"{name}.parquet"
