"""Small-cell suppression (OpenSAFELY): 1-7 shown as ≤7, others rounded to the nearest 5,
differences and percentages from the shown numbers only."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.report.suppression import Shown, Suppressor


@pytest.fixture
def suppress() -> Suppressor:
    return Suppressor()


@pytest.mark.parametrize("n", range(1, 8))
def test_counts_of_1_to_7_are_shown_as_at_most_7(suppress, n):
    shown = suppress.count(n)
    assert shown.text == "≤7"
    assert shown.value is None  # nothing may be computed from it
    assert shown.suppressed


def test_8_is_the_first_count_shown_and_it_is_rounded_to_10(suppress):
    assert suppress.count(8) == Shown("10", 10)


def test_zero_is_shown_as_zero(suppress):
    assert suppress.count(0) == Shown("0", 0)


@pytest.mark.parametrize(
    ("n", "text"),
    [(9, "10"), (12, "10"), (13, "15"), (17, "15"), (18, "20"), (22, "20"), (1234, "1,235")],
)
def test_larger_counts_are_rounded_to_the_nearest_5(suppress, n, text):
    assert suppress.count(n).text == text


def test_a_raised_threshold_suppresses_more_and_never_shows_a_number_below_it():
    suppress = Suppressor(min_cell=10)
    assert suppress.count(10).text == "≤10"
    # 11 and 12 round to 10, which would read as "at most the threshold": shown as 15.
    assert [suppress.count(n).text for n in (11, 12, 13, 17, 18)] == ["15", "15", "15", "15", "20"]


def test_a_frame_of_small_counts_shows_no_true_count_below_the_threshold(suppress):
    frame = pl.DataFrame({"band": ["a", "b", "c", "d"], "patients": [0, 3, 8, 41]})
    shown = [suppress.count(n).text for n in frame["patients"]]
    assert shown == ["0", "≤7", "10", "40"]


def test_differences_are_computed_from_the_rounded_numbers(suppress):
    # True: 22 patients before a step, 18 after: 4 removed (a small cell). Shown: 20 - 20 = 0,
    # so the 4 cannot be recovered from the page.
    before, after = suppress.count(22), suppress.count(18)
    assert suppress.difference(before, after) == Shown("0", 0)
    before, after = suppress.count(103), suppress.count(61)
    assert suppress.difference(before, after).text == "45"  # 105 - 60, not the true 42


def test_a_difference_with_a_suppressed_side_is_not_shown_as_a_number(suppress):
    assert suppress.difference(suppress.count(40), suppress.count(3)).text == "—"
    both_small = suppress.difference(suppress.count(6), suppress.count(2))
    assert both_small.text == "≤7" and both_small.value is None
    assert suppress.difference(suppress.count(5), suppress.count(0)).text == "≤7"


def test_percentages_are_computed_from_the_rounded_numbers(suppress):
    # True 33 of 101 = 32.7%; shown 35 of 100 = 35%.
    assert suppress.percent(suppress.count(33), suppress.count(101)) == "35%"
    assert suppress.percent(suppress.count(3), suppress.count(101)) == "—"
    assert suppress.percent(suppress.count(0), suppress.count(0)) == "—"


def test_plots_draw_a_suppressed_count_at_the_threshold_never_its_true_height(suppress):
    assert suppress.value_for_plot(suppress.count(2)) == 7.0
    assert suppress.value_for_plot(suppress.count(13)) == 15.0
    assert suppress.value_for_plot(suppress.count(0)) == 0.0


def test_without_suppression_every_count_is_exact():
    exact = Suppressor(enabled=False)
    assert [exact.count(n).text for n in (0, 3, 8, 1234)] == ["0", "3", "8", "1,234"]
    assert exact.difference(exact.count(22), exact.count(18)).text == "4"


def test_a_negative_count_or_threshold_is_refused():
    with pytest.raises(ValueError):
        Suppressor().count(-1)
    with pytest.raises(ValueError):
        Suppressor(min_cell=-1)
