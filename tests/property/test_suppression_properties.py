"""Small-cell suppression holds for every count and threshold: nothing below the threshold is
shown, rounding moves a count by at most 2 (or up to the first multiple of 5 above the
threshold), and differences of shown counts are never negative."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.report.suppression import Suppressor

counts = st.integers(min_value=0, max_value=10_000_000)
thresholds = st.integers(min_value=0, max_value=50)


@given(n=counts, min_cell=thresholds)
def test_a_shown_count_is_zero_suppressed_or_a_multiple_of_5_above_the_threshold(n, min_cell):
    suppress = Suppressor(min_cell=min_cell)
    shown = suppress.count(n)
    if n == 0:
        assert shown.text == "0"
    elif n <= min_cell:
        assert shown.text == f"≤{min_cell}" and shown.value is None
    else:
        assert shown.value is not None
        assert shown.value % 5 == 0 and shown.value > min_cell
        assert abs(shown.value - n) <= 2 or shown.value == suppress.floor


@given(a=counts, b=counts, min_cell=thresholds)
def test_differences_of_shown_counts_are_never_negative(a, b, min_cell):
    suppress = Suppressor(min_cell=min_cell)
    before, after = suppress.count(max(a, b)), suppress.count(min(a, b))
    difference = suppress.difference(before, after)
    if difference.value is not None:
        assert difference.value >= 0
        assert difference.value == before.value - after.value
