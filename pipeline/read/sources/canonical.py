"""Read a canonical extract folder (SPEC §2) into lazy string frames.

Tables `labs` and `patients` are required, `medications` and `diagnoses` optional. Column names
are matched case-insensitively; columns outside the contract are ignored unless they look like
a direct identifier, which refuses the extract.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import ExtractRefused
from pipeline.read.sources.files import (
    Extract,
    TableSpec,
    discover,
    input_files,
    not_a_folder,
    read_table,
)

TABLES: dict[str, TableSpec] = {
    "labs": TableSpec(
        required=("patient_id", "collected_date", "test_code", "value", "unit"),
        optional=("test_system", "test_name", "ref_low", "ref_high", "specimen_id"),
        mandatory=True,
    ),
    "patients": TableSpec(
        required=("patient_id", "sex"), optional=("birth_date", "birth_year"), mandatory=True
    ),
    "medications": TableSpec(
        required=("patient_id", "start_date"),
        optional=("drug_name", "drug_code", "drug_system", "end_date", "route"),
        mandatory=False,
    ),
    "diagnoses": TableSpec(
        required=("patient_id", "code", "code_system", "diagnosis_date"),
        optional=(),
        mandatory=False,
    ),
}

REQUIRED_ANY = {"patients": (("birth_date", "birth_year"),)}


def read_canonical(directory: Path) -> Extract:
    if not directory.is_dir():
        raise not_a_folder(directory)
    paths = discover(directory, tuple(TABLES))
    for name, spec in TABLES.items():
        if spec.mandatory and not paths[name]:
            raise ExtractRefused(
                f"required table '{name}' not found (expected {name}.csv, {name}.csv.gz, "
                f"{name}.parquet or {name}_*.csv)",
                file=str(directory),
            )
    tables = {
        name: read_table(name, paths[name], spec, REQUIRED_ANY.get(name, ()))
        if paths[name]
        else None
        for name, spec in TABLES.items()
    }
    return Extract(tables=tables, hashing=input_files(paths), directory=directory)
