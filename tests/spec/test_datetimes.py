"""SPEC §2-§3 with datetimes: results that carry a time are placed on their date, and every
interval of §3 (the ±30-day partner window, its earlier-wins tie, the 90-day repeat, same-day
repeats) is counted in whole days between dates, whatever the hours.

Counting in days keeps the screening independent of whether, and in which zone, a lab records
times: 2020-01-10 23:59 and 2020-02-09 00:01 are 30 days apart, as their dates are.
"""

import pytest


@pytest.mark.parametrize(
    ("igg_at", "status"),
    [
        ("2020-02-09T00:01:00", "single_low"),  # 30 days by date (29 d 0 h 2 min elapsed)
        ("2020-02-09 23:59", "single_low"),  # 30 days by date (30 d 0 h elapsed)
        ("2020-02-10T00:01:00", "not_isolated"),  # 31 days by date (30 d 0 h 2 min elapsed)
        ("2019-12-11 23:59:59", "single_low"),  # 30 days before
        ("2019-12-10T23:59:59Z", "not_isolated"),  # 31 days before (30 d 0 h 1 s elapsed)
    ],
)
def test_the_partner_window_is_counted_in_days_between_dates(screen, igg_at, status):
    result = screen(
        labs=f"""
        patient | date                | test | value
        p1      | 2020-01-10T23:59:00 | IgM  | 25
        p1      | {igg_at}            | IgG  | 1000
        p1      | 2020-01-10T08:00:00 | IgA  | 200
    """
    )
    assert result.status == {"p1": status}


def test_a_tie_in_days_goes_to_the_earlier_result_even_when_the_later_is_fewer_hours_away(
    screen,
):
    # IgM 2020-03-10 08:00. IgG 5 days before (2020-03-05 00:00, 5 d 8 h away) is within limits;
    # IgG 5 days after (2020-03-15 09:00, 5 d 1 h away) is low. Counted in days it is a tie, and
    # the earlier result is judged: the panel is isolated.
    result = screen(
        labs="""
        patient | date                | test | value
        p1      | 2020-03-10T08:00:00 | IgM  | 25
        p1      | 2020-03-05T00:00:00 | IgG  | 1000
        p1      | 2020-03-15T09:00:00 | IgG  | 500
        p1      | 2020-03-10T08:00:00 | IgA  | 200
        p2      | 2020-03-10T08:00:00 | IgM  | 25
        p2      | 2020-03-05T00:00:00 | IgG  | 500
        p2      | 2020-03-15T09:00:00 | IgG  | 1000
        p2      | 2020-03-10T08:00:00 | IgA  | 200
    """
    )
    assert result.status == {"p1": "single_low", "p2": "not_isolated"}


@pytest.mark.parametrize(
    ("repeat_at", "status"),
    [
        ("2020-04-08T23:59:59", "single_low"),  # 89 days by date
        ("2020-04-09T00:01:00", "persistent"),  # 90 days by date (89 d 0 h 31 min elapsed)
        ("2020-04-09 23:00", "persistent"),
    ],
)
def test_the_repeat_low_interval_is_counted_in_days_between_dates(screen, repeat_at, status):
    result = screen(
        labs=f"""
        patient | date                | test | value
        p1      | 2020-01-10T23:30:00 | IgM  | 25
        p1      | 2020-01-10T23:30:00 | IgG  | 1000
        p1      | 2020-01-10T23:30:00 | IgA  | 200
        p1      | {repeat_at}         | IgM  | 20
    """
    )
    assert result.status == {"p1": status}


def test_results_at_different_times_of_one_day_are_same_day_repeats(screen):
    # Two IgM on 2020-01-10 (08:00 and 17:30): one day value, the lowest (25), so one low result.
    result = screen(
        labs="""
        patient | date                | test | value
        p1      | 2020-01-10T08:00:00 | IgM  | 40
        p1      | 2020-01-10T17:30:00 | IgM  | 25
        p1      | 2020-01-10T08:00:00 | IgG  | 1000
        p1      | 2020-01-10T08:00:00 | IgA  | 200
    """
    )
    assert result.status == {"p1": "single_low"}
    assert result.row("p1")["n_low_igm"] == 1
    assert result.row("p1")["min_igm_mg_dl"] == 25
