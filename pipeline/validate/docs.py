"""Data Docs: Great Expectations' HTML report of the last runs, written so no crash breaks a run.

A file-backed GX project rewrites its files in place (`open(path, "wb")`, then write) on every
run; a run killed or out of disk in between left an empty `great_expectations.yml` or suite file
that broke every later run. So sigmd keeps no GX project between runs:

- the suites run in an in-memory GX context; each suite's result, serialised by GX, is saved as
  one JSON file written atomically (temporary name, then rename) into a run-scoped results
  folder (`save_result`);
- `publish_data_docs` adds that run's results to the history as one folder renamed into place
  whole, keeps the last `keep` runs (default 20), renders the site in a fresh GX project inside a
  run-scoped work folder (`build_site`), moves the rendered site next to the others and switches
  the `data_docs` link to it with one atomic rename. Readers see the old site or the new one.

A crash at any moment leaves, at worst, a work folder or a temporary name that no later run
reads: the next run that takes the database's lock removes them (`remove_leftovers`).

    <db name>-validation/
      data_docs -> sites/<stamp>-<attempt>    the current site: open data_docs/index.html
      sites/                                  the current site and the one before it
      history/<stamp>-<attempt>/<suite>.json  the suite results of the last `keep` runs
      .work/<attempt>/                        a run's GX project while its site is rendered
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.errors import PublishError
from pipeline.validate.datadocs import make_offline
from pipeline.validate.results import TEMPORARY

log = logging.getLogger(__name__)

DOCS_LINK = "data_docs"
SITES = "sites"
HISTORY = "history"
WORK = ".work"
DEFAULT_HISTORY_RUNS = 20
SITES_KEPT = 2  # the current site and the one before it (a browser may still be reading it)
GX_SITE = Path("gx") / "uncommitted" / "data_docs" / "local_site"


def docs_index(docs_dir: Path) -> Path:
    """The page to open: the index of the current Data Docs site."""
    return docs_dir / DOCS_LINK / "index.html"


def publish_data_docs(
    results_dir: Path, docs_dir: Path, *, attempt_id: str, keep: int = DEFAULT_HISTORY_RUNS
) -> Path | None:
    """Add this run's suite results to the history and publish the rendered site atomically.

    Call with the database's lock held. Returns the index page, or None when the run saved no
    result. Any failure (a full disk, an unwritable folder) raises a one-line `PublishError`
    and leaves the previous site in place.
    """
    if not sorted(results_dir.glob("*.json")):
        return None
    work = docs_dir / WORK / attempt_id
    try:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        _add_to_history(results_dir, docs_dir / HISTORY, f"{stamp}-{attempt_id}")
        entries = _prune(docs_dir / HISTORY, keep)
        site = build_site(entries, work)
        _switch_site(site, docs_dir, f"{stamp}-{attempt_id}")
    except Exception as exc:
        raise PublishError(
            f"could not write the Data Docs ({_reason(exc)}); the published database is unchanged",
            file=str(docs_dir),
        ) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
        with contextlib.suppress(OSError):
            (docs_dir / WORK).rmdir()  # only when empty: another folder is a dead run's
    return docs_index(docs_dir)


def build_site(entries: list[Path], work: Path) -> Path:
    """Render the Data Docs site of the history `entries` in a fresh GX project in `work`.

    This is the one place that writes GX files: all of them go inside `work`, a run-scoped
    folder nobody else reads. Returns the folder of the rendered site (its index.html).
    """
    from great_expectations.data_context.types.resource_identifiers import (
        ValidationResultIdentifier,
    )

    from pipeline.validate.gx_import import import_great_expectations
    from pipeline.validate.suites import load_suite

    gx = import_great_expectations()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    context: Any = gx.get_context(mode="file", project_root_dir=str(work))
    store = context.validation_results_store
    suites: set[str] = set()
    for entry in entries:
        for saved in _saved_results(entry):
            key = ValidationResultIdentifier.from_tuple(tuple(saved["key"]))
            suite = key.expectation_suite_identifier.name
            if suite not in suites:
                context.suites.add(gx.ExpectationSuite(**load_suite(suite)))
                suites.add(suite)
            store.set(key, store.deserialize(saved["result"]))
    context.build_data_docs()
    site = work / GX_SITE
    if not (site / "index.html").is_file():
        raise FileNotFoundError("Great Expectations wrote no index.html")
    make_offline(site)  # the pages load no asset from the network (shipped with sigmd)
    return site


def remove_leftovers(docs_dir: Path) -> None:
    """Remove what runs that died left behind (call with the database's lock held)."""
    shutil.rmtree(docs_dir / WORK, ignore_errors=True)
    for folder in (docs_dir, docs_dir / HISTORY, docs_dir / SITES):
        for leftover in _glob(folder, f"{TEMPORARY}*"):
            _remove(leftover)
    for leftover in _glob(docs_dir, f".{DOCS_LINK}{TEMPORARY}*"):
        _remove(leftover)


def _add_to_history(results_dir: Path, history: Path, name: str) -> None:
    """Copy the run's results into history/<name>/, which appears whole or not at all."""
    history.mkdir(parents=True, exist_ok=True)
    staging = history / f"{TEMPORARY}{name}"
    staging.mkdir()
    for result in sorted(results_dir.glob("*.json")):
        shutil.copyfile(result, staging / result.name)
    _sync(staging)
    staging.rename(history / name)
    _sync(history)


def _prune(history: Path, keep: int) -> list[Path]:
    """Keep the newest `keep` runs of the history; return them, newest first."""
    entries = sorted(
        (p for p in history.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name,
        reverse=True,
    )
    for old in entries[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return entries[:keep]


def _saved_results(entry: Path) -> list[dict[str, Any]]:
    saved = []
    for path in sorted(entry.glob("*.json")):
        try:
            item = json.loads(path.read_text("utf-8"))
            if isinstance(item, dict) and "key" in item and "result" in item:
                saved.append(item)
                continue
        except (OSError, ValueError):
            pass
        log.warning("skipping %s/%s: not a saved suite result", entry.name, path.name)
    return saved


def _switch_site(site: Path, docs_dir: Path, name: str) -> None:
    """Move the rendered site next to the others and point `data_docs` at it, atomically."""
    sites = docs_dir / SITES
    sites.mkdir(parents=True, exist_ok=True)
    _sync(site)
    site.rename(sites / name)
    link = docs_dir / DOCS_LINK
    staging = docs_dir / f".{DOCS_LINK}{TEMPORARY}{name}"
    staging.unlink(missing_ok=True)
    staging.symlink_to(Path(SITES) / name, target_is_directory=True)
    staging.replace(link)
    _sync(docs_dir)
    current = os.readlink(link)
    kept = sorted((p.name for p in sites.iterdir() if not p.name.startswith(".")), reverse=True)
    for old in kept[SITES_KEPT:]:
        if Path(current).name != old:
            shutil.rmtree(sites / old, ignore_errors=True)


def _sync(folder: Path) -> None:
    """Make a folder's entries durable before it is renamed (best effort)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _glob(folder: Path, pattern: str) -> list[Path]:
    try:
        return list(folder.glob(pattern))
    except OSError:
        return []


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno is not None:
        return os.strerror(exc.errno)
    return type(exc).__name__
