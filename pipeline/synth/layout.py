"""The extract's layout: table files, their columns and row order, and where they go.

The generator writes the canonical tables of SPEC §2, every column as text, one file per table
(the labs may be split over `labs_part-NN` files). The folder must not hold another extract's
tables, which the reader would pick up alongside ours.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.errors import SigmdError

FILE_FORMATS = ("csv", "csv.gz", "parquet")
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "labs": (
        "patient_id",
        "collected_date",
        "test_code",
        "test_system",
        "test_name",
        "value",
        "unit",
        "ref_low",
        "ref_high",
        "specimen_id",
    ),
    "patients": ("patient_id", "birth_date", "birth_year", "sex"),
    "medications": (
        "patient_id",
        "drug_name",
        "drug_code",
        "drug_system",
        "start_date",
        "end_date",
        "route",
    ),
    "diagnoses": ("patient_id", "code", "code_system", "diagnosis_date"),
}
# Rows are written per patient in time order, as an extract query would return them.
SORT_BY = {
    "labs": ["num", "collected_date"],
    "patients": ["num"],
    "medications": ["num", "start_date"],
    "diagnoses": ["num", "diagnosis_date"],
}


def table_paths(out_dir: Path, file_format: str, split_labs: int) -> dict[str, list[Path]]:
    """The files each table is written to."""
    paths = {t: [out_dir / f"{t}.{file_format}"] for t in TABLE_COLUMNS}
    if split_labs > 1:
        paths["labs"] = [
            out_dir / f"labs_part-{i:02d}.{file_format}" for i in range(1, split_labs + 1)
        ]
    return paths


def check_out_dir(out_dir: Path, paths: dict[str, list[Path]]) -> None:
    """Refuse to mix with another extract's tables, which the reader would pick up too."""
    ours = {p.name for group in paths.values() for p in group}
    pattern = re.compile(rf"^({'|'.join(TABLE_COLUMNS)})([_\-.].*)?\.(csv|csv\.gz|parquet)$", re.I)
    strangers = sorted(
        p.name for p in out_dir.iterdir() if pattern.match(p.name) and p.name not in ours
    )
    if strangers:
        raise SigmdError(
            f"already holds other extract tables ({', '.join(strangers)}); use an empty folder",
            file=str(out_dir),
        )
