"""SPEC §3 Units: canonical mg/dL; g/L ×100, mg/L ×0.1, g/dL ×1000, mg/mL ×100, IgM IU/mL ×0.847;
case-insensitive, spaces ignored, UCUM spellings; unknown unit -> quarantine; ref limits in the
row's unit."""

import pytest

from pipeline.errors import ExtractRefused


@pytest.mark.parametrize(
    ("igm", "igg", "iga", "unit"),
    [
        ("0.25", "10", "2", "g/L"),  # ×100
        ("250", "10000", "2000", "mg/L"),  # ×0.1
        ("0.025", "1", "0.2", "g/dL"),  # ×1000
        ("0.25", "10", "2", "mg/mL"),  # ×100
        ("25", "1000", "200", "mg/dL"),
    ],
)
def test_each_mass_unit_is_converted_to_mg_dl(screen, igm, igg, iga, unit):
    # IgM 25 mg/dL (low, adult lower 37), IgG 1000 and IgA 200 mg/dL (normal).
    result = screen(
        labs=f"""
        patient | date       | test | value | unit
        p1      | 2020-01-10 | IgM  | {igm} | {unit}
        p1      | 2020-01-10 | IgG  | {igg} | {unit}
        p1      | 2020-01-10 | IgA  | {iga} | {unit}
    """
    )
    assert result.status == {"p1": "single_low"}
    assert result.row("p1")["min_igm_mg_dl"] == pytest.approx(25)


@pytest.mark.parametrize(
    ("unit", "status"),
    [
        ("g/L", "igm_not_low"),  # 0.5 g/L = 50 mg/dL
        ("mg/L", "single_low"),  # 0.05 mg/dL
        ("g/dL", "igm_not_low"),  # 500 mg/dL
        ("mg/mL", "igm_not_low"),  # 50 mg/dL
    ],
)
def test_a_value_of_half_means_different_things_in_each_unit(screen, unit, status):
    result = screen(
        labs=f"""
        patient | date       | test | value | unit
        p1      | 2020-01-10 | IgM  | 0.5   | {unit}
        p1      | 2020-01-10 | IgG  | 1000  | mg/dL
        p1      | 2020-01-10 | IgA  | 200   | mg/dL
    """
    )
    assert result.status == {"p1": status}


def test_igm_in_iu_per_ml_is_multiplied_by_0_847(screen):
    # WHO 67/86: 43 IU/mL = 36.4 mg/dL (< 37, low); 44 IU/mL = 37.3 mg/dL (not low).
    result = screen(
        labs="""
        patient | date       | test | value | unit
        p1      | 2020-01-10 | IgM  | 43    | IU/mL
        p1      | 2020-01-10 | IgG  | 1000  | mg/dL
        p1      | 2020-01-10 | IgA  | 200   | mg/dL
        p2      | 2020-01-10 | IgM  | 44    | IU/mL
        p2      | 2020-01-10 | IgG  | 1000  | mg/dL
        p2      | 2020-01-10 | IgA  | 200   | mg/dL
    """
    )
    assert result.status == {"p1": "single_low", "p2": "igm_not_low"}
    assert result.row("p1")["min_igm_mg_dl"] == pytest.approx(36.421)


def test_iu_per_ml_is_unknown_for_igg_and_iga(screen):
    result = screen(
        labs="""
        patient | date       | test | value | unit
        p1      | 2020-01-10 | IgM  | 25    | mg/dL
        p1      | 2020-01-10 | IgG  | 1000  | IU/mL
        p1      | 2020-01-10 | IgA  | 200   | IU/mL
    """
    )
    # Without usable IgG/IgA the low IgM has no panel.
    assert result.status == {"p1": "not_isolated"}
    result.assert_quarantined(table="labs", patient="p1", rows=[2, 3], reason="unknown_unit")


@pytest.mark.parametrize(
    "unit", ["G/L", "g/l", "g / L", "' g/L '", "MG/DL", "mg / dl", "Mg/Dl", "'mg/ dL'"]
)
def test_units_match_case_insensitively_with_spaces_ignored(screen, unit):
    factor = 100 if "g/l" in unit.lower().replace(" ", "") else 1
    result = screen(
        labs=f"""
        patient | date       | test | value              | unit
        p1      | 2020-01-10 | IgM  | {25 / factor}      | {unit}
        p1      | 2020-01-10 | IgG  | {1000 / factor}    | {unit}
        p1      | 2020-01-10 | IgA  | {200 / factor}     | {unit}
    """
    )
    assert result.status == {"p1": "single_low"}
    assert result.quarantined("labs") == []


@pytest.mark.parametrize("unit", ["[IU]/mL", "[iU]/ml", "iu/ml", "IU / mL"])
def test_ucum_and_other_spellings_of_iu_per_ml_are_accepted(screen, unit):
    result = screen(
        labs=f"""
        patient | date       | test | value | unit
        p1      | 2020-01-10 | IgM  | 30    | {unit}
        p1      | 2020-01-10 | IgG  | 1000  | mg/dL
        p1      | 2020-01-10 | IgA  | 200   | mg/dL
    """
    )
    assert result.status == {"p1": "single_low"}
    assert result.row("p1")["min_igm_mg_dl"] == pytest.approx(25.41)  # 30 × 0.847


