"""Property: every input row is used, quarantined or ignored, and bad rows change no outcome."""

from __future__ import annotations

import csv
import shutil
import tempfile
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.rules import DEFAULT_RULES_DIR
from pipeline.run.engine import screen_extract

LAB_COLUMNS = [
    "patient_id",
    "collected_date",
    "test_code",
    "test_system",
    "value",
    "unit",
    "specimen_id",
]
CODES = ["2472-9", "2465-3", "2458-8", "2951-2"]
FIRST_DAY, LAST_DAY = date(2015, 1, 1), date(2022, 12, 31)

good_lab = st.fixed_dictionaries(
    {
        "patient_id": st.sampled_from(["p1", "p2", "p3"]),
        # Drawn inside the range, never mapped onto another year: a generated 29 February moved
        # to a non-leap year is no date at all.
        "collected_date": st.dates(FIRST_DAY, LAST_DAY).map(date.isoformat),
        "test_code": st.sampled_from(CODES),
        "test_system": st.sampled_from(["LOINC", "", "loinc"]),
        "value": st.sampled_from(["25", "<5", "1000", "200", "> 300", "0.3"]),
        "unit": st.sampled_from(["mg/dL", "g/L", "MG/DL"]),
        "specimen_id": st.sampled_from(["", "s1", "s2"]),
    }
)
bad_lab = good_lab.flatmap(
    lambda row: st.sampled_from(
        [
            {**row, "value": "QNS"},
            {**row, "value": "hemolysed"},
            {**row, "value": "-3"},
            {**row, "value": "99999", "unit": "g/L"},  # implausible
            {**row, "collected_date": "yesterday"},
            {**row, "collected_date": "2020-13-45"},
            {**row, "unit": "furlongs"},
            {**row, "patient_id": "nobody"},
            {**row, "patient_id": ""},
            {**row, "test_code": ""},
            {**row, "test_system": "LOCAL"},
        ]
    )
)


def write(folder: Path, labs: list[dict]) -> None:
    with (folder / "labs.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, LAB_COLUMNS)
        writer.writeheader()
        writer.writerows(labs)
    (folder / "patients.csv").write_text(
        "patient_id,birth_date,sex\np1,1980-01-01,F\np2,2000-06-15,M\np3,1950-02-02,F\n"
    )


def rules_without_unit_share_refusal() -> Path:
    """The shipped rules, except that no share of unknown units refuses the extract: that
    table-level check is tested in the broken-extract corpus; here bad rows are row-level."""
    folder = Path(tempfile.mkdtemp(prefix="sigmd-rules-"))
    shutil.copytree(DEFAULT_RULES_DIR, folder, dirs_exist_ok=True)
    criteria = folder / "criteria.toml"
    text = criteria.read_text()
    criteria.write_text(
        text.replace("unknown_unit_min_rows = 20", "unknown_unit_min_rows = 1000000")
    )
    return folder


RULES = rules_without_unit_share_refusal()


def screen(labs: list[dict]):
    with tempfile.TemporaryDirectory() as tmp:
        write(Path(tmp), labs)
        return screen_extract(tmp, rules_dir=RULES, suites=False)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    good=st.lists(good_lab, min_size=1, max_size=25).map(
        lambda rows: [{**rows[0], "test_code": "2472-9", "value": "25", "unit": "mg/dL"}, *rows]
    ),
    bad=st.lists(bad_lab, min_size=0, max_size=15),
    repeats=st.lists(st.integers(0, 100), max_size=5),  # exact re-deliveries of good rows
    data=st.data(),
)
def test_rows_add_up_and_bad_rows_change_no_good_outcome(good, bad, repeats, data):
    mixed = list(good)
    for i in repeats:
        mixed.append(dict(good[i % len(good)]))
    for row in bad:
        mixed.insert(data.draw(st.integers(0, len(mixed))), row)
    result = screen(mixed)
    counts = {r["table_name"]: r for r in result.row_counts.iter_rows(named=True)}
    for row in counts.values():
        assert row["read"] == row["used"] + row["quarantined"] + row["ignored"]
    assert counts["labs"]["read"] == len(mixed)

    clean = screen(good)
    columns = ["patient_id", "status", "severity", "index_date", "n_low_igm"]
    assert result.screening.select(columns).equals(clean.screening.select(columns))
