"""SPEC §3 Persistence: normalised when any IgM on or after the index date is at or above its
lower limit; otherwise persistent with a low IgM >= 90 days after the index, else single low.

Every patient here has an isolated low IgM panel on 2020-01-10 (the index date).
"""

import pytest


def screen_after_index(screen, rows):
    """The index panel plus later IgM rows: (date, value, unit, ref_low, ref_high)."""
    later = "\n".join(f"p1 | {d} | IgM | {v} | {unit} | {lo} | {hi}" for d, v, unit, lo, hi in rows)
    return screen(
        labs=f"""
        patient | date       | test | value | unit  | ref_low | ref_high
        p1      | 2020-01-10 | IgM  | 25    | mg/dL |         |
        p1      | 2020-01-10 | IgG  | 1000  | mg/dL |         |
        p1      | 2020-01-10 | IgA  | 200   | mg/dL |         |
        {later}
    """
    )


def test_no_igm_after_the_index_is_single_low(screen):
    result = screen_after_index(screen, [])
    assert result.status == {"p1": "single_low"}


@pytest.mark.parametrize(
    ("date", "status"),
    [
        ("2020-04-08", "single_low"),  # index + 89 d
        ("2020-04-09", "persistent"),  # index + 90 d
        ("2020-04-10", "persistent"),  # index + 91 d
        ("2021-02-13", "persistent"),  # index + 400 d
    ],
)
def test_a_repeat_low_igm_at_least_90_days_after_the_index_is_persistent(screen, date, status):
    # The repeat needs no IgG/IgA: a low IgM is enough.
    result = screen_after_index(screen, [(date, "30", "mg/dL", "", "")])
    assert result.status == {"p1": status}


def test_a_low_igm_under_90_days_is_not_enough_even_with_several(screen):
    result = screen_after_index(
        screen,
        [
            ("2020-02-09", "30", "mg/dL", "", ""),
            ("2020-03-09", "28", "mg/dL", "", ""),
            ("2020-04-08", "26", "mg/dL", "", ""),
        ],
    )
    assert result.status == {"p1": "single_low"}


@pytest.mark.parametrize(
    ("value", "unit", "ref_low", "ref_high", "status"),
    [
        ("37", "mg/dL", "", "", "normalized"),  # at the adult lower limit 37
        ("36.9", "mg/dL", "", "", "single_low"),
        ("150", "mg/dL", "", "", "normalized"),
        ("400", "mg/dL", "", "", "normalized"),  # above the upper limit is also >= lower
        ("30", "mg/dL", "25", "100", "normalized"),  # at or above the lab's own lower limit
        ("30", "mg/dL", "30", "100", "normalized"),
        ("0.5", "g/L", "", "", "normalized"),  # 50 mg/dL
        ("<50", "mg/dL", "", "", "single_low"),  # undecided: neither low nor normal
        (">50", "mg/dL", "", "", "normalized"),
    ],
)
def test_an_igm_at_or_above_its_lower_limit_after_the_index_normalises(
    screen, value, unit, ref_low, ref_high, status
):
    result = screen_after_index(screen, [("2020-02-09", value, unit, ref_low, ref_high)])
    assert result.status == {"p1": status}


def test_normalising_wins_over_a_later_repeat_low(screen):
    result = screen_after_index(
        screen, [("2020-02-09", "80", "mg/dL", "", ""), ("2020-07-28", "25", "mg/dL", "", "")]
    )
    assert result.status == {"p1": "normalized"}


def test_normalising_after_a_repeat_low_still_normalises(screen):
    result = screen_after_index(
        screen, [("2020-04-19", "25", "mg/dL", "", ""), ("2021-02-13", "80", "mg/dL", "", "")]
    )
    assert result.status == {"p1": "normalized"}


def test_persistent_patients_keep_their_index_date(screen):
    result = screen_after_index(screen, [("2020-04-19", "25", "mg/dL", "", "")])
    assert result.status == {"p1": "persistent"}
    assert result.index_date["p1"].isoformat() == "2020-01-10"


def test_the_repeat_interval_is_a_rules_setting(screen, site_rules):
    # A site requiring 60 days: a repeat low 61 days after the index makes the patient persistent.
    rules = site_rules(
        "criteria.toml",
        lambda text: text.replace("repeat_low_min_days = 90", "repeat_low_min_days = 60"),
    )
    labs = """
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
        p1      | 2020-03-11 | IgM  | 25
    """
    assert screen(labs=labs).status == {"p1": "single_low"}
    assert screen(labs=labs, rules_dir=rules).status == {"p1": "persistent"}
