"""The rows of one planted patient, in the canonical tables' shapes, at day offsets.

Rows are placed by day offset from the patient's anchor (its intended index date), so a
scenario reads as a timeline: a panel at day 0, a drug from day -200 to -10, a diagnosis at
+150. Specimen ids and the odd time of day are made here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

Row = dict[str, str | None]


@dataclass(kw_only=True)
class PatientRows:
    """A planted patient's lab, medication and diagnosis rows, as text."""

    pid: str
    anchor: date
    rng: np.random.Generator
    labs: list[Row] = field(default_factory=list)
    medications: list[Row] = field(default_factory=list)
    diagnoses: list[Row] = field(default_factory=list)
    n_specimens: int = 0

    def day(self, offset: int) -> date:
        return self.anchor + timedelta(days=offset)

    def specimen(self) -> str:
        self.n_specimens += 1
        return f"S{self.pid[1:]}{self.n_specimens:03d}"

    def draw_time(self) -> str | None:
        if self.rng.random() < 0.4:
            return f"{int(self.rng.integers(6, 20)):02d}:{int(self.rng.integers(0, 60)):02d}"
        return None

    def when(self, offset: int, time: str | None) -> str:
        day = self.day(offset).isoformat()
        return f"{day}T{time}:00" if time else day

    def lab(
        self,
        offset: int,
        code: str,
        name: str,
        value: str,
        unit: str,
        *,
        system: str | None = "LOINC",
        ref: tuple[str, str] | None = None,
        specimen: str | None = None,
        time: str | None = None,
    ) -> Row:
        row: Row = {
            "patient_id": self.pid,
            "collected_date": self.when(offset, time),
            "test_code": code,
            "test_system": system,
            "test_name": name,
            "value": value,
            "unit": unit,
            "ref_low": ref[0] if ref else None,
            "ref_high": ref[1] if ref else None,
            "specimen_id": specimen,
        }
        self.labs.append(row)
        return row

    def drug(
        self,
        name: str | None,
        start: int,
        end: int | None = None,
        *,
        code: str | None = None,
        system: str | None = None,
        route: str | None = None,
    ) -> None:
        self.medications.append(
            {
                "patient_id": self.pid,
                "drug_name": name,
                "drug_code": code,
                "drug_system": system or ("ATC" if code else None),
                "start_date": self.day(start).isoformat(),
                "end_date": None if end is None else self.day(end).isoformat(),
                "route": route,
            }
        )

    def diagnosis(self, code: str, system: str, offset: int) -> None:
        self.diagnoses.append(
            {
                "patient_id": self.pid,
                "code": code,
                "code_system": system,
                "diagnosis_date": self.day(offset).isoformat(),
            }
        )
