"""After the index: `normalized` (a later IgM at or above the limit) or `persistent`.

A repeat low counts from the repeat interval on and needs no IgG/IgA; units, censored values,
child age bands, same-day repeats, duplicate rows and code-system spellings are exercised on
the way to a persistent outcome.
"""

from __future__ import annotations

from pipeline.synth.case import Case
from pipeline.synth.scenarios.registry import ScenarioGroup

GROUP = ScenarioGroup()


@GROUP.add("normalized", "partial", "an IgM at or above the lower limit after the index")
def _normal_igm_after_index(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.ig("igm", 60, c.normal("igm", 60))


@GROUP.add("normalized", "partial", "normalised, then low again at +200 d: still normalised")
def _normal_then_low_again(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.ig("igm", 60, c.normal("igm", 60))
    c.panel(200, c.low(200))


@GROUP.add("normalized", "partial", "follow-up below the table limit but within the lab's")
def _normal_by_lab_limit(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    lower = c.lower("igm", 100)
    c.ig("igm", 100, round(lower * 0.9), ref=(round(lower * 0.8), c.upper("igm", 100)))


@GROUP.add("normalized", "complete", "'<5' at index, normal follow-up in g/L")
def _complete_then_normal_in_g_per_l(c: Case) -> None:
    c.panel(0, c.complete, index=True)
    c.ig("igm", 120, c.normal("igm", 120), unit="g/L", ref=c.band("igm", 120))


@GROUP.add("normalized", "partial", "censored '>50' proves at or above the lower limit 37")
def _censored_above_lower_after_index(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.ig("igm", 150, f">{round(c.lower('igm', 150) * 1.35)}")


@GROUP.add("persistent", "partial", "isolated low panels at index and +180 d")
def _persistent_panels(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.panel(180, c.low(180))


@GROUP.add("persistent", "partial", "repeat low exactly 90 d after the index")
def _repeat_low_exactly_90_days(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    days = c.rules.repeat_low_min_days
    c.ig("igm", days, c.low(days))


@GROUP.add("persistent", "partial", "the repeat low needs no IgG/IgA")
def _repeat_low_without_igg_iga(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.ig("igm", 200, c.low(200))


@GROUP.add("persistent", "complete", "'<5' at index and '< 4' (with a space) at +120 d")
def _complete_censored(c: Case) -> None:
    c.panel(0, c.complete, index=True)
    c.ig("igm", 120, f"< {c.rules.complete_below_mg_dl - 1:g}")


@GROUP.add("persistent", "complete", "IU/mL: '40' is low (33.9 mg/dL), '5' is complete")
def _iu_per_ml_values(c: Case) -> None:
    c.panel(0, c.lower() * 0.92, igm_unit="IU/mL", index=True)
    c.ig("igm", 150, c.rules.complete_below_mg_dl * 0.85, unit="IU/mL")


@GROUP.add("persistent", "partial", "g/L values with lab limits in g/L on every row")
def _g_per_l_with_lab_limits(c: Case) -> None:
    c.panel(0, c.low(), unit="g/L", refs=True, index=True)
    c.ig("igm", 200, c.low(200), unit="g/L", ref=c.band("igm", 200))


@GROUP.add(
    "persistent", "partial", "age 5: IgG/IgA normal for the 4-7 y band, low for adults", age=5.5
)
def _child_band_age_5(c: Case) -> None:
    def child(analyte: str) -> float:
        lower, upper = c.band(analyte)
        return float(round(lower + 0.1 * (upper - lower)))

    c.panel(0, c.low(), igg=child("igg"), iga=child("iga"), index=True)
    c.ig("igm", 120, c.low(120))


@GROUP.add(
    "persistent",
    "partial",
    "age 11: IgM 39 is low for the 10-13 y band (41), not for adults",
    age=11.5,
)
def _child_band_age_11(c: Case) -> None:
    c.panel(0, c.lower() - 2, index=True)
    c.ig("igm", 120, c.lower("igm", 120) - 2)


@GROUP.add("persistent", "partial", "same-day follow-up repeats: the lower (low) value wins")
def _same_day_repeat_lowest_wins(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.ig("igm", 150, c.normal("igm", 150), time="08:10")
    c.ig("igm", 150, c.low(150), time="13:40")


@GROUP.add("persistent", "partial", "exact duplicate rows (also after trimming spaces) dropped")
def _exact_duplicate_rows(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.labs.append(dict(c.labs[-3]))
    padded = dict(c.labs[-2])
    padded["value"] = f" {padded['value']} "
    padded["unit"] = f"{padded['unit']} "
    c.labs.append(padded)
    c.ig("igm", 100, c.low(100))
    c.labs.append(dict(c.labs[-1]))


@GROUP.add("persistent", "partial", "IgG below the table limit but within the lab's own limits")
def _igg_within_lab_limits(c: Case) -> None:
    lower, upper = c.band("igg")
    c.panel(
        0, c.low(), igg=round(lower * 0.9), refs={"igg": (round(lower * 0.85), upper)}, index=True
    )
    c.ig("igm", 120, c.low(120))


@GROUP.add("persistent", "partial", "birth_year only (age from 1 July)", birth_year_only=True)
def _birth_year_only_patient(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.panel(150, c.low(150))


@GROUP.add("persistent", "partial", "a normal IgM before the index does not normalise")
def _normal_before_index(c: Case) -> None:
    c.panel(-300, c.normal("igm", -300))
    c.panel(0, c.low(), index=True)
    c.ig("igm", 100, c.low(100))


@GROUP.add("persistent", "partial", "test_system 'LN', 'loinc' and empty; datetimes")
def _loinc_spellings_and_times(c: Case) -> None:
    c.panel(0, c.low(), system="LN", time="09:30", index=True)
    c.panel(120, c.low(120), system=None, time="23:55")
    c.ig("igm", 240, c.low(240), system="loinc", time="00:05")
