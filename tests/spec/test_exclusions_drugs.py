"""SPEC §3 Exclusions by drug: an exposure [start, end] (no end: start + 30 d) counts when it
overlaps the cause's window before the index (both ends included); drugs match by ATC prefix,
RxNorm ingredient or name (generic or brand, whole words, any case); local routes never count.
Reasons are `drug:<ingredient>` whatever matched, or the class name for a class-only code.

Every patient here has the same isolated low IgM panel, index date 2021-03-01.
"""

import pytest

INDEX_PANEL = """
    patient | date       | test | value
    p1      | 2021-03-01 | IgM  | 25
    p1      | 2021-03-01 | IgG  | 1000
    p1      | 2021-03-01 | IgA  | 200
"""


def screen_drug(screen, name="", start="2021-01-01", end="", route="", code="", system=""):
    return screen(
        labs=INDEX_PANEL,
        medications=f"""
        patient | name   | code   | system   | start   | end   | route
        p1      | {name} | {code} | {system} | {start} | {end} | {route}
    """,
    )


@pytest.mark.parametrize(
    ("name", "inside", "outside"),
    [
        ("clozapine", "2020-03-01", "2020-02-29"),  # index - 365 d / - 366 d
        ("lamotrigine", "2020-03-01", "2020-02-29"),  # anti-epileptic: 365 d
        ("methotrexate", "2020-03-01", "2020-02-29"),  # immunosuppressant: 365 d
        ("rituximab", "2019-03-02", "2019-03-01"),  # B-cell depleting: 730 d / 731 d
        ("prednisone", "2020-12-01", "2020-11-30"),  # systemic corticosteroid: 90 d / 91 d
        ("IVIG", "2020-09-02", "2020-09-01"),  # immunoglobulin replacement: 180 d / 181 d
    ],
)
def test_a_one_day_exposure_counts_on_the_first_day_of_the_window_not_the_day_before(
    screen, name, inside, outside
):
    assert screen_drug(screen, name, start=inside, end=inside).status == {"p1": "excluded_drug"}
    assert screen_drug(screen, name, start=outside, end=outside).status == {"p1": "single_low"}


@pytest.mark.parametrize("name", ["clozapine", "rituximab", "prednisone", "IVIG"])
def test_an_exposure_starting_on_the_index_date_counts_the_day_after_does_not(screen, name):
    assert screen_drug(screen, name, start="2021-03-01").status == {"p1": "excluded_drug"}
    assert screen_drug(screen, name, start="2021-03-02").status == {"p1": "single_low"}


@pytest.mark.parametrize(
    ("name", "inside", "outside"),
    [
        ("clozapine", "2020-01-31", "2020-01-30"),  # start + 30 d = index - 365 d / - 366 d
        ("prednisone", "2020-11-01", "2020-10-31"),  # start + 30 d = index - 90 d / - 91 d
    ],
)
def test_an_exposure_without_end_lasts_30_days(screen, name, inside, outside):
    assert screen_drug(screen, name, start=inside).status == {"p1": "excluded_drug"}
    assert screen_drug(screen, name, start=outside).status == {"p1": "single_low"}


@pytest.mark.parametrize(
    ("start", "end", "status"),
    [
        ("2018-01-01", "2020-02-29", "single_low"),  # ended the day before the window
        ("2018-01-01", "2020-03-01", "excluded_drug"),  # ended on the window's first day
        ("2018-01-01", "2023-01-01", "excluded_drug"),  # spans the whole window
        ("2021-02-01", "2021-06-01", "excluded_drug"),  # runs on past the index
        ("2021-03-02", "2021-06-01", "single_low"),  # started after the index
    ],
)
def test_an_exposure_counts_when_it_overlaps_the_window(screen, start, end, status):
    assert screen_drug(screen, "clozapine", start=start, end=end).status == {"p1": status}


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("clozapine", "drug:clozapine"),
        ("CLOZAPINE", "drug:clozapine"),
        ("Clozapine 100 mg tablet", "drug:clozapine"),
        ("Clozaril", "drug:clozapine"),  # brand
        ("Depakote ER 500mg", "drug:valproate"),  # brand
        ("divalproex sodium", "drug:valproate"),
        ("Valproic Acid 250 mg capsule", "drug:valproate"),
        ("rituximab-abbs", "drug:rituximab"),  # biosimilar suffix after a hyphen
        ("Truxima", "drug:rituximab"),
        ("Kymriah", "drug:tisagenlecleucel"),  # CAR-T product
        ("cyclosporine modified", "drug:ciclosporin"),  # the rules' name for the ingredient
        ("auranofin", "drug:gold salts"),
        ("Hizentra", "drug:immunoglobulin"),
        ("methylprednisolone sodium succinate", "drug:methylprednisolone"),
        ("Hydrocortisone 10 mg tablet", "drug:hydrocortisone"),
        ("cortisone acetate", "drug:cortisone"),
        ("Rapamune", "drug:sirolimus"),
        ("sirolimus", "drug:sirolimus"),
        ("Sulphasalazine EC", "drug:sulfasalazine"),
        ("cyclophosphamide", "drug:cyclophosphamide"),
        ("clozapine (NDC 0078-0126)", "drug:clozapine"),
    ],
)
def test_drugs_match_by_generic_or_brand_name_in_any_case(screen, name, reason):
    result = screen_drug(screen, name)
    assert result.status == {"p1": "excluded_drug"}
    assert result.reasons == {"p1": [reason]}


