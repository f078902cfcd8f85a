"""Source adapters: each reads one source layout into the canonical extract of SPEC §2."""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import ExtractRefused
from pipeline.sources.files import Extract

FORMATS = ("canonical",)


def read_extract(directory: Path | str, source_format: str = "canonical") -> Extract:
    """Read an extract folder of the given source format into canonical lazy frames."""
    if source_format == "canonical":
        from pipeline.sources.canonical import read_canonical

        return read_canonical(Path(directory))
    raise ExtractRefused(
        f"source format '{source_format}' is not supported (supported: {', '.join(FORMATS)})",
        file=str(directory),
    )


__all__ = ["FORMATS", "Extract", "read_extract"]
