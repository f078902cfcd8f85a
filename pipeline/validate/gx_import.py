"""Import Great Expectations at a fraction of its usual cost, and switch off what we do not use.

`import great_expectations` costs about 6 s of CPU on our 2-core machines, more than screening a
5M-row extract. Most of it is libraries GX imports eagerly for features sigmd never uses:

- `scipy` (about 1.4 s: `scipy.stats` for the distributional expectations) and `altair` (about
  0.6 s: charts in some renderers) are *required* by GX, so they are loaded lazily
  (`importlib.util.LazyLoader`): the module objects exist, and a module is really executed the
  first time one of its attributes is used. Nothing breaks if a future suite needs them; it then
  pays their import at that point.
- `sqlalchemy` (about 0.7 s) is *optional* for GX (its SQL data sources); sigmd validates pandas
  frames only (GX's SQL source does not work with DuckDB), so GX is imported with SQLAlchemy
  hidden, unless something in the process imported SQLAlchemy already (an Airflow worker), in
  which case GX gets it as usual. Only GX's own view is affected: SQLAlchemy can still be
  imported normally afterwards.
- GX fingerprints every pandas batch it validates (`hash_pandas_dataframe`, an MD5 over
  `pandas.util.hash_pandas_object` of the whole frame: about 1.5 s for the Ig results of a
  20M-row extract). The fingerprint is only a batch marker in the stored result; a run is
  identified by the SHA-256 of its input files instead. It is switched off through GX's own size
  threshold (`HASH_THRESHOLD`, above which GX already skips it).

Together this takes the import from about 6 s to about 3.5 s; the rest is pandas (needed to
validate) and GX's own modules. `docs/performance.md` has the measurements.

GX also logs its own bookkeeping at INFO: importing it writes hundreds of `Skipping registering
function` lines (`great_expectations._docs_decorators`), and every run `Saving 1 Fluent
Datasources ...`. Loading this module sets the loggers of `QUIET_LOGGERS` to WARNING, before GX
is imported, so task logs (Airflow's included) keep GX's warnings and errors and our own lines.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
import threading
from collections.abc import Sequence
from types import ModuleType

LAZY_PACKAGES = ("scipy", "altair")
HIDDEN_PACKAGES = ("sqlalchemy",)
QUIET_LOGGERS = ("great_expectations",)  # and every logger below it


def quiet_library_loggers() -> None:
    """Keep GX's INFO chatter out of our logs. Set when this module loads and again each time GX
    is asked for: a logging configuration applied later (Airflow's, in a task) resets the levels
    of loggers it does not name."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # Some GX modules set their own logger to INFO when imported (data_context/types/base.py):
    # raise those too, never lower a level someone set above WARNING.
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if (
            isinstance(logger, logging.Logger)
            and name.startswith(tuple(f"{q}." for q in QUIET_LOGGERS))
            and logging.NOTSET < logger.level < logging.WARNING
        ):
            logger.setLevel(logging.WARNING)


quiet_library_loggers()

_lock = threading.Lock()


class _LazyFinder(importlib.abc.MetaPathFinder):
    """Give the modules of `packages` a lazy loader (executed on first attribute access)."""

    def __init__(self, packages: Sequence[str]):
        self.packages = frozenset(packages)

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in self.packages:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


def import_great_expectations() -> ModuleType:
    """`import great_expectations`, cheaply (see the module docstring); idempotent."""
    quiet_library_loggers()
    with _lock:
        if "great_expectations" in sys.modules:
            return sys.modules["great_expectations"]
        finder = _LazyFinder([p for p in LAZY_PACKAGES if p not in sys.modules])
        hidden = [p for p in HIDDEN_PACKAGES if p not in sys.modules]
        sys.meta_path.insert(0, finder)
        for name in hidden:
            sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` fail
        try:
            import great_expectations
            from great_expectations.execution_engine import pandas_execution_engine
        finally:
            sys.meta_path.remove(finder)
            for name in hidden:
                if sys.modules.get(name, ModuleType(name)) is None:
                    del sys.modules[name]
        pandas_execution_engine.HASH_THRESHOLD = 0
        quiet_library_loggers()  # the loggers GX's modules set to INFO as they were imported
        return great_expectations