@pytest.mark.parametrize(
    "name",
    [
        "temsirolimus",  # contains "sirolimus" inside a longer word
        "clozapinex",
        "noncyclophosphamide regimen",
        "aspirin",
        "sulfasalazin",  # not the whole word
    ],
)
def test_names_match_whole_words_only(screen, name):
    result = screen_drug(screen, name)
    assert result.status == {"p1": "single_low"}
    assert result.reasons == {"p1": []}


@pytest.mark.parametrize(
    ("code", "system", "reason"),
    [
        ("N05AH02", "ATC", "drug:clozapine"),
        ("n05ah02", "atc", "drug:clozapine"),
        ("N03AG01", "ATC", "drug:valproate"),
        ("L01FA01", "ATC", "drug:rituximab"),
        ("L04AX03", "ATC", "drug:methotrexate"),
        ("J06BA02", "ATC", "drug:immunoglobulin"),  # class code with an ingredient name
        ("M01CB01", "ATC", "drug:gold salts"),
        ("H02AB06", "ATC", "drug:systemic_corticosteroid"),  # class-only code
        ("H02AB", "ATC", "drug:systemic_corticosteroid"),
        ("2626", "RXNORM", "drug:clozapine"),
        ("2626", "RxNorm", "drug:clozapine"),
        ("11118", "RXNORM", "drug:valproate"),
        ("121191", "RXNORM", "drug:rituximab"),
        ("8640", "RXNORM", "drug:prednisone"),
    ],
)
def test_drugs_match_by_atc_prefix_or_rxnorm_ingredient(screen, code, system, reason):
    result = screen_drug(screen, name="", code=code, system=system)
    assert result.status == {"p1": "excluded_drug"}
    assert result.reasons == {"p1": [reason]}


@pytest.mark.parametrize(
    ("code", "system"),
    [
        ("N05AH", "ATC"),  # less specific than the rules' N05AH02: not a match
        ("N05AH03", "ATC"),  # olanzapine
        ("H02BA", "ATC"),
        ("2626", "ATC"),  # an RxNorm code read as ATC
        ("N05AH02", "RXNORM"),
        ("26260", "RXNORM"),  # RxNorm codes are whole codes, not prefixes
    ],
)
def test_codes_of_other_drugs_or_systems_do_not_match(screen, code, system):
    result = screen_drug(screen, name="", code=code, system=system)
    assert result.status == {"p1": "single_low"}


def test_an_ingredient_match_names_the_ingredient_not_the_class(screen):
    # Prednisone with its ATC code H02AB07: the ingredient is known, so the reason is
    # drug:prednisone (the class name is for class-only matches).
    result = screen_drug(screen, name="prednisone 5 mg", code="H02AB07", system="ATC")
    assert result.status == {"p1": "excluded_drug"}
    assert result.reasons == {"p1": ["drug:prednisone"]}


def test_every_drug_found_is_listed(screen):
    result = screen(
        labs=INDEX_PANEL,
        medications="""
        patient | name         | code    | system | start      | end        | route
        p1      | clozapine    |         |        | 2021-01-01 | 2021-02-01 | oral
        p1      | Tegretol     |         |        | 2021-01-01 | 2021-02-01 | oral
        p1      |              | H02AB06 | ATC    | 2021-02-01 | 2021-02-10 | oral
        p1      | methotrexate |         |        | 2019-01-01 | 2019-02-01 | oral
    """,
    )
    # Methotrexate ended more than 365 days before the index: not a cause.
    assert result.status == {"p1": "excluded_drug"}
    assert result.reasons == {
        "p1": ["drug:carbamazepine", "drug:clozapine", "drug:systemic_corticosteroid"]
    }


