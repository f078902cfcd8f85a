"""SPEC §3 Age: completed months from birth_date (birth_year only: 1 July of that year); results
before min_age_years = 4 do not count towards low IgM; limits come from the age band."""

from datetime import date


def test_a_result_one_day_before_the_fourth_birthday_does_not_count(screen):
    # Born 2016-01-15: on 2020-01-14 aged 3 y 11 m (47 completed months), on 2020-01-15 48 months.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-14 | IgM  | 25
        p1      | 2020-01-14 | IgG  | 1000
        p1      | 2020-01-14 | IgA  | 200
        p2      | 2020-01-15 | IgM  | 25
        p2      | 2020-01-15 | IgG  | 1000
        p2      | 2020-01-15 | IgA  | 200
    """,
        patients="""
        patient | birth_date | sex
        p1      | 2016-01-15 | F
        p2      | 2016-01-15 | M
    """,
    )
    assert result.status == {"p1": "under_min_age", "p2": "single_low"}
    assert result.severity == {"p1": None, "p2": "partial"}
    assert result.index_date == {"p1": None, "p2": date(2020, 1, 15)}


def test_completed_months_count_the_day_of_the_month(screen):
    # Born 2016-03-31: 2020-03-30 is 47 completed months, 2020-03-31 is 48.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-03-30 | IgM  | 100
        p2      | 2020-03-31 | IgM  | 100
    """,
        patients="""
        patient | birth_date | sex
        p1      | 2016-03-31 | F
        p2      | 2016-03-31 | F
    """,
    )
    assert result.status == {"p1": "under_min_age", "p2": "igm_not_low"}


def test_with_birth_year_only_the_birthday_is_1_july(screen):
    # Born "2016" = 2016-07-01: 4 years old on 2020-07-01, not on 2020-06-30.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-06-30 | IgM  | 25
        p1      | 2020-06-30 | IgG  | 1000
        p1      | 2020-06-30 | IgA  | 200
        p2      | 2020-07-01 | IgM  | 25
        p2      | 2020-07-01 | IgG  | 1000
        p2      | 2020-07-01 | IgA  | 200
    """,
        patients="""
        patient | birth_year | sex
        p1      | 2016       | F
        p2      | 2016       | F
    """,
    )
    assert result.status == {"p1": "under_min_age", "p2": "single_low"}


def test_a_low_igm_before_the_minimum_age_does_not_count(screen):
    # Born 2016-01-15. p1: low at 3 y, normal at 4 y 5 m: has a counted IgM, none low.
    # p2: low at 3 y (with normal IgG/IgA) and again at 4 y 5 m: the index is the later one.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2019-06-01 | IgM  | 25
        p1      | 2019-06-01 | IgG  | 1000
        p1      | 2019-06-01 | IgA  | 200
        p1      | 2020-06-01 | IgM  | 100
        p2      | 2019-06-01 | IgM  | 25
        p2      | 2019-06-01 | IgG  | 1000
        p2      | 2019-06-01 | IgA  | 200
        p2      | 2020-06-01 | IgM  | 25
        p2      | 2020-06-01 | IgG  | 1000
        p2      | 2020-06-01 | IgA  | 200
    """,
        patients="""
        patient | birth_date | sex
        p1      | 2016-01-15 | F
        p2      | 2016-01-15 | F
    """,
    )
    assert result.status == {"p1": "igm_not_low", "p2": "single_low"}
    assert result.index_date["p2"] == date(2020, 6, 1)


def test_children_are_judged_by_their_age_band_at_the_band_boundary(screen):
    # Born 2010-01-15. At 119 months (7 - <10 y) the IgM lower limit is 38: 39 is not low.
    # At 120 months (10 - <13 y) it is 41: 39 is low. IgG 600 / IgA 100 are normal in both.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-14 | IgM  | 39
        p1      | 2020-01-14 | IgG  | 600
        p1      | 2020-01-14 | IgA  | 100
        p2      | 2020-01-15 | IgM  | 39
        p2      | 2020-01-15 | IgG  | 600
        p2      | 2020-01-15 | IgA  | 100
    """,
        patients="""
        patient | birth_date | sex
        p1      | 2010-01-15 | F
        p2      | 2010-01-15 | F
    """,
    )
    assert result.status == {"p1": "igm_not_low", "p2": "single_low"}


def test_igg_and_iga_of_a_child_are_judged_by_the_childs_band(screen):
    # A 10-year-old: IgG 600 (503-1719) and IgA 50 (42-295) are normal; for an adult
    # (767-1590, 61-356) both are low.
    result = screen(
        labs="""
        patient | date       | test | value
        child   | 2020-06-01 | IgM  | 30
        child   | 2020-06-01 | IgG  | 600
        child   | 2020-06-01 | IgA  | 50
        adult   | 2020-06-01 | IgM  | 30
        adult   | 2020-06-01 | IgG  | 600
        adult   | 2020-06-01 | IgA  | 50
    """,
        patients="""
        patient | birth_date | sex
        child   | 2010-01-15 | F
        adult   | 1990-01-15 | F
    """,
    )
    assert result.status == {"child": "single_low", "adult": "not_isolated"}


def test_the_adult_band_starts_at_18(screen):
    # Born 2002-01-15. At 17 y 11 m (16 - <18 y) IgM lower limit is 49: 45 is low.
    # At 18 y the adult lower limit is 37: 45 is not low.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-14 | IgM  | 45
        p1      | 2020-01-14 | IgG  | 1000
        p1      | 2020-01-14 | IgA  | 200
        p2      | 2020-01-15 | IgM  | 45
        p2      | 2020-01-15 | IgG  | 1000
        p2      | 2020-01-15 | IgA  | 200
    """,
        patients="""
        patient | birth_date | sex
        p1      | 2002-01-15 | F
        p2      | 2002-01-15 | F
    """,
    )
    assert result.status == {"p1": "single_low", "p2": "igm_not_low"}


def test_age_at_index_is_in_completed_years(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-06-14 | IgM  | 25
        p1      | 2020-06-14 | IgG  | 1000
        p1      | 2020-06-14 | IgA  | 200
        p2      | 2020-06-15 | IgM  | 25
        p2      | 2020-06-15 | IgG  | 1000
        p2      | 2020-06-15 | IgA  | 200
    """,
        patients="""
        patient | birth_date | sex
        p1      | 1980-06-15 | F
        p2      | 1980-06-15 | F
    """,
    )
    assert result.row("p1")["age_at_index"] == 39
    assert result.row("p2")["age_at_index"] == 40


def test_the_minimum_age_is_a_rules_setting(screen, site_rules):
    # A site screening from age 2: a 3-year-old's low IgM (2 - <4 y band: IgM 37-184,
    # IgG 295-1156, IgA 27-246) now counts.
    rules = site_rules(
        "criteria.toml", lambda text: text.replace("min_age_years = 4", "min_age_years = 2")
    )
    labs = """
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-10 | IgG  | 800
        p1      | 2020-01-10 | IgA  | 100
    """
    patients = """
        patient | birth_date | sex
        p1      | 2017-01-01 | F
    """
    assert screen(labs=labs, patients=patients).status == {"p1": "under_min_age"}
    assert screen(labs=labs, patients=patients, rules_dir=rules).status == {"p1": "single_low"}
