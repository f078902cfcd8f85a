"""SPEC §3 Same-day repeats: exact duplicate rows are dropped and counted among the rows the
screening uses (every row of patients, medications and diagnoses; the immunoglobulin rows of
labs, while other lab rows are ignored as other tests without being compared); several
results of one analyte on one day count as the day's lowest mg/dL value (censored-below wins a
tie), with that row's limits; for IgM, IgG and IgA alike."""

from datetime import date


def test_exact_duplicate_lab_rows_are_dropped_and_counted(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
        p1      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "single_low"}
    assert result.ignored("labs", "duplicate") == 2
    counts = result.counts("labs")
    assert (counts["read"], counts["used"]) == (5, 3)


def test_a_duplicated_other_test_is_another_test_and_a_duplicated_igm_an_exact_duplicate(screen):
    # Duplicates are counted among the rows the screening uses: the second glucose row is
    # ignored as another test like the first, never compared; the second IgM row is a duplicate.
    result = screen(
        labs="""
        patient | date       | test   | value
        p1      | 2020-01-10 | IgM    | 100
        p1      | 2020-01-10 | IgM    | 100
        p1      | 2020-01-10 | 2345-7 | 95
        p1      | 2020-01-10 | 2345-7 | 95
    """
    )
    assert result.status == {"p1": "igm_not_low"}
    assert result.ignored("labs", "other_test") == 2
    assert result.ignored("labs", "duplicate") == 1
    counts = result.counts("labs")
    assert (counts["read"], counts["used"], counts["ignored"]) == (4, 1, 3)


def test_duplicated_rows_of_an_unmapped_local_code_are_counted_as_not_loinc(screen):
    result = screen(
        labs="""
        patient | date       | test | system | value
        p1      | 2020-01-10 | IgM  |        | 100
        p1      | 2020-01-10 | GLU  | LOCAL  | 95
        p1      | 2020-01-10 | GLU  | LOCAL  | 95
    """
    )
    assert result.ignored("labs", "not_loinc") == 2
    assert result.ignored("labs", "duplicate") == 0


def test_rows_differing_only_by_surrounding_spaces_are_exact_duplicates(screen):
    result = screen(
        labs="""
        patient | date       | test | value  | unit
        p1      | 2020-01-10 | IgM  | 25     | mg/dL
        p1      | 2020-01-10 | IgM  | ' 25 ' | 'mg/dL '
        p1      | 2020-01-10 | IgG  | 1000   | mg/dL
        p1      | 2020-01-10 | IgA  | 200    | mg/dL
    """
    )
    assert result.status == {"p1": "single_low"}
    assert result.ignored("labs", "duplicate") == 1


def test_rows_differing_in_any_column_are_not_duplicates(screen):
    result = screen(
        labs="""
        patient | date       | test | value | specimen
        p1      | 2020-01-10 | IgM  | 25    | s1
        p1      | 2020-01-10 | IgM  | 25    | s2
        p1      | 2020-01-10 | IgG  | 1000  | s1
        p1      | 2020-01-10 | IgA  | 200   | s1
    """
    )
    assert result.status == {"p1": "single_low"}
    assert result.ignored("labs", "duplicate") == 0


def test_exact_duplicates_are_dropped_in_the_patients_table_without_a_conflict(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 100
    """,
        patients="""
        patient | birth_date | sex
        p1      | 1980-01-01 | F
        p1      | 1980-01-01 | F
    """,
    )
    assert result.status == {"p1": "igm_not_low"}
    assert result.ignored("patients", "duplicate") == 1
    assert result.quarantined("patients") == []


def test_exact_duplicates_are_dropped_in_the_medications_and_diagnoses_tables(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2021-03-01 | IgM  | 25
        p1      | 2021-03-01 | IgG  | 1000
        p1      | 2021-03-01 | IgA  | 200
    """,
        medications="""
        patient | name      | start      | end
        p1      | clozapine | 2021-01-01 | 2021-02-01
        p1      | clozapine | 2021-01-01 | 2021-02-01
    """,
        diagnoses="""
        patient | code   | system | date
        p1      | C91.10 | ICD10  | 2020-05-01
        p1      | C91.10 | ICD10  | 2020-05-01
    """,
    )
    assert result.status == {"p1": "excluded_drug"}
    assert result.reasons["p1"] == ["drug:clozapine", "malignancy:C91.10"]
    assert result.ignored("medications", "duplicate") == 1
    assert result.ignored("diagnoses", "duplicate") == 1