@pytest.mark.parametrize(
    "route",
    [
        "inhaled",
        "INHALATION",
        "oral inhalation",
        "nasal",
        "Intranasal",
        "topical",
        "cutaneous",
        "ophthalmic",
        "eye",
        "otic",
        "ear",
        "left ear",
        "Right Ear",
        "both eyes",
        "rectal",
        "vaginal",
        "' Topical '",
    ],
)
def test_a_local_route_never_counts(screen, route):
    result = screen_drug(screen, "prednisolone", route=route)
    assert result.status == {"p1": "single_low"}
    assert result.reasons == {"p1": []}
    assert screen_drug(screen, "prednisolone", route="oral").status == {"p1": "excluded_drug"}


@pytest.mark.parametrize(
    "route",
    ["oral", "PO", "intravenous", "IV", "subcutaneous", "SC", "transdermal", "nasogastric", ""],
)
def test_systemic_routes_and_a_missing_route_count(screen, route):
    # "nasogastric" is not "nasal": a route counts as local only when its whole value is listed.
    result = screen_drug(screen, "methotrexate", route=route)
    assert result.status == {"p1": "excluded_drug"}


@pytest.mark.parametrize(
    "name",
    [
        "budesonide inhaler",
        "prednisolone eye drops",
        "hydrocortisone cream 1%",
        "betamethasone ointment",
        "triamcinolone nasal spray",
        "dexamethasone ear drops",
        "budesonide nebuliser solution",
        "budesonide nebulizer suspension",
        "Hydrocortisone Lotion",
    ],
)
def test_without_a_route_a_name_that_says_local_does_not_count(screen, name):
    result = screen_drug(screen, name, route="")
    assert result.status == {"p1": "single_low"}
    # The same name with a systemic route does count: the drug itself is matched.
    assert screen_drug(screen, name, route="oral").status == {"p1": "excluded_drug"}


def test_a_systemic_route_wins_over_a_local_sounding_name(screen):
    # The local-name rule applies only when the route is missing.
    result = screen_drug(screen, "hydrocortisone cream", route="oral")
    assert result.status == {"p1": "excluded_drug"}


def test_a_local_route_also_stops_matches_by_code(screen):
    result = screen_drug(screen, name="", code="H02AB09", system="ATC", route="topical")
    assert result.status == {"p1": "single_low"}


def test_subcutaneous_immunoglobulin_counts(screen):
    result = screen_drug(screen, "Hizentra", route="subcutaneous", start="2020-12-01")
    assert result.status == {"p1": "excluded_drug"}
    assert result.reasons == {"p1": ["drug:immunoglobulin"]}


def test_drug_exclusions_are_recorded_with_their_date_and_distance(screen):
    result = screen_drug(screen, "clozapine", start="2021-01-01", end="2021-02-01")
    rows = result.result.exclusions.to_dicts()
    assert len(rows) == 1
    assert rows[0]["category"] == "drug"
    assert rows[0]["reason"] == "drug:clozapine"
    assert rows[0]["event_date"].isoformat() == "2021-01-01"
    assert rows[0]["days_from_index"] == -59


def test_names_match_whatever_the_code_system(screen):
    # An NDC code is not in the rules, but the drug name still matches.
    result = screen_drug(screen, "Clozaril 25 mg", code="0078-0126-05", system="NDC")
    assert result.status == {"p1": "excluded_drug"}
    assert result.reasons == {"p1": ["drug:clozapine"]}


@pytest.mark.parametrize("system", ["ATC", "RXNORM"])
def test_a_row_matched_by_code_and_by_name_shows_its_code_once(screen, system):
    # One medication row names valproate and carries its code: one exclusion row, always the
    # code (never whichever match came first; bucketed and whole runs must agree).
    code = "N03AG01" if system == "ATC" else "11118"
    result = screen_drug(screen, name="Divalproex sodium ER 500 mg", code=code, system=system)
    assert result.reasons == {"p1": ["drug:valproate"]}
    assert result.result.exclusions.select("reason", "code").rows() == [("drug:valproate", code)]
