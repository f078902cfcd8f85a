"""SPEC §3 Reference limits: the lab's ref_low/ref_high when both are present, numeric and
ordered; otherwise the age-band table for both. Low IgM is value < lower; IgG/IgA are within
their limits when lower <= value <= upper."""

import pytest


def test_the_labs_own_limits_are_used_when_both_are_given(screen):
    # 30 is low against the table (37) but not against the lab's 20-100.
    result = screen(
        labs="""
        patient | date       | test | value | ref_low | ref_high
        p1      | 2020-01-10 | IgM  | 30    | 20      | 100
        p1      | 2020-01-10 | IgG  | 1000  |         |
        p1      | 2020-01-10 | IgA  | 200   |         |
        p2      | 2020-01-10 | IgM  | 40    | 45      | 250
        p2      | 2020-01-10 | IgG  | 1000  |         |
        p2      | 2020-01-10 | IgA  | 200   |         |
    """
    )
    assert result.status == {"p1": "igm_not_low", "p2": "single_low"}


@pytest.mark.parametrize(
    ("ref_low", "ref_high"),
    [
        ("20", ""),  # only one limit
        ("", "100"),
        ("low", "100"),  # not numeric
        ("20", "<100"),
        ("100", "20"),  # not ordered
    ],
)
def test_otherwise_the_table_is_used(screen, ref_low, ref_high):
    # 30 mg/dL is low against the adult table lower limit 37, not against a lab's 20.
    result = screen(
        labs=f"""
        patient | date       | test | value | ref_low   | ref_high
        p1      | 2020-01-10 | IgM  | 30    | {ref_low} | {ref_high}
        p1      | 2020-01-10 | IgG  | 1000  |           |
        p1      | 2020-01-10 | IgA  | 200   |           |
    """
    )
    assert result.status == {"p1": "single_low"}


def test_a_lone_lab_limit_is_not_mixed_with_the_table(screen):
    # IgG 1700 with only ref_high 1800: the table is used for both limits (767-1590), so 1700 is
    # above the upper limit.
    result = screen(
        labs="""
        patient | date       | test | value | ref_low | ref_high
        p1      | 2020-01-10 | IgM  | 25    |         |
        p1      | 2020-01-10 | IgG  | 1700  |         | 1800
        p1      | 2020-01-10 | IgA  | 200   |         |
    """
    )
    assert result.status == {"p1": "not_isolated"}


def test_igm_exactly_at_the_lower_limit_is_not_low(screen):
    # Adult table lower limit 37; lab lower limit 30.
    result = screen(
        labs="""
        patient | date       | test | value | ref_low | ref_high
        p1      | 2020-01-10 | IgM  | 37    |         |
        p1      | 2020-01-10 | IgG  | 1000  |         |
        p1      | 2020-01-10 | IgA  | 200   |         |
        p2      | 2020-01-10 | IgM  | 36.9  |         |
        p2      | 2020-01-10 | IgG  | 1000  |         |
        p2      | 2020-01-10 | IgA  | 200   |         |
        p3      | 2020-01-10 | IgM  | 30    | 30      | 200
        p3      | 2020-01-10 | IgG  | 1000  |         |
        p3      | 2020-01-10 | IgA  | 200   |         |
        p4      | 2020-01-10 | IgM  | 29.9  | 30      | 200
        p4      | 2020-01-10 | IgG  | 1000  |         |
        p4      | 2020-01-10 | IgA  | 200   |         |
    """
    )
    assert result.status == {
        "p1": "igm_not_low",
        "p2": "single_low",
        "p3": "igm_not_low",
        "p4": "single_low",
    }


@pytest.mark.parametrize(
    ("igg", "iga", "status"),
    [
        ("767", "200", "single_low"),  # IgG at its lower limit: normal
        ("766", "200", "not_isolated"),
        ("1590", "200", "single_low"),  # IgG at its upper limit: normal
        ("1591", "200", "not_isolated"),
        ("1000", "61", "single_low"),  # IgA at its lower limit: normal
        ("1000", "60.9", "not_isolated"),
        ("1000", "356", "single_low"),  # IgA at its upper limit: normal
        ("1000", "357", "not_isolated"),
    ],
)
def test_igg_and_iga_within_limits_include_both_ends(screen, igg, iga, status):
    # Adult table: IgG 767-1590, IgA 61-356.
    result = screen(
        labs=f"""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-10 | IgG  | {igg}
        p1      | 2020-01-10 | IgA  | {iga}
    """
    )
    assert result.status == {"p1": status}


def test_igg_and_iga_are_judged_by_their_labs_own_limits(screen):
    # IgG 700 is low for the table (767) but within the lab's 650-1500; IgA 400 is high for the
    # table (356) but within the lab's 50-450. At the lab's own bounds both are within.
    result = screen(
        labs="""
        patient | date       | test | value | ref_low | ref_high
        p1      | 2020-01-10 | IgM  | 25    |         |
        p1      | 2020-01-10 | IgG  | 700   | 650     | 1500
        p1      | 2020-01-10 | IgA  | 400   | 50      | 450
        p2      | 2020-01-10 | IgM  | 25    |         |
        p2      | 2020-01-10 | IgG  | 650   | 650     | 1500
        p2      | 2020-01-10 | IgA  | 450   | 50      | 450
        p3      | 2020-01-10 | IgM  | 25    |         |
        p3      | 2020-01-10 | IgG  | 1000  | 650     | 900
        p3      | 2020-01-10 | IgA  | 200   |         |
    """
    )
    assert result.status == {"p1": "single_low", "p2": "single_low", "p3": "not_isolated"}


def test_the_age_band_table_can_be_replaced_per_site(screen, site_rules):
    # A site whose adult IgM lower limit is 40: 38 mg/dL becomes low.
    rules = site_rules(
        "reference_intervals.csv", lambda text: text.replace("igm,216,,37,286", "igm,216,,40,286")
    )
    labs = """
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 38
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
    """
    assert screen(labs=labs).status == {"p1": "igm_not_low"}
    assert screen(labs=labs, rules_dir=rules).status == {"p1": "single_low"}
