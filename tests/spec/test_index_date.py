"""SPEC §3 Index date: the date of the patient's first isolated low IgM panel."""

from datetime import date


def test_the_index_is_the_first_isolated_panel_not_the_first_low_igm(screen):
    # The low IgM of 2020-01-10 comes with a low IgG: not isolated. The next one is.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-10 | IgG  | 700
        p1      | 2020-01-10 | IgA  | 200
        p1      | 2020-03-10 | IgM  | 25
        p1      | 2020-03-10 | IgG  | 1000
        p1      | 2020-03-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "single_low"}
    assert result.index_date == {"p1": date(2020, 3, 10)}


def test_the_index_is_the_earliest_of_several_isolated_panels(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-03-10 | IgM  | 25
        p1      | 2020-03-10 | IgG  | 1000
        p1      | 2020-03-10 | IgA  | 200
        p1      | 2020-01-10 | IgM  | 30
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.index_date == {"p1": date(2020, 1, 10)}


def test_the_index_is_the_igm_date_even_when_igg_and_iga_came_earlier(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-01 | IgG  | 1000
        p1      | 2020-01-01 | IgA  | 200
        p1      | 2020-01-10 | IgM  | 25
    """
    )
    assert result.index_date == {"p1": date(2020, 1, 10)}


def test_patients_without_an_isolated_panel_have_no_index_date(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p2      | 2020-01-10 | IgM  | 100
    """
    )
    assert result.status == {"p1": "not_isolated", "p2": "igm_not_low"}
    assert result.index_date == {"p1": None, "p2": None}


def test_persistence_counts_from_the_index_not_from_the_first_low_igm(screen):
    # Low IgMs on 2020-01-10 (not isolated), 2020-03-10 (index) and 2020-05-10: the last is
    # 121 days after the first low but only 61 days after the index.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-03-10 | IgM  | 25
        p1      | 2020-03-10 | IgG  | 1000
        p1      | 2020-03-10 | IgA  | 200
        p1      | 2020-05-10 | IgM  | 25
    """
    )
    assert result.status == {"p1": "single_low"}


def test_a_normal_igm_before_the_index_does_not_normalise(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2019-06-10 | IgM  | 100
        p1      | 2020-03-10 | IgM  | 25
        p1      | 2020-03-10 | IgG  | 1000
        p1      | 2020-03-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "single_low"}


def test_exclusion_windows_are_measured_from_the_index(screen):
    # Clozapine on 2019-05-01: 254 days before the first low IgM (2020-01-10, not isolated) but
    # 397 days before the index (2020-06-01), outside the 365-day window.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-06-01 | IgM  | 25
        p1      | 2020-06-01 | IgG  | 1000
        p1      | 2020-06-01 | IgA  | 200
    """,
        medications="""
        patient | name      | start      | end
        p1      | clozapine | 2019-05-01 | 2019-05-01
    """,
    )
    assert result.status == {"p1": "single_low"}
    assert result.reasons == {"p1": []}