def test_the_days_lowest_igm_counts(screen):
    # p1: 40 (not low) and 30 (low) on one day -> 30: low. Row order does not matter (p2).
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 40
        p1      | 2020-01-10 | IgM  | 30
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
        p2      | 2020-01-10 | IgM  | 30
        p2      | 2020-01-10 | IgM  | 40
        p2      | 2020-01-10 | IgG  | 1000
        p2      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "single_low", "p2": "single_low"}


def test_results_at_different_times_of_one_day_are_the_same_day(screen):
    result = screen(
        labs="""
        patient | date                | test | value
        p1      | 2020-01-10T08:15:00 | IgM  | 40
        p1      | 2020-01-10T16:40:00 | IgM  | 30
        p1      | 2020-01-10 09:00:00 | IgG  | 1000
        p1      | 2020-01-10 09:00:00 | IgA  | 200
    """
    )
    assert result.status == {"p1": "single_low"}
    assert result.index_date == {"p1": date(2020, 1, 10)}


def test_a_normal_repeat_on_the_index_day_does_not_normalise(screen):
    # The day's value is its lowest (25): the same-day 100 is not a separate normal result.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-10 | IgM  | 100
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "single_low"}


def test_the_lowest_value_is_compared_in_mg_dl_across_units(screen):
    # 0.5 g/L = 50 mg/dL (table limits: not low); 45 mg/dL with the lab's 50-200 is low.
    # The day's lowest is 45 mg/dL, not the "0.5" with the smaller number.
    result = screen(
        labs="""
        patient | date       | test | value | unit  | ref_low | ref_high
        p1      | 2020-01-10 | IgM  | 0.5   | g/L   |         |
        p1      | 2020-01-10 | IgM  | 45    | mg/dL | 50      | 200
        p1      | 2020-01-10 | IgG  | 1000  | mg/dL |         |
        p1      | 2020-01-10 | IgA  | 200   | mg/dL |         |
    """
    )
    assert result.status == {"p1": "single_low"}


def test_the_lowest_rows_own_limits_are_kept(screen):
    # 30 with the lab's limits 20-100 is the day's lowest: not low, even though the other row
    # (35, table lower limit 37) would be.
    result = screen(
        labs="""
        patient | date       | test | value | ref_low | ref_high
        p1      | 2020-01-10 | IgM  | 35    |         |
        p1      | 2020-01-10 | IgM  | 30    | 20      | 100
        p1      | 2020-01-10 | IgG  | 1000  |         |
        p1      | 2020-01-10 | IgA  | 200   |         |
    """
    )
    assert result.status == {"p1": "igm_not_low"}


def test_a_censored_below_value_wins_a_tie(screen):
    # "5" and "<5" on one day: the "<5" row is the day's value, so the low IgM is complete.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 5
        p1      | 2020-01-10 | IgM  | <5
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
        p2      | 2020-01-10 | IgM  | <5
        p2      | 2020-01-10 | IgM  | 5
        p2      | 2020-01-10 | IgG  | 1000
        p2      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "single_low", "p2": "single_low"}
    assert result.severity == {"p1": "complete", "p2": "complete"}


def test_a_censored_below_tie_keeps_its_own_limits(screen):
    # "30" with lab limits 25-100 is not low; "<30" with table limits (37) is. Tie: "<30" wins.
    result = screen(
        labs="""
        patient | date       | test | value | ref_low | ref_high
        p1      | 2020-01-10 | IgM  | 30    | 25      | 100
        p1      | 2020-01-10 | IgM  | <30   |         |
        p1      | 2020-01-10 | IgG  | 1000  |         |
        p1      | 2020-01-10 | IgA  | 200   |         |
    """
    )
    assert result.status == {"p1": "single_low"}


