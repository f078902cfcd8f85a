"""SPEC §3 Status: the first funnel step a patient fails; exclusion_reasons lists every cause found
whatever step set the status; causes are searched only for patients with an index date."""

from datetime import date

import polars as pl

INDEX_PANEL = """
    patient | date       | test | value
    p1      | 2021-03-01 | IgM  | 25
    p1      | 2021-03-01 | IgG  | 1000
    p1      | 2021-03-01 | IgA  | 200
"""


def test_every_status_is_reachable(screen):
    result = screen(
        labs="""
        patient    | date       | test | value
        young      | 2021-03-01 | IgM  | 25
        young      | 2021-03-01 | IgG  | 1000
        young      | 2021-03-01 | IgA  | 200
        normal     | 2021-03-01 | IgM  | 100
        mixed      | 2021-03-01 | IgM  | 25
        mixed      | 2021-03-01 | IgG  | 700
        mixed      | 2021-03-01 | IgA  | 200
        drug       | 2021-03-01 | IgM  | 25
        drug       | 2021-03-01 | IgG  | 1000
        drug       | 2021-03-01 | IgA  | 200
        cancer     | 2021-03-01 | IgM  | 25
        cancer     | 2021-03-01 | IgG  | 1000
        cancer     | 2021-03-01 | IgA  | 200
        hiv        | 2021-03-01 | IgM  | 25
        hiv        | 2021-03-01 | IgG  | 1000
        hiv        | 2021-03-01 | IgA  | 200
        normalised | 2021-03-01 | IgM  | 25
        normalised | 2021-03-01 | IgG  | 1000
        normalised | 2021-03-01 | IgA  | 200
        normalised | 2021-04-01 | IgM  | 80
        single     | 2021-03-01 | IgM  | 25
        single     | 2021-03-01 | IgG  | 1000
        single     | 2021-03-01 | IgA  | 200
        persistent | 2021-03-01 | IgM  | 25
        persistent | 2021-03-01 | IgG  | 1000
        persistent | 2021-03-01 | IgA  | 200
        persistent | 2021-09-01 | IgM  | 20
    """,
        patients="""
        patient    | birth_date | sex
        young      | 2018-01-01 | F
        normal     | 1980-01-01 | F
        mixed      | 1980-01-01 | M
        drug       | 1980-01-01 | F
        cancer     | 1980-01-01 | M
        hiv        | 1980-01-01 | F
        normalised | 1980-01-01 | M
        single     | 1980-01-01 | F
        persistent | 1980-01-01 | M
    """,
        medications="""
        patient | name      | start      | end
        drug    | clozapine | 2020-06-01 | 2021-03-01
    """,
        diagnoses="""
        patient | code   | system | date
        cancer  | C91.10 | ICD10  | 2019-05-01
        hiv     | B20    | ICD10  | 2010-05-01
    """,
    )
    assert result.status == {
        "young": "under_min_age",
        "normal": "igm_not_low",
        "mixed": "not_isolated",
        "drug": "excluded_drug",
        "cancer": "excluded_malignancy",
        "hiv": "excluded_other",
        "normalised": "normalized",
        "single": "single_low",
        "persistent": "persistent",
    }
    assert result.reasons == {
        "young": [],
        "normal": [],
        "mixed": [],
        "drug": ["drug:clozapine"],
        "cancer": ["malignancy:C91.10"],
        "hiv": ["other:B20"],
        "normalised": [],
        "single": [],
        "persistent": [],
    }
    attrition = result.result.attrition
    for status in set(result.status.values()) - {"persistent"}:
        removed = attrition.filter(pl.col("status_on_failure") == status)["removed"].to_list()
        assert removed == [1], status
    # Patients passing every step: the persistent one.
    assert attrition.sort("step")["remaining"].to_list()[-1] == 1


def test_a_drug_and_a_cancer_give_excluded_drug_listing_both(screen):
    result = screen(
        labs=INDEX_PANEL,
        medications="""
        patient | name      | start      | end
        p1      | clozapine | 2020-06-01 | 2021-03-01
    """,
        diagnoses="""
        patient | code   | system | date
        p1      | C91.10 | ICD10  | 2019-05-01
    """,
    )
    assert result.status == {"p1": "excluded_drug"}
    assert result.reasons == {"p1": ["drug:clozapine", "malignancy:C91.10"]}


def test_a_cancer_and_hiv_give_excluded_malignancy_listing_both(screen):
    result = screen(
        labs=INDEX_PANEL,
        diagnoses="""
        patient | code   | system | date
        p1      | B20    | ICD10  | 2010-05-01
        p1      | C50.9  | ICD10  | 2021-05-01
    """,
    )
    assert result.status == {"p1": "excluded_malignancy"}
    assert result.reasons == {"p1": ["malignancy:C50.9", "other:B20"]}


