"""`single_low`: one isolated low panel and nothing after it that settles the course.

Most of these are near misses: a repeat one day short of the interval, and drugs and diagnoses
just outside their windows or on routes that never count, none of which may exclude. The panel
rules that pick the index (nearest partner, same specimen, the window's edge) are here too.
"""

from __future__ import annotations

from pipeline.synth.case import Case
from pipeline.synth.scenarios.registry import ScenarioGroup

GROUP = ScenarioGroup()


@GROUP.add("single_low", "partial", "one isolated low panel, no follow-up")
def _single_low_panel(c: Case) -> None:
    c.panel(0, c.low(), index=True)


@GROUP.add("single_low", "partial", "repeat low 89 d after the index: one day short of 90")
def _repeat_low_one_day_short(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    days = c.rules.repeat_low_min_days - 1
    c.ig("igm", days, c.low(days))


@GROUP.add("single_low", "complete", "'<5' isolated panel: complete")
def _single_complete(c: Case) -> None:
    c.panel(0, c.complete, index=True)


@GROUP.add("single_low", "partial", "follow-up '<50' is undecided: neither normal nor low")
def _undecided_followup(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.ig("igm", 120, f"<{round(c.lower('igm', 120) * 1.35)}")


@GROUP.add("single_low", "partial", "oral prednisone ended 91 d before the index")
def _prednisone_ended_91_days_before(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    end = c.before_outside("systemic_corticosteroid", 1)
    c.drug("Prednisone 10 mg tablet", end - 100, end, route="oral")


@GROUP.add("single_low", "partial", "inhaled, nasal, eye and skin steroids never count")
def _local_route_steroids(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.drug("Budesonide inhaler 200 mcg", -30)
    c.drug("Fluticasone propionate 250 mcg", -40, code="R03BA05", route="inhaled")
    c.drug("Hydrocortisone cream 1%", -20, code="H02AB09")
    c.drug("Prednisolone acetate 1% eye drops", -15, code="H02AB06", route="ophthalmic")
    c.drug("Prednisone", -25, -5, code="H02AB07", route="nasal")


@GROUP.add("single_low", "partial", "clozapine ended 366 d before the index")
def _clozapine_ended_before_window(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    end = c.before_outside("clozapine", 1)
    c.drug("Clozapine 100 mg tablet", end - 200, end, route="oral")


@GROUP.add("single_low", "partial", "B-cell depleting infusion 800 d before (730 d window)")
def _b_cell_depleting_before_window(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    name = c.code_list_value("b_cell_depleting", "name", prefer="rituximab")
    if name is not None:
        day = c.before_outside("b_cell_depleting", 70)
        c.drug(f"{name.capitalize()} 1000 mg infusion", day, day, route="intravenous")


@GROUP.add("single_low", "partial", "clozapine started the day after the index")
def _clozapine_started_after_index(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.drug("Clozapine 100 mg tablet", 1, None, route="oral")


@GROUP.add("single_low", "partial", "other malignancy 400 d before, haematological 400 d after")
def _cancers_outside_windows(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.diagnosis("C18.9", "ICD10", c.before_outside("other_malignancy", 35))
    c.diagnosis("C91.10", "ICD10", c.after_outside("haematological_malignancy", 35))


@GROUP.add("single_low", "partial", "D80.4 / 279.03 (SIgMD itself) and Z85.3 do not exclude")
def _own_diagnosis_codes_not_excluded(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.diagnosis("D80.4", "ICD10", -100)
    c.diagnosis("279.03", "ICD9", -50)
    c.diagnosis("Z85.3", "ICD10", -30)


@GROUP.add("single_low", "partial", "HIV after the index, nephrotic 200 d before: outside")
def _other_causes_outside_windows(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.diagnosis("B20", "ICD10", c.after_outside("hiv", 30))
    c.diagnosis("N04.9", "ICD10", c.before_outside("nephrotic_syndrome", 20))


@GROUP.add("single_low", "partial", "nearest IgG/IgA tie (-10 d, +10 d): the earlier (normal)")
def _nearest_tie_goes_to_earlier_normal(c: Case) -> None:
    c.ig("igm", 0, c.low(), index=True)
    before, after = c.specimen(), c.specimen()
    c.ig("igg", -10, c.normal("igg", -10), specimen=before)
    c.ig("iga", -10, c.normal("iga", -10), specimen=before)
    c.ig("igg", 10, c.below("igg", 10), specimen=after)
    c.ig("iga", 10, c.normal("iga", 10), specimen=after)


@GROUP.add("single_low", "partial", "same specimen (+3 d) beats a nearer low IgG (+1 d)")
def _same_specimen_beats_nearest(c: Case) -> None:
    specimen = c.specimen()
    c.ig("igm", 0, c.low(), specimen=specimen, index=True)
    other = c.specimen()
    c.ig("igg", 1, c.below("igg", 1), specimen=other)
    c.ig("iga", 1, c.normal("iga", 1), specimen=other)
    c.ig("igg", 3, c.normal("igg", 3), specimen=specimen)
    c.ig("iga", 3, c.normal("iga", 3), specimen=specimen)


@GROUP.add("single_low", "partial", "index = first isolated panel; steroid 100 d before it")
def _index_at_first_isolated_panel(c: Case) -> None:
    c.panel(-60, c.low(-60), iga=c.below("iga", -60))
    c.panel(0, c.low(), index=True)
    # Within 90 d of the earlier, non-isolated low: it must not be taken as the index.
    start = c.before_outside("systemic_corticosteroid", 20)
    c.drug("Prednisone 20 mg tablet", start, start + 10, route="oral")


@GROUP.add("single_low", "partial", "IgG/IgA exactly 30 d after the IgM: in the panel window")
def _igg_iga_exactly_30_days_later(c: Case) -> None:
    c.ig("igm", 0, c.low(), index=True)
    days = c.rules.panel_window_days
    specimen = c.specimen()
    c.ig("igg", days, c.normal("igg", days), specimen=specimen)
    c.ig("iga", days, c.normal("iga", days), specimen=specimen)
