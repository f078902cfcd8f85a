"""SPEC §2 validation: rows that cannot be screened go to quarantine with their table, file, row
and reason; the rest of the extract is screened as usual."""

import pytest

PANEL = """
    patient | date       | test | value
    ok      | 2020-01-10 | IgM  | 25
    ok      | 2020-01-10 | IgG  | 1000
    ok      | 2020-01-10 | IgA  | 200
"""


def test_rows_of_a_patient_missing_from_patients_are_quarantined(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        ok      | 2020-01-10 | IgM  | 100
        ghost   | 2020-01-10 | IgM  | 25
        ghost   | 2020-01-10 | IgG  | 1000
    """,
        patients="""
        patient | birth_date | sex
        ok      | 1980-01-01 | F
    """,
        medications="""
        patient | name      | start
        ghost   | clozapine | 2019-06-01
    """,
        diagnoses="""
        patient | code   | system | date
        ghost   | C91.10 | ICD10  | 2019-06-01
    """,
    )
    assert result.status == {"ok": "igm_not_low"}
    result.assert_quarantined(table="labs", patient="ghost", rows=[2, 3], reason="unknown_patient")
    result.assert_quarantined(table="medications", patient="ghost", rows=[1])
    result.assert_quarantined(table="diagnoses", patient="ghost", rows=[1])
    assert result.quarantined("labs") == [("ghost", 2), ("ghost", 3)]


@pytest.mark.parametrize(
    ("birth_date", "birth_year"),
    [("", ""), ("1980-13-45", ""), ("01/02/1980", ""), ("", "nineteen")],
)
def test_rows_of_a_patient_without_usable_birth_data_are_quarantined(
    screen, birth_date, birth_year
):
    result = screen(
        labs="""
        patient | date       | test | value
        ok      | 2020-01-10 | IgM  | 100
        nobirth | 2020-01-10 | IgM  | 25
    """,
        patients=f"""
        patient | birth_date   | birth_year   | sex
        ok      | 1980-01-01   |              | F
        nobirth | {birth_date} | {birth_year} | F
    """,
    )
    assert result.status == {"ok": "igm_not_low"}
    result.assert_quarantined(table="labs", patient="nobirth", rows=[2], reason="no_birth_data")


def test_all_rows_of_a_patient_listed_twice_with_conflicting_birth_data_are_quarantined(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        twice   | 2020-01-10 | IgM  | 25
        twice   | 2020-01-10 | IgG  | 1000
        twice   | 2020-01-10 | IgA  | 200
        ok      | 2020-01-10 | IgM  | 100
        year    | 2020-01-10 | IgM  | 100
    """,
        patients="""
        patient | birth_date | birth_year | sex
        twice   | 1980-01-01 |            | F
        ok      | 1980-01-01 |            | F
        twice   | 1981-01-01 |            | F
        year    |            | 1970       | M
        year    |            | 1971       | M
    """,
        medications="""
        patient | name      | start
        twice   | clozapine | 2019-06-01
    """,
    )
    assert result.status == {"ok": "igm_not_low"}
    result.assert_quarantined(
        table="labs", patient="twice", rows=[1, 2, 3], reason="conflicting_birth_data"
    )
    result.assert_quarantined(table="labs", patient="year", rows=[5])
    result.assert_quarantined(table="medications", patient="twice", rows=[1])
    result.assert_quarantined(table="patients", patient="twice", rows=[1, 3])
    result.assert_quarantined(table="patients", patient="year", rows=[4, 5])


def test_a_patient_listed_twice_with_the_same_birth_data_is_screened(screen):
    # Only conflicting *birth* data makes a patient unscreenable.
    result = screen(
        labs=PANEL,
        patients="""
        patient | birth_date | sex
        ok      | 1980-01-01 | F
        ok      | 1980-01-01 | U
    """,
    )
    assert result.status == {"ok": "single_low"}
    assert result.quarantined("labs") == []


