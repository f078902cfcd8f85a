"""Synthetic canonical extracts with planted truth.

`generate_extract` writes an extract folder in the canonical layout of SPEC §2 (`labs`,
`patients`, `medications`, `diagnoses`) plus `truth.csv`: for every patient with an IgM result,
the status, severity and index date the screening must find. Two populations share the folder:

- *planted* patients, one per entry of `SCENARIOS`, each built to exercise one rule of SPEC §3
  (a window edge, a unit, a censored value, a decoy that must not change the outcome). Their
  values and dates are derived from the rules object (age-band limits, windows, thresholds,
  unit factors), so the truth still holds for a site's rules wherever the scenario makes sense;
- a *background* population, generated with numpy in chunks of patients and streamed to disk,
  whose immunoglobulins lie safely inside the age-band limits, among many other common lab
  tests, medications and diagnoses.

The modules: `scenarios/` (the planted scenarios by status, and their registry), `case` and
`rows` (how a scenario builds its patient), `plant` (the planted patients), `background/` (the
background population), `measures` and `dates` (limits, units, ages), `layout`, `writer` and
`truth` (the files), `generate` (the entry point).
"""

from __future__ import annotations

from pipeline.synth.generate import GenerateSummary, generate_extract
from pipeline.synth.layout import FILE_FORMATS, TABLE_COLUMNS
from pipeline.synth.scenarios import SCENARIOS, Scenario
from pipeline.synth.truth import TRUTH_COLUMNS, TRUTH_FILE, read_truth

__all__ = [
    "FILE_FORMATS",
    "SCENARIOS",
    "TABLE_COLUMNS",
    "TRUTH_COLUMNS",
    "TRUTH_FILE",
    "GenerateSummary",
    "Scenario",
    "generate_extract",
    "read_truth",
]
