"""The planted scenarios, one patient each, grouped by the status SPEC §3 gives them.

`SCENARIOS` lists them in the order of `STATUSES`, then as written in their modules.
"""

from __future__ import annotations

from pipeline.synth.scenarios import diagnoses, drugs, lab_rules, panels, persistence, single_low
from pipeline.synth.scenarios.registry import INDEXED_STATUSES, Scenario, in_status_order

SCENARIOS: list[Scenario] = in_status_order(
    [
        lab_rules.GROUP,
        panels.GROUP,
        drugs.GROUP,
        diagnoses.GROUP,
        single_low.GROUP,
        persistence.GROUP,
    ]
)

__all__ = ["INDEXED_STATUSES", "SCENARIOS", "Scenario"]
