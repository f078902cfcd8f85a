"""Small-cell suppression of the counts a shareable report shows (OpenSAFELY's rule).

Every count of patients (or rows) that leaves the database for the report goes through a
`Suppressor`: a count of 1 to `min_cell` (default 7) is shown as `≤7`, any larger count is
rounded to the nearest 5 (never below the first multiple of 5 above `min_cell`, so a shown
number never reveals a count just above the threshold), and 0 stays 0. Differences between two
shown counts (patients removed = previous - remaining) and percentages are computed from the
shown numbers only, so no true count can be back-calculated from the page. With suppression
off (`--no-suppression`, internal use) every count is shown as it is.

Source: OpenSAFELY output checking rules ("small number suppression": counts of 7 or fewer are
redacted; other counts are rounded to the nearest 5), https://docs.opensafely.org/releasing-files/
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MIN_CELL = 7
ROUND_TO = 5


@dataclass(frozen=True)
class Shown:
    """A number as the report shows it: its text and, when it is a plain number, its value."""

    text: str
    value: int | None  # None when suppressed or unknown: nothing may be computed from it
    suppressed: bool = False

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Suppressor:
    """Turns true counts into shown counts; `enabled=False` shows every count unchanged."""

    min_cell: int = DEFAULT_MIN_CELL
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.min_cell < 0:
            raise ValueError("min_cell must be >= 0")

    @property
    def floor(self) -> int:
        """The smallest number shown for a count above the threshold."""
        return (self.min_cell // ROUND_TO + 1) * ROUND_TO

    def count(self, n: int | None) -> Shown:
        """How a count of `n` is shown."""
        if n is None:
            return Shown("—", None)
        n = int(n)
        if n < 0:
            raise ValueError("a count cannot be negative")
        if not self.enabled or n == 0:
            return Shown(f"{n:,}", n)
        if n <= self.min_cell:
            return Shown(f"≤{self.min_cell}", None, suppressed=True)
        rounded = max(ROUND_TO * ((n + ROUND_TO // 2) // ROUND_TO), self.floor)
        return Shown(f"{rounded:,}", rounded)

    def difference(self, before: Shown, after: Shown) -> Shown:
        """before - after, from the shown numbers only (e.g. patients removed by a step)."""
        if before.value is not None and after.value is not None:
            return Shown(f"{before.value - after.value:,}", before.value - after.value)
        if before.suppressed and (after.suppressed or after.value == 0):
            # Both sides at most min_cell: so is their difference.
            return Shown(before.text, None, suppressed=True)
        return Shown("—", None)  # one side suppressed: any number would be a guess

    def percent(self, part: Shown, whole: Shown) -> str:
        """part as a percentage of whole, from the shown numbers; '—' when either is hidden."""
        if part.value is None or not whole.value:
            return "—"
        return f"{100 * part.value / whole.value:.0f}%"

    def value_for_plot(self, shown: Shown) -> float:
        """The bar height a plot draws for a shown count: a suppressed count is drawn at
        the threshold (and hatched by the plot), so a bar never shows more than the page."""
        if shown.value is not None:
            return float(shown.value)
        return float(self.min_cell) if shown.suppressed else 0.0
