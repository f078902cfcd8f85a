"""The background population, generated with numpy one chunk of patients at a time.

Its immunoglobulins lie safely inside the age-band limits (status `igm_not_low`, or
`under_min_age` for children tested only before the minimum age), among many other common lab
tests, medications and diagnoses. Without a low IgM there is no index date, so their drugs and
diagnoses cannot change their status.
"""

from __future__ import annotations

from pipeline.synth.background.immunoglobulins import ig_tested_share
from pipeline.synth.background.population import background_chunk

__all__ = ["background_chunk", "ig_tested_share"]
