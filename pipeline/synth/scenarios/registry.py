"""The scenario registry: each planted patient, the rule it exercises and its expected outcome.

Every scenario module keeps its own `ScenarioGroup`; `pipeline.synth.scenarios` joins them in
the order of `STATUSES` (then as written), an order that is part of the output: the k-th
scenario gets the k-th planted patient number and the planted generator's draws in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pipeline.result import STATUSES
from pipeline.synth.case import Case

Build = Callable[[Case], None]
# From excluded_drug on, a patient has an isolated low panel, whose date is the index date.
INDEXED_STATUSES = STATUSES[STATUSES.index("excluded_drug") :]


@dataclass(frozen=True)
class Scenario:
    """One planted patient: the rule it exercises and the outcome SPEC §3 gives it."""

    name: str
    status: str
    severity: str | None
    rule: str
    age_years: float | None  # None: an adult of random age
    birth_year_only: bool | None  # None: decided at random
    build: Build

    @property
    def has_index(self) -> bool:
        return self.status in INDEXED_STATUSES


class ScenarioGroup:
    """The scenarios of one module, registered by decorating their build functions."""

    def __init__(self) -> None:
        self.scenarios: list[Scenario] = []

    def __iter__(self) -> Iterator[Scenario]:
        return iter(self.scenarios)

    def add(
        self,
        status: str,
        severity: str | None,
        rule: str,
        *,
        age: float | None = None,
        birth_year_only: bool | None = None,
    ) -> Callable[[Build], Build]:
        """Register the decorated function as a scenario named after it (without the `_`)."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status}")

        def register(build: Build) -> Build:
            name = build.__name__.lstrip("_")
            self.scenarios.append(
                Scenario(name, status, severity, rule, age, birth_year_only, build)
            )
            return build

        return register


def in_status_order(groups: list[ScenarioGroup]) -> list[Scenario]:
    """All scenarios, by status as in `STATUSES`, then in the order they were written."""
    scenarios = [s for group in groups for s in group]
    return sorted(scenarios, key=lambda s: STATUSES.index(s.status))