def test_a_medication_ending_before_it_starts_is_quarantined_and_not_an_exposure(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
        p2      | 2020-01-10 | IgM  | 25
        p2      | 2020-01-10 | IgG  | 1000
        p2      | 2020-01-10 | IgA  | 200
    """,
        medications="""
        patient | name      | start      | end
        p1      | clozapine | 2019-12-01 | 2019-11-30
        p2      | clozapine | 2019-12-01 | 2019-12-01
    """,
    )
    assert result.status == {"p1": "single_low", "p2": "excluded_drug"}
    assert result.quarantined("medications") == [("p1", 1)]
    result.assert_quarantined(table="medications", rows=[1], reason="end_before_start")


@pytest.mark.parametrize(
    "value", ["QNS", "1,5", "25 mg/dL", "<", "negative", "=5", "<<5", "5-10", "~20", ""]
)
def test_an_unparseable_value_sends_the_row_to_quarantine(screen, value):
    result = screen(
        labs=f"""
        patient | date       | test | value
        ok      | 2020-01-10 | IgM  | 100
        bad     | 2020-01-10 | IgM  | '{value}'
    """
    )
    assert result.status == {"ok": "igm_not_low"}
    assert result.quarantined("labs") == [("bad", 2)]
    if value:
        result.assert_quarantined(table="labs", rows=[2], reason="unparseable_value")


@pytest.mark.parametrize("value", ["25", "25.0", "' 25 '", "<30", "< 30", "<=30", "<= 30"])
def test_numbers_and_censored_values_are_parsed(screen, value):
    result = screen(
        labs=f"""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | {value}
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "single_low"}
    assert result.quarantined("labs") == []


@pytest.mark.parametrize("date", ["2020-02-30", "10/01/2020", "yesterday", ""])
def test_a_lab_row_without_a_valid_date_is_quarantined(screen, date):
    result = screen(
        labs=f"""
        patient | date       | test | value
        ok      | 2020-01-10 | IgM  | 100
        bad     | {date}     | IgM  | 25
    """
    )
    assert result.status == {"ok": "igm_not_low"}
    assert result.quarantined("labs") == [("bad", 2)]


def test_quarantined_rows_name_their_file(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        ok      | 2020-01-10 | IgM  | 100
        bad     | 2020-01-10 | IgM  | QNS
    """
    )
    quarantine = result.result.quarantine.to_dicts()
    assert len(quarantine) == 1
    assert quarantine[0]["source_file"].endswith("labs.csv")
    assert quarantine[0]["source_row"] == 2


@pytest.mark.parametrize("table", ["labs", "patients", "medications", "diagnoses"])
def test_every_row_read_is_used_quarantined_or_ignored(screen, table):
    result = screen(
        labs="""
        patient | date       | test   | value | unit
        ok      | 2020-01-10 | IgM    | 25    | mg/dL
        ok      | 2020-01-10 | IgM    | 25    | mg/dL
        ok      | 2020-01-10 | IgG    | 1000  | mg/dL
        ok      | 2020-01-10 | IgA    | QNS   | mg/dL
        ok      | 2020-01-10 | 2160-0 | 0.9   | mg/dL
        ghost   | 2020-01-10 | IgM    | 25    | mg/dL
    """,
        patients="""
        patient | birth_date | sex
        ok      | 1980-01-01 | F
        ok      | 1980-01-01 | F
    """,
        medications="""
        patient | name      | start      | end
        ok      | clozapine | 2019-12-01 | 2019-11-30
        ok      | aspirin   | 2019-12-01 |
        ok      | aspirin   | 2019-12-01 |
    """,
        diagnoses="""
        patient | code  | system | date
        ok      | I10   | ICD10  | 2019-12-01
        ok      | I10   | SNOMED | 2019-12-01
    """,
    )
    counts = result.counts(table)
    expected_read = {"labs": 6, "patients": 2, "medications": 3, "diagnoses": 2}[table]
    assert counts["read"] == expected_read
    assert counts["read"] == counts["used"] + counts["quarantined"] + counts["ignored"]
    assert counts["quarantined"] == len(result.quarantined(table))


@pytest.mark.parametrize(
    ("sex", "expected"),
    [("F", "F"), ("female", "F"), ("M", "M"), ("Male", "M"), ("m", "M"), ("U", "U"), ("X", "U")],
)
def test_sex_spellings_are_normalised(screen, sex, expected):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 100
    """,
        patients=f"""
        patient | birth_date | sex
        p1      | 1980-01-01 | {sex}
    """,
    )
    assert result.row("p1")["sex"] == expected


def test_medication_and_diagnosis_rows_without_a_valid_date_are_quarantined(screen):
    result = screen(
        labs=PANEL,
        medications="""
        patient | name      | start      | end
        ok      | clozapine | 2019-13-01 |
        ok      | clozapine |            |
    """,
        diagnoses="""
        patient | code   | system | date
        ok      | C91.10 | ICD10  | last year
    """,
    )
    assert result.status == {"ok": "single_low"}
    assert result.quarantined("medications") == [("ok", 1), ("ok", 2)]
    assert result.quarantined("diagnoses") == [("ok", 1)]


def test_a_second_listing_without_birth_data_does_not_conflict(screen):
    result = screen(
        labs=PANEL,
        patients="""
        patient | birth_date | birth_year | sex
        ok      | 1980-01-01 |            | F
        ok      |            |            | F
    """,
    )
    assert result.status == {"ok": "single_low"}
    assert result.quarantined("labs") == []