def test_an_unknown_unit_sends_the_row_to_quarantine(screen):
    result = screen(
        labs="""
        patient | date       | test | value | unit
        p1      | 2020-01-10 | IgM  | 25    | mmol/L
        p2      | 2020-01-10 | IgM  | 25    | mmol/L
        p2      | 2020-02-10 | IgM  | 100   | mg/dL
        p3      | 2020-01-10 | IgM  | 25    |
    """
    )
    # p1's only IgM failed validation: not screened. p2 is screened on the valid row only.
    # An empty unit is not a known unit either.
    assert result.status == {"p2": "igm_not_low"}
    result.assert_quarantined(table="labs", patient="p1", rows=[1], reason="unknown_unit")
    result.assert_quarantined(table="labs", patient="p2", rows=[2], reason="unknown_unit")
    result.assert_quarantined(table="labs", patient="p3", rows=[4])
    assert result.counts("labs")["quarantined"] == 3


def test_lab_reference_limits_are_in_the_rows_unit(screen):
    # p1: 0.30 g/L with lab limits 0.40-2.50 g/L = 30 below 40-250 mg/dL: low.
    # p2: 0.35 g/L with lab limits 0.30-2.50 g/L = 35 within 30-250 mg/dL: not low (the table's
    #     adult lower limit of 37 would have called it low).
    result = screen(
        labs="""
        patient | date       | test | value | unit  | ref_low | ref_high
        p1      | 2020-01-10 | IgM  | 0.30  | g/L   | 0.40    | 2.50
        p1      | 2020-01-10 | IgG  | 10    | g/L   | 7       | 16
        p1      | 2020-01-10 | IgA  | 2     | g/L   | 0.7     | 4
        p2      | 2020-01-10 | IgM  | 0.35  | g/L   | 0.30    | 2.50
        p2      | 2020-01-10 | IgG  | 10    | g/L   | 7       | 16
        p2      | 2020-01-10 | IgA  | 2     | g/L   | 0.7     | 4
    """
    )
    assert result.status == {"p1": "single_low", "p2": "igm_not_low"}


def test_lab_limits_on_the_row_do_not_rescue_an_unknown_unit(screen):
    result = screen(
        labs="""
        patient | date       | test | value | unit   | ref_low | ref_high
        p1      | 2020-01-10 | IgM  | 25    | mg/dL  |         |
        p1      | 2020-01-10 | IgG  | 1000  | U/mL   | 700     | 1600
        p1      | 2020-01-10 | IgA  | 200   | mg/dL  |         |
    """
    )
    assert result.status == {"p1": "not_isolated"}
    result.assert_quarantined(table="labs", patient="p1", rows=[2], reason="unknown_unit")


def test_the_iu_per_ml_factor_is_configurable(screen, site_rules):
    # A site using a factor of 1 mg/dL per IU/mL: 43 IU/mL is then 43 mg/dL, not low.
    rules = site_rules("units.csv", lambda text: text.replace("igm,IU/mL,0.847", "igm,IU/mL,1"))
    result = screen(
        labs="""
        patient | date       | test | value | unit
        p1      | 2020-01-10 | IgM  | 43    | IU/mL
        p1      | 2020-01-10 | IgG  | 1000  | mg/dL
        p1      | 2020-01-10 | IgA  | 200   | mg/dL
    """,
        rules_dir=rules,
    )
    assert result.status == {"p1": "igm_not_low"}


def test_lab_limits_in_iu_per_ml_are_converted_with_the_igm_factor(screen):
    # 42 IU/mL = 35.6 mg/dL; the lab's lower limit 40 IU/mL = 33.9 mg/dL: not low. (Against an
    # unconverted 40, or the table's 37, it would have been low.)
    result = screen(
        labs="""
        patient | date       | test | value | unit  | ref_low | ref_high
        p1      | 2020-01-10 | IgM  | 42    | IU/mL | 40      | 300
        p1      | 2020-01-10 | IgG  | 1000  | mg/dL |         |
        p1      | 2020-01-10 | IgA  | 200   | mg/dL |         |
    """
    )
    assert result.status == {"p1": "igm_not_low"}


# --- the share of unknown units (criteria.toml [validation]; issue 3) ---------------------------
# A unit unknown for the analyte quarantines the row (SPEC §3). When more than 5% of an analyte's
# rows carry one, once it has at least 20 rows, the whole extract is refused: the lab changed a
# unit or a column shifted, and screening the rest would be misleading.


def igm_rows(n_known: int, n_unknown: int) -> str:
    rows = [
        f"p1 | 2020-{1 + i // 28:02d}-{1 + i % 28:02d} | IgM | 100 | mg/dL" for i in range(n_known)
    ]
    rows += [f"p1 | 2021-01-{1 + i:02d} | IgM | 100 | mmol/L" for i in range(n_unknown)]
    return "patient | date | test | value | unit\n" + "\n".join(rows)


def test_one_unknown_unit_in_twenty_igm_rows_is_only_quarantined(screen):
    result = screen(labs=igm_rows(19, 1))  # 5%: at the limit
    result.assert_quarantined(table="labs", patient="p1", reason="unknown_unit")
    assert result.status == {"p1": "igm_not_low"}


def test_two_unknown_units_in_twenty_igm_rows_refuse_the_extract(screen):
    with pytest.raises(ExtractRefused, match=r"unit.*2 of 20 IgM rows \(10%\)"):
        screen(labs=igm_rows(18, 2))


def test_below_twenty_rows_unknown_units_are_only_quarantined(screen):
    result = screen(labs=igm_rows(1, 18))  # 19 rows: too few to judge a share
    result.assert_quarantined(table="labs", patient="p1", reason="unknown_unit")
    assert result.status == {"p1": "igm_not_low"}


def test_the_unknown_unit_share_is_a_rules_setting(screen, site_rules):
    rules = site_rules(
        "criteria.toml",
        lambda t: t.replace("max_unknown_unit_share = 0.05", "max_unknown_unit_share = 0.1"),
    )
    result = screen(labs=igm_rows(18, 2), rules_dir=rules)
    assert result.status == {"p1": "igm_not_low"}
