"""`not_isolated`: a counted low IgM, but no panel with IgG and IgA both within limits.

The panel window, same-specimen and nearest-in-time partners, same-day repeats and censored
partners are exercised at their edges. Without an isolated panel there is no index date, so
secondary causes are ignored and any counted low IgM sets the severity.
"""

from __future__ import annotations

from pipeline.synth.case import Case
from pipeline.synth.scenarios.registry import ScenarioGroup

GROUP = ScenarioGroup()


@GROUP.add("not_isolated", "partial", "IgG below its limit in the same specimen")
def _low_igg_same_specimen(c: Case) -> None:
    c.panel(0, c.low(), igg=c.below("igg"))


@GROUP.add("not_isolated", "complete", "IgA below its limit; '<5' makes it complete")
def _low_iga_complete(c: Case) -> None:
    c.panel(0, c.complete, iga=c.below("iga"))


@GROUP.add("not_isolated", "partial", "IgM measured without IgG or IgA")
def _igm_without_igg_iga(c: Case) -> None:
    c.ig("igm", 0, c.low())


@GROUP.add("not_isolated", "partial", "IgG/IgA one day beyond the +/-30 d panel window")
def _igg_iga_one_day_too_late(c: Case) -> None:
    c.ig("igm", 0, c.low())
    days = c.rules.panel_window_days + 1
    specimen = c.specimen()
    c.ig("igg", days, c.normal("igg", days), specimen=specimen)
    c.ig("iga", days, c.normal("iga", days), specimen=specimen)


@GROUP.add("not_isolated", "partial", "IgA '>299' with limits 61-356 is undecided, not in range")
def _iga_censored_undecided(c: Case) -> None:
    c.panel(0, c.low(), iga=f">{round(c.upper('iga') * 0.84)}")


@GROUP.add("not_isolated", "partial", "same-day IgG repeats: the lowest (low) one is judged")
def _same_day_igg_lowest_wins(c: Case) -> None:
    specimen = c.panel(0, c.low(), time="09:00")
    c.ig("igg", 0, c.below("igg"), specimen=specimen, time="15:30")


@GROUP.add("not_isolated", "partial", "nearest IgG/IgA tie (-10 d, +10 d): the earlier (low IgA)")
def _nearest_tie_goes_to_earlier_low(c: Case) -> None:
    c.ig("igm", 0, c.low())
    before, after = c.specimen(), c.specimen()
    c.ig("igg", -10, c.normal("igg", -10), specimen=before)
    c.ig("iga", -10, c.below("iga", -10), specimen=before)
    c.ig("igg", 10, c.normal("igg", 10), specimen=after)
    c.ig("iga", 10, c.normal("iga", 10), specimen=after)


@GROUP.add("not_isolated", "complete", "no index: any counted low result sets severity")
def _complete_severity_without_index(c: Case) -> None:
    c.panel(0, c.low(), igg=c.below("igg"))
    c.panel(200, f"< {c.rules.complete_below_mg_dl - 1:g}", igg=c.below("igg", 200))


@GROUP.add("not_isolated", "partial", "drug and HIV ignored: no isolated panel, no index")
def _causes_ignored_without_index(c: Case) -> None:
    c.panel(0, c.low(), iga=c.below("iga"))
    c.drug("Clozapine 100 mg tablet", -100, None, route="oral")
    c.diagnosis("B20", "ICD10", -500)
