"""`excluded_drug`: an exposure to a listed drug inside its window around the index.

Drugs are matched by name, brand, ATC code or class and RxNorm code, with and without end
dates, by systemic routes. Drugs beyond those every site's list holds are read from the rules'
list, with a fallback to clozapine so the outcome stays excluded.
"""

from __future__ import annotations

from pipeline.synth.case import Case
from pipeline.synth.scenarios.registry import ScenarioGroup

GROUP = ScenarioGroup()


@GROUP.add("excluded_drug", "partial", "clozapine exposure inside index-365 d .. index")
def _clozapine_in_window(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.drug("Clozapine 100 mg tablet", c.before_inside("clozapine", 200), -10, route="oral")


@GROUP.add("excluded_drug", "complete", "brand name (Clozaril), no end date: start + 30 d")
def _clozapine_brand_without_end_date(c: Case) -> None:
    c.panel(0, c.complete, index=True)
    c.drug("Clozaril 25 mg", -20, None, route="PO")


@GROUP.add("excluded_drug", "partial", "anti-epileptic by name (divalproex) and ATC N03AG01")
def _divalproex_by_name_and_atc(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    start = c.before_inside("antiepileptic", 300)
    c.drug("Divalproex sodium ER 500 mg", start, 100, code="N03AG01", route="oral")


@GROUP.add("excluded_drug", "partial", "oral prednisone within index-90 d .. index")
def _oral_prednisone_within_90_days(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    start = c.before_inside("systemic_corticosteroid", 60)
    c.drug("Prednisone 20 mg tablet", start, start + 30, route="oral")


@GROUP.add(
    "excluded_drug", "partial", "no end date: [start, start+30 d] touches index-90 d (inclusive)"
)
def _prednisone_no_end_date_reaches_window(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    days = c.rules.exposure_days_without_end
    c.drug("Prednisone 5 mg tablet", c.before_outside("systemic_corticosteroid", days), route="PO")


@GROUP.add("excluded_drug", "partial", "systemic steroid by ATC class H02AB only, intravenous")
def _steroid_by_atc_class_intravenous(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    # A name that matches no ingredient: only the ATC class code (H02AB04) can match.
    c.drug("IV steroid 125 mg vial", -10, -8, code="H02AB04", route="intravenous")


@GROUP.add("excluded_drug", "partial", "drug and malignancy: the drug step comes first")
def _drug_before_malignancy(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.drug("Clozapine 100 mg tablet", -100, None, route="oral")
    c.diagnosis("C91.10", "ICD10", -500)


@GROUP.add("excluded_drug", "partial", "a complete low before the index does not set the severity")
def _complete_before_index_partial_after(c: Case) -> None:
    c.panel(-60, c.complete, igg=c.below("igg", -60))
    c.panel(0, c.low(), index=True)
    c.drug("Clozapine 50 mg tablet", -150, -50, route="oral")


@GROUP.add("excluded_drug", "partial", "B-cell depleting infusion 600 d before (730 d window)")
def _b_cell_depleting_within_two_years(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    name = c.code_list_value("b_cell_depleting", "name", prefer="rituximab")
    if name is None:
        c.fallback_drug()
        return
    day = c.before_inside("b_cell_depleting", 600)
    c.drug(f"{name.capitalize()} 1000 mg infusion", day, day, route="intravenous")


@GROUP.add("excluded_drug", "partial", "methotrexate by subcutaneous route: systemic")
def _methotrexate_subcutaneous(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    name = c.code_list_value("immunosuppressant", "name", prefer="methotrexate")
    if name is None:
        c.fallback_drug()
        return
    start = c.before_inside("immunosuppressant", 40)
    c.drug(f"{name.capitalize()} 15 mg/0.3 mL auto-injector", start, route="subcutaneous")


@GROUP.add("excluded_drug", "partial", "clozapine by RxNorm ingredient code, no drug name")
def _clozapine_by_rxnorm_code(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    code = c.code_list_value("clozapine", "rxnorm")
    if code is None:
        c.fallback_drug()
        return
    c.drug(None, c.before_inside("clozapine", 50), -20, code=code, system="RxNorm", route="oral")


@GROUP.add("excluded_drug", "complete", "IVIG brand 150 d before (180 d window)")
def _immunoglobulin_replacement_in_window(c: Case) -> None:
    c.panel(0, c.complete, index=True)
    name = c.code_list_value("immunoglobulin_replacement", "name", prefer="gammagard")
    if name is None:
        c.fallback_drug()
        return
    day = c.before_inside("immunoglobulin_replacement", 150)
    c.drug(f"{name.capitalize()} 10% 30 g", day, day, route="intravenous")
