"""SPEC §3 Analytes: total serum IgM 2472-9, IgG 2465-3, IgA 2458-8 (LOINC); other systems only
through a site mapping; antigen-specific IgM tests are never total IgM."""


def test_loinc_codes_of_total_igm_igg_iga_make_a_panel(screen):
    result = screen(
        labs="""
        patient | date       | test   | system | value
        p1      | 2020-01-10 | 2472-9 | LOINC  | 25
        p1      | 2020-01-10 | 2465-3 | LOINC  | 1000
        p1      | 2020-01-10 | 2458-8 | LOINC  | 200
    """
    )
    assert result.status == {"p1": "single_low"}
    assert result.index_date["p1"].isoformat() == "2020-01-10"


def test_test_system_defaults_to_loinc_and_is_matched_case_insensitively(screen):
    result = screen(
        labs="""
        patient | date       | test   | system | value
        p1      | 2020-01-10 | 2472-9 |        | 25
        p1      | 2020-01-10 | 2465-3 |        | 1000
        p1      | 2020-01-10 | 2458-8 |        | 200
        p2      | 2020-01-10 | 2472-9 | loinc  | 25
        p2      | 2020-01-10 | 2465-3 | Loinc  | 1000
        p2      | 2020-01-10 | 2458-8 | LOINC  | 200
    """
    )
    assert result.status == {"p1": "single_low", "p2": "single_low"}


def test_patients_with_igg_or_iga_but_no_igm_are_not_screened(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
        p2      | 2020-01-10 | IgM  | 100
    """
    )
    assert result.status == {"p2": "igm_not_low"}


def test_local_codes_without_a_mapping_are_ignored_and_counted(screen):
    result = screen(
        labs="""
        patient | date       | test | system | value
        p1      | 2020-01-10 | IGM  | LOCAL  | 25
        p1      | 2020-01-10 | IGG  | LOCAL  | 1000
        p1      | 2020-01-10 | IGA  | LOCAL  | 200
        p2      | 2020-01-10 | IgM  |        | 100
    """
    )
    assert result.status == {"p2": "igm_not_low"}
    counts = result.counts("labs")
    assert counts["read"] == 4
    assert counts["used"] == 1
    assert counts["ignored"] == 3
    assert counts["quarantined"] == 0
    assert result.ignored("labs", "not_loinc") == 3


def test_local_codes_are_screened_through_the_site_mapping(screen):
    result = screen(
        labs="""
        patient | date       | test | system | value
        p1      | 2020-01-10 | IGM  | LOCAL  | 25
        p1      | 2020-01-10 | IGG  | LOCAL  | 1000
        p1      | 2020-01-10 | IGA  | local  | 200
        p2      | 2020-01-10 | IGM  | OTHER  | 25
    """,
        mapping="""
        test_system | test_code | loinc
        LOCAL       | IGM       | 2472-9
        LOCAL       | IGG       | 2465-3
        LOCAL       | IGA       | 2458-8
    """,
    )
    # p2's code comes from a system the mapping does not know: still ignored.
    assert result.status == {"p1": "single_low"}
    assert result.counts("labs")["ignored"] == 1


def test_antigen_specific_igm_tests_are_not_total_igm_whatever_their_name(screen):
    # 7853-5 is CMV IgM Ab, 11573-3 rheumatoid factor IgM: not total immunoglobulin, even when
    # the lab's test_name says "IgM".
    result = screen(
        labs="""
        patient | date       | test    | name                 | value
        p1      | 2020-01-10 | 7853-5  | CMV IgM               | 0.2
        p1      | 2020-01-10 | IgG     | IgG                   | 1000
        p1      | 2020-01-10 | IgA     | IgA                   | 200
        p2      | 2020-01-10 | 11573-3 | IgM                   | 3
        p2      | 2020-01-10 | IgG     | IgG                   | 1000
        p2      | 2020-01-10 | IgA     | IgA                   | 200
        p3      | 2020-01-10 | 11573-3 | Rheumatoid factor IgM | 3
        p3      | 2020-01-10 | IgM     | Immunoglobulin M      | 100
    """
    )
    assert result.status == {"p3": "igm_not_low"}
    assert result.counts("labs")["ignored"] == 3


def test_other_lab_tests_are_ignored_and_counted(screen):
    result = screen(
        labs="""
        patient | date       | test   | value | unit
        p1      | 2020-01-10 | IgM    | 100   | mg/dL
        p1      | 2020-01-10 | 2160-0 | 0.9   | mg/dL
        p1      | 2020-01-10 | 718-7  | 13.5  | g/dL
    """
    )
    assert result.status == {"p1": "igm_not_low"}
    counts = result.counts("labs")
    assert (counts["read"], counts["used"], counts["ignored"]) == (3, 1, 2)
    assert result.ignored("labs", "other_test") == 2


def test_rows_read_are_used_quarantined_or_ignored(screen):
    result = screen(
        labs="""
        patient | date       | test   | system | value | unit
        p1      | 2020-01-10 | IgM    |        | 25    | mg/dL
        p1      | 2020-01-10 | IgM    |        | 25    | mg/dL
        p1      | 2020-01-10 | IgG    |        | QNS   | mg/dL
        p1      | 2020-01-10 | IgA    |        | 200   | mmol/L
        p1      | 2020-01-10 | 2160-0 |        | 0.9   | mg/dL
        p1      | 2020-01-10 | IGM    | LOCAL  | 25    | mg/dL
    """
    )
    counts = result.counts("labs")
    assert counts["read"] == 6
    assert counts["read"] == counts["used"] + counts["quarantined"] + counts["ignored"]
    assert counts["quarantined"] == 2
    assert counts["used"] == 1


def test_the_site_mapping_can_name_a_local_unit(screen):
    # The lab writes g/L as "GPL" for its local IgM code.
    result = screen(
        labs="""
        patient | date       | test | system | value | unit
        p1      | 2020-01-10 | IGM  | LOCAL  | 0.25  | GPL
        p1      | 2020-01-10 | IgG  |        | 1000  | mg/dL
        p1      | 2020-01-10 | IgA  |        | 200   | mg/dL
    """,
        mapping="""
        test_system | test_code | loinc  | local_unit | ucum_unit
        LOCAL       | IGM       | 2472-9 | GPL        | g/L
    """,
    )
    assert result.status == {"p1": "single_low"}
    assert result.row("p1")["min_igm_mg_dl"] == 25
