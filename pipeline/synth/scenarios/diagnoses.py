"""`excluded_malignancy` and `excluded_other`: a cause diagnosis inside its window.

Codes are written as sites write them: dotted or not, ICD-9 or ICD-10, with code systems spelt
in several ways; windows are placed from the rules, before and after the index.
"""

from __future__ import annotations

from pipeline.synth.case import Case
from pipeline.synth.scenarios.registry import ScenarioGroup

GROUP = ScenarioGroup()


@GROUP.add("excluded_malignancy", "partial", "haematological C91.10 years before the index")
def _leukaemia_years_before(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.diagnosis("C91.10", "ICD10", c.before_inside("haematological_malignancy", 1100))


@GROUP.add("excluded_malignancy", "partial", "undotted C8330 within index+365 d")
def _lymphoma_undotted_after_index(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.diagnosis("C8330", "ICD10", c.after_inside("haematological_malignancy", 200))


@GROUP.add("excluded_malignancy", "complete", "MGUS D47.2 coded as 'ICD-10-CM'")
def _mgus_icd10cm(c: Case) -> None:
    c.panel(0, c.complete, index=True)
    c.diagnosis("D47.2", "ICD-10-CM", -30)


@GROUP.add("excluded_malignancy", "partial", "ICD-9 238.71 lies in the range 238.4-238.7")
def _icd9_sub_code_in_range(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.diagnosis("238.71", "ICD9", -100)


@GROUP.add("excluded_malignancy", "partial", "other malignancy C50.911 within index-365 d")
def _solid_tumour_within_year_before(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.diagnosis("C50.911", "ICD10", c.before_inside("other_malignancy", 200))


@GROUP.add("excluded_malignancy", "partial", "other malignancy ICD-9 174.9 within index+365 d")
def _solid_tumour_icd9_after_index(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.diagnosis("174.9", "ICD-9-CM", c.after_inside("other_malignancy", 300))


@GROUP.add("excluded_malignancy", "partial", "neuroendocrine C7A.010, lower-case 'icd10'")
def _neuroendocrine_c7a(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.diagnosis("C7A.010", "icd10", -10)


@GROUP.add("excluded_malignancy", "partial", "malignancy and HIV: the malignancy step first")
def _malignancy_before_other_cause(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.diagnosis("C50.911", "ICD10", -100)
    c.diagnosis("B20", "ICD10", -500)


@GROUP.add("excluded_other", "partial", "HIV B20 any time before the index")
def _hiv_years_before(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.diagnosis("B20", "ICD10", c.before_inside("hiv", 900))


@GROUP.add("excluded_other", "partial", "transplant status, undotted Z940, 'ICD-10'")
def _transplant_status_undotted(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.diagnosis("Z940", "ICD-10", c.before_inside("transplant", 400))


@GROUP.add("excluded_other", "complete", "immunodeficiency due to drugs D84.821")
def _immunodeficiency_due_to_drugs(c: Case) -> None:
    c.panel(0, c.complete, index=True)
    c.diagnosis("D84.821", "ICD-10-CM", c.before_inside("other_immunodeficiency", 20))


@GROUP.add("excluded_other", "partial", "nephrotic syndrome ICD-9 581.9 within index+180 d")
def _nephrotic_icd9_after_index(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.diagnosis("581.9", "ICD9", c.after_inside("nephrotic_syndrome", 150))


@GROUP.add("excluded_other", "partial", "protein-losing enteropathy K90.89, 'ICD10CM'")
def _protein_losing_enteropathy(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.diagnosis("K90.89", "ICD10CM", c.before_inside("protein_losing_enteropathy", 100))


@GROUP.add("excluded_other", "partial", "asymptomatic HIV, ICD-9 V08, 'ICD-9'")
def _hiv_icd9_v08(c: Case) -> None:
    c.panel(0, c.low(), index=True)
    c.diagnosis("V08", "ICD-9", c.before_inside("hiv", 700))
