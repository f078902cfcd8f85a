"""SPEC §3 Severity, for every patient past step 3: complete when any low IgM at or after the
index date (without an index: any counted low IgM) is complete (< 5 mg/dL); else partial;
empty for under_min_age and igm_not_low."""


def test_a_complete_low_igm_at_the_index_is_complete(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 3
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
        p2      | 2020-01-10 | IgM  | 25
        p2      | 2020-01-10 | IgG  | 1000
        p2      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "single_low", "p2": "single_low"}
    assert result.severity == {"p1": "complete", "p2": "partial"}


def test_a_complete_low_igm_after_the_index_makes_it_complete(screen):
    # p1: 4 mg/dL 100 days after the index. p2: <5 only 30 days after (still single low).
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
        p1      | 2020-04-19 | IgM  | 4
        p2      | 2020-01-10 | IgM  | 25
        p2      | 2020-01-10 | IgG  | 1000
        p2      | 2020-01-10 | IgA  | 200
        p2      | 2020-02-09 | IgM  | <5
    """
    )
    assert result.status == {"p1": "persistent", "p2": "single_low"}
    assert result.severity == {"p1": "complete", "p2": "complete"}


def test_a_complete_result_before_the_index_does_not_make_it_complete(screen):
    # 3 mg/dL on 2019-06-01 comes with a low IgG (no panel); the index is 2020-01-10 (25).
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2019-06-01 | IgM  | 3
        p1      | 2019-06-01 | IgG  | 700
        p1      | 2019-06-01 | IgA  | 200
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "single_low"}
    assert result.index_date["p1"].isoformat() == "2020-01-10"
    assert result.severity == {"p1": "partial"}


def test_without_an_index_any_counted_complete_low_igm_makes_it_complete(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2019-06-01 | IgM  | 25
        p1      | 2020-01-10 | IgM  | 3
        p2      | 2020-01-10 | IgM  | 25
        p2      | 2020-01-10 | IgG  | 700
        p2      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "not_isolated", "p2": "not_isolated"}
    assert result.severity == {"p1": "complete", "p2": "partial"}


def test_a_complete_igm_before_the_minimum_age_does_not_count(screen):
    # Born 2016-01-15: 3 mg/dL at 3 y 4 m does not count; 25 mg/dL at 4 y 4 m does.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2019-06-01 | IgM  | 3
        p1      | 2020-06-01 | IgM  | 25
    """,
        patients="""
        patient | birth_date | sex
        p1      | 2016-01-15 | F
    """,
    )
    assert result.status == {"p1": "not_isolated"}
    assert result.severity == {"p1": "partial"}


def test_patients_failing_steps_2_or_3_have_no_severity(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        young   | 2019-06-01 | IgM  | 3
        normal  | 2020-01-10 | IgM  | 100
        undec   | 2020-01-10 | IgM  | <50
    """,
        patients="""
        patient | birth_date | sex
        young   | 2016-01-15 | F
        normal  | 1980-01-01 | M
        undec   | 1980-01-01 | M
    """,
    )
    assert result.status == {
        "young": "under_min_age",
        "normal": "igm_not_low",
        "undec": "igm_not_low",
    }
    assert result.severity == {"young": None, "normal": None, "undec": None}


def test_excluded_and_normalised_patients_have_a_severity(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        drug    | 2021-03-01 | IgM  | 3
        drug    | 2021-03-01 | IgG  | 1000
        drug    | 2021-03-01 | IgA  | 200
        normal  | 2021-03-01 | IgM  | 3
        normal  | 2021-03-01 | IgG  | 1000
        normal  | 2021-03-01 | IgA  | 200
        normal  | 2021-06-01 | IgM  | 80
    """,
        medications="""
        patient | name      | start      | end
        drug    | clozapine | 2020-06-01 | 2021-03-01
    """,
    )
    assert result.status == {"drug": "excluded_drug", "normal": "normalized"}
    assert result.severity == {"drug": "complete", "normal": "complete"}


def test_an_igm_under_5_that_is_not_low_is_not_complete(screen):
    # 4 mg/dL against the lab's own limits 3-100 is not low, hence not complete (and, being at
    # or above its lower limit after the index, it normalises the patient).
    result = screen(
        labs="""
        patient | date       | test | value | ref_low | ref_high
        p1      | 2020-01-10 | IgM  | 25    |         |
        p1      | 2020-01-10 | IgG  | 1000  |         |
        p1      | 2020-01-10 | IgA  | 200   |         |
        p1      | 2020-02-09 | IgM  | 4     | 3       | 100
    """
    )
    assert result.status == {"p1": "normalized"}
    assert result.severity == {"p1": "partial"}