def test_the_days_lowest_igg_is_the_one_judged(screen):
    # IgG 1000 and 700 on the IgM day: 700 is below 767, so the panel is not isolated.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgG  | 700
        p1      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "not_isolated"}


def test_the_days_lowest_iga_is_the_one_judged_with_its_own_limits(screen):
    # p1: IgA 200 and 50 -> 50 < 61: not isolated.
    # p2: IgA 200 and 50 with the lab's 40-400 -> 50 within its limits: isolated.
    result = screen(
        labs="""
        patient | date       | test | value | ref_low | ref_high
        p1      | 2020-01-10 | IgM  | 25    |         |
        p1      | 2020-01-10 | IgG  | 1000  |         |
        p1      | 2020-01-10 | IgA  | 200   |         |
        p1      | 2020-01-10 | IgA  | 50    |         |
        p2      | 2020-01-10 | IgM  | 25    |         |
        p2      | 2020-01-10 | IgG  | 1000  |         |
        p2      | 2020-01-10 | IgA  | 200   |         |
        p2      | 2020-01-10 | IgA  | 50    | 40      | 400
    """
    )
    assert result.status == {"p1": "not_isolated", "p2": "single_low"}


def test_the_days_lowest_igg_is_compared_across_units(screen):
    # p1: 20 g/L = 2000 mg/dL (above 1590) is not the day's lowest: 1000 mg/dL is, within limits.
    # p2: 7 g/L = 700 mg/dL is the day's lowest, below 767.
    result = screen(
        labs="""
        patient | date       | test | value | unit
        p1      | 2020-01-10 | IgM  | 25    | mg/dL
        p1      | 2020-01-10 | IgG  | 1000  | mg/dL
        p1      | 2020-01-10 | IgG  | 20    | g/L
        p1      | 2020-01-10 | IgA  | 200   | mg/dL
        p2      | 2020-01-10 | IgM  | 25    | mg/dL
        p2      | 2020-01-10 | IgG  | 1000  | mg/dL
        p2      | 2020-01-10 | IgG  | 7     | g/L
        p2      | 2020-01-10 | IgA  | 200   | mg/dL
    """
    )
    assert result.status == {"p1": "single_low", "p2": "not_isolated"}


def test_duplicates_of_an_invalid_row_are_dropped_before_quarantine(screen):
    # Two identical unparseable rows: one is an exact duplicate (ignored), one is quarantined.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 100
        p1      | 2020-01-11 | IgM  | QNS
        p1      | 2020-01-11 | IgM  | QNS
    """
    )
    assert result.status == {"p1": "igm_not_low"}
    assert result.quarantined("labs") == [("p1", 2)]
    assert result.ignored("labs", "duplicate") == 1


def test_a_day_with_several_low_igm_results_counts_as_one_low_result(screen):
    # Low IgM on 2020-01-10 (twice) and 2020-05-01; normal on 2020-03-01.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-10 | IgM  | 20
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
        p1      | 2020-03-01 | IgM  | 60
        p1      | 2020-05-01 | IgM  | 30
    """
    )
    assert result.status == {"p1": "normalized"}
    assert result.row("p1")["n_low_igm"] == 2
    assert result.row("p1")["min_igm_mg_dl"] == 20


def test_a_censored_below_value_wins_a_tie_across_units(screen):
    # "<0.05 g/L" is "<5 mg/dL": the same number as "5 mg/dL", and the censored row wins.
    result = screen(
        labs="""
        patient | date       | test | value | unit
        p1      | 2020-01-10 | IgM  | 5     | mg/dL
        p1      | 2020-01-10 | IgM  | <0.05 | g/L
        p1      | 2020-01-10 | IgG  | 1000  | mg/dL
        p1      | 2020-01-10 | IgA  | 200   | mg/dL
    """
    )
    assert result.severity == {"p1": "complete"}
