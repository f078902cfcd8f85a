"""Source adapters: each reads one source layout into the canonical extract of SPEC §2."""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import ExtractRefused
from pipeline.read.sources.files import Extract

FORMATS = ("canonical", "mimic-iv", "omop")
# Formats whose dates are shifted into the future by design, so that "after the run date" says
# nothing about them: MIMIC-IV moves every patient's dates to 2100-2200 (its de-identification).
DATE_SHIFTED_FORMATS = frozenset({"mimic-iv"})


def read_extract(directory: Path | str, source_format: str = "canonical") -> Extract:
    """Read an extract folder of the given source format into canonical lazy frames."""
    directory = Path(directory)
    if source_format == "canonical":
        from pipeline.read.sources.canonical import read_canonical

        return read_canonical(directory)
    if source_format == "mimic-iv":
        from pipeline.read.sources.mimic_iv import read_mimic_iv

        return read_mimic_iv(directory)
    if source_format == "omop":
        from pipeline.read.sources.omop import read_omop

        return read_omop(directory)
    raise ExtractRefused(
        f"source format '{source_format}' is not supported (supported: {', '.join(FORMATS)})",
        file=str(directory),
    )


__all__ = ["DATE_SHIFTED_FORMATS", "FORMATS", "Extract", "read_extract"]