def test_a_secondary_cause_wins_over_normalising_and_persistence(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2021-03-01 | IgM  | 25
        p1      | 2021-03-01 | IgG  | 1000
        p1      | 2021-03-01 | IgA  | 200
        p1      | 2021-04-01 | IgM  | 80
        p2      | 2021-03-01 | IgM  | 25
        p2      | 2021-03-01 | IgG  | 1000
        p2      | 2021-03-01 | IgA  | 200
        p2      | 2021-09-01 | IgM  | 20
    """,
        diagnoses="""
        patient | code   | system | date
        p1      | N04.9  | ICD10  | 2021-02-01
        p2      | Z94.0  | ICD10  | 2015-01-01
    """,
    )
    assert result.status == {"p1": "excluded_other", "p2": "excluded_other"}
    assert result.reasons == {"p1": ["other:N04.9"], "p2": ["other:Z94.0"]}


def test_without_an_index_no_cause_is_searched(screen):
    # Not isolated (low IgG): clozapine and leukaemia are not looked for, nothing is listed.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2021-03-01 | IgM  | 25
        p1      | 2021-03-01 | IgG  | 700
        p1      | 2021-03-01 | IgA  | 200
    """,
        medications="""
        patient | name      | start      | end
        p1      | clozapine | 2020-06-01 | 2021-03-01
    """,
        diagnoses="""
        patient | code   | system | date
        p1      | C91.10 | ICD10  | 2019-05-01
    """,
    )
    assert result.status == {"p1": "not_isolated"}
    assert result.reasons == {"p1": []}
    assert result.result.exclusions.filter(pl.col("patient_id") == "p1").height == 0


def test_under_age_comes_before_low(screen):
    # Born 2018: every IgM is before age 4, even a low one with a normal panel.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2021-03-01 | IgM  | 3
        p1      | 2021-03-01 | IgG  | 1000
        p1      | 2021-03-01 | IgA  | 200
    """,
        patients="""
        patient | birth_date | sex
        p1      | 2018-01-01 | F
    """,
    )
    assert result.status == {"p1": "under_min_age"}


def test_a_cause_is_listed_once_however_often_it_was_found(screen):
    result = screen(
        labs=INDEX_PANEL,
        medications="""
        patient | name      | start      | end
        p1      | clozapine | 2020-06-01 | 2020-07-01
        p1      | clozapine | 2020-09-01 | 2020-10-01
        p1      | Clozaril  | 2021-01-01 |
    """,
        diagnoses="""
        patient | code   | system | date
        p1      | C91.10 | ICD10  | 2019-05-01
        p1      | C91.10 | ICD10  | 2020-05-01
    """,
    )
    assert result.status == {"p1": "excluded_drug"}
    assert result.reasons == {"p1": ["drug:clozapine", "malignancy:C91.10"]}


def test_a_patient_in_the_patients_table_without_igm_is_not_screened(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2021-03-01 | IgM  | 100
        p2      | 2021-03-01 | IgG  | 1000
    """,
        patients="""
        patient | birth_date | sex
        p1      | 1980-01-01 | F
        p2      | 1980-01-01 | F
        p3      | 1980-01-01 | F
    """,
    )
    assert result.status == {"p1": "igm_not_low"}


def test_excluded_and_normalised_patients_keep_their_index_date(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2021-03-01 | IgM  | 25
        p1      | 2021-03-01 | IgG  | 1000
        p1      | 2021-03-01 | IgA  | 200
        p2      | 2021-03-01 | IgM  | 25
        p2      | 2021-03-01 | IgG  | 1000
        p2      | 2021-03-01 | IgA  | 200
        p2      | 2021-05-01 | IgM  | 90
    """,
        medications="""
        patient | name      | start
        p1      | clozapine | 2021-02-01
    """,
    )
    assert result.status == {"p1": "excluded_drug", "p2": "normalized"}
    assert result.index_date == {"p1": date(2021, 3, 1), "p2": date(2021, 3, 1)}


# SPEC §3's table "Status: the first funnel step a patient fails", word for word.
SPEC_STEPS = [
    (1, "have an IgM result that passed validation", None),
    (2, "have an IgM result at age ≥ min age", "under_min_age"),
    (3, "have a low IgM result", "igm_not_low"),
    (4, "have an isolated low IgM panel", "not_isolated"),
    (5, "have no drug cause", "excluded_drug"),
    (6, "have no malignancy", "excluded_malignancy"),
    (7, "have no other secondary cause", "excluded_other"),
    (8, "did not normalise", "normalized"),
    (9, "have a repeat low ≥ 90 d after index", "single_low"),
]


def test_the_funnel_steps_are_named_and_ordered_as_the_spec_names_them(screen):
    attrition = screen(labs=INDEX_PANEL).result.attrition.sort("step")
    found = attrition.select("step", "step_name", "status_on_failure").rows()
    assert found == SPEC_STEPS


def test_the_persistence_step_names_the_interval_the_rules_apply(screen, site_rules):
    rules = site_rules(
        "criteria.toml",
        lambda text: text.replace("repeat_low_min_days = 90", "repeat_low_min_days = 120"),
    )
    attrition = screen(labs=INDEX_PANEL, rules_dir=rules).result.attrition
    [name] = attrition.filter(pl.col("step") == 9)["step_name"].to_list()
    assert name == "have a repeat low ≥ 120 d after index"
