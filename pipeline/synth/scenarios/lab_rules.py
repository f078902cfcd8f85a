"""Reading IgM results: the minimum age, age bands, units, censored values, lab limits.

These patients have no isolated low panel, so no index date: `under_min_age` (every IgM before
the minimum age) and `igm_not_low` (no counted IgM is proven below its lower limit, however the
value is written), with decoys that must not be read as total IgM.
"""

from __future__ import annotations

from pipeline.synth.case import Case
from pipeline.synth.measures import format_number
from pipeline.synth.scenarios.registry import ScenarioGroup

GROUP = ScenarioGroup()


@GROUP.add("under_min_age", None, "low IgM only before min_age_years: not counted", age=2.5)
def _toddler_low_igm(c: Case) -> None:
    c.panel(0, c.low())


@GROUP.add("under_min_age", None, "infant age bands; every IgM before the minimum age", age=0.6)
def _infant_repeated_low_igm(c: Case) -> None:
    c.panel(0, c.low())
    c.panel(300, c.low(300))


@GROUP.add("under_min_age", None, "a complete '<5' before the minimum age: no severity", age=3.3)
def _preschooler_censored_complete(c: Case) -> None:
    c.panel(0, c.complete)


@GROUP.add("igm_not_low", None, "IgM within the table limits")
def _adult_normal_igm(c: Case) -> None:
    c.panel(0, c.normal())
    c.panel(400, c.normal("igm", 400))


@GROUP.add("igm_not_low", None, "lab-first limits: below the table limit, above the lab's own")
def _lab_limits_say_normal(c: Case) -> None:
    lower = c.lower()
    c.panel(0, round(lower * 0.8), refs={"igm": (round(lower * 0.6), c.upper())})


@GROUP.add("igm_not_low", None, "g/L (x100) with lab limits in g/L: the raw '1.5' is not low")
def _igm_in_g_per_l(c: Case) -> None:
    c.panel(0, c.normal(), unit="g/L", refs=True)


@GROUP.add("igm_not_low", None, "IgM in IU/mL (x0.847) above the lower limit")
def _igm_in_iu_per_ml(c: Case) -> None:
    c.panel(0, c.lower() * 1.3, igm_unit="IU/mL")


@GROUP.add("igm_not_low", None, "censored '<50' with lower limit 37 is undecided, not low")
def _censored_between_limits(c: Case) -> None:
    c.panel(0, f"<{round(c.lower() * 1.35)}")


@GROUP.add("igm_not_low", None, "censored '>300' is above the upper limit")
def _censored_above_upper(c: Case) -> None:
    c.panel(0, f">{round(c.upper() * 1.05)}")


@GROUP.add(
    "igm_not_low", None, "low IgM at age 3 not counted; the result at age 4+ is normal", age=3.0
)
def _low_only_before_min_age(c: Case) -> None:
    c.panel(0, c.low())
    c.panel(600, c.normal("igm", 600))


@GROUP.add(
    "igm_not_low", None, "antigen-specific IgM (CMV, EBV, RF) and a local-code IgM are ignored"
)
def _antigen_specific_igm_decoys(c: Case) -> None:
    specimen = c.panel(0, c.normal())
    c.lab(0, "7853-5", "CMV IgM Ab", "3.1", "AU/mL", specimen=specimen)
    c.lab(0, "5159-9", "EBV VCA IgM Ab", "8", "U/mL", specimen=specimen)
    c.lab(0, "11573-3", "Rheumatoid factor IgM", "4", "IU/mL", specimen=specimen)
    # A local code without a site mapping is ignored, however low its value.
    c.lab(200, "IGM", "IgM", format_number(c.low(200), 0), "mg/dL", system="LOCAL")


@GROUP.add(
    "igm_not_low", None, "same-day repeats: the lowest row is the day's value, with its own limits"
)
def _same_day_lowest_keeps_its_lab_limits(c: Case) -> None:
    lower = c.lower()
    c.panel(0, round(lower * 0.8), refs={"igm": (round(lower * 0.6), c.upper())}, time="08:05")
    # Low against the table, but it is not the day's value: the lower row above is.
    c.ig("igm", 0, round(lower * 0.92), time="16:40")


@GROUP.add("igm_not_low", None, "IgM equal to the lower limit is not low (strictly below)")
def _igm_at_lower_limit(c: Case) -> None:
    c.panel(0, c.lower())


@GROUP.add("igm_not_low", None, "secondary causes are searched only for patients with an index")
def _causes_without_low_igm(c: Case) -> None:
    c.panel(0, c.normal())
    c.drug("Clozapine 100 mg tablet", -100, None, route="oral")
    c.diagnosis("C91.10", "ICD10", -300)
