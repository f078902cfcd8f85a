"""SPEC §3 Exclusions by drug, ingredient by ingredient: every ingredient of the SPEC's drug table
is recognised by its name and by a code alone (a medication row with no name), and the reason
names the ingredient as the rules' code list does. Immunoglobulin *replacement* is recognised by
its generic names, abbreviations, brands and ATC J06BA; the specific (hyperimmune and anti-D)
immune globulins, which do not replace IgG, never count.

Every patient here has the same isolated low IgM panel, index date 2021-03-01.
"""

import polars as pl
import pytest

from pipeline.rules import DEFAULT_RULES_DIR, load_rules

DRUGS = load_rules().drugs
# The loader keeps no `note`; the rows' sources are read from the file itself.
DRUG_NOTES = pl.read_csv(DEFAULT_RULES_DIR / "codelists" / "drugs.csv", infer_schema=False)

INDEX_PANEL = """
    patient | date       | test | value
    p1      | 2021-03-01 | IgM  | 25
    p1      | 2021-03-01 | IgG  | 1000
    p1      | 2021-03-01 | IgA  | 200
"""

# SPEC §3's drug table, ingredient by ingredient, as the code list names them.
SPEC_INGREDIENTS = {
    "clozapine": ["clozapine"],
    "antiepileptic": [
        "carbamazepine",
        "oxcarbazepine",
        "phenytoin",
        "fosphenytoin",
        "valproate",
        "lamotrigine",
        "zonisamide",
    ],
    "b_cell_depleting": [
        "rituximab",
        "ofatumumab",
        "obinutuzumab",
        "ocrelizumab",
        "ublituximab",
        "inebilizumab",
        "alemtuzumab",
        "blinatumomab",
        # CAR-T products
        "tisagenlecleucel",
        "axicabtagene ciloleucel",
        "brexucabtagene autoleucel",
        "lisocabtagene maraleucel",
        "idecabtagene vicleucel",
        "ciltacabtagene autoleucel",
        "obecabtagene autoleucel",
    ],
    "immunosuppressant": [
        "methotrexate",
        "azathioprine",
        "mycophenolate",
        "cyclophosphamide",
        "ciclosporin",
        "tacrolimus",
        "sirolimus",
        "everolimus",
        "fingolimod",
        "sulfasalazine",
        "gold salts",
        "penicillamine",
    ],
}
CASES = [(cause, i) for cause, names in SPEC_INGREDIENTS.items() for i in names]


def screen_drug(screen, name="", code="", system="", route=""):
    return screen(
        labs=INDEX_PANEL,
        medications=f"""
        patient | name   | code   | system   | start      | route
        p1      | {name} | {code} | {system} | 2021-02-01 | {route}
    """,
    )


def listed(ingredient: str, match: str) -> list[str]:
    rows = DRUGS.filter((pl.col("ingredient") == ingredient) & (pl.col("match") == match))
    return rows["value"].to_list()


def a_code(ingredient: str) -> tuple[str, str]:
    """An RxNorm ingredient code of the ingredient if listed, else its first substance ATC."""
    rxnorm = listed(ingredient, "rxnorm")
    if rxnorm:
        return rxnorm[0], "RXNORM"
    return sorted(listed(ingredient, "atc"), key=len, reverse=True)[0], "ATC"


@pytest.mark.parametrize(("cause", "ingredient"), CASES)
def test_every_spec_ingredient_is_matched_by_name(screen, cause, ingredient):
    name = ingredient if ingredient != "gold salts" else "sodium aurothiomalate"
    assert name in listed(ingredient, "name") or ingredient == "gold salts"
    result = screen_drug(screen, name=f"{name.title()} 10 mg")
    assert result.status == {"p1": "excluded_drug"}
    assert result.reasons == {"p1": [f"drug:{ingredient}"]}


@pytest.mark.parametrize(("cause", "ingredient"), CASES)
def test_every_spec_ingredient_is_matched_by_a_code_alone(screen, cause, ingredient):
    code, system = a_code(ingredient)
    result = screen_drug(screen, code=code, system=system)
    assert result.status == {"p1": "excluded_drug"}
    assert result.reasons == {"p1": [f"drug:{ingredient}"]}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (r, f"drug:{r['ingredient']}")
        for r in DRUGS.filter(pl.col("match") == "rxnorm").iter_rows(named=True)
    ],
    ids=lambda v: v["value"] if isinstance(v, dict) else "",
)
def test_every_listed_rxnorm_ingredient_code_matches_without_a_name(screen, row, reason):
    result = screen_drug(screen, code=row["value"], system="RxNorm")
    assert result.status == {"p1": "excluded_drug"}
    assert result.reasons == {"p1": [reason]}


# Ingredient RXCUIs added after the first release, each with its source in the row's note (see
# docs/codelists.md, "RxNorm ingredients"). Pinned here so that dropping or mistyping one fails
# even though the parametrised test above only sees the rows that are present.
ADDED_RXNORM_INGREDIENTS = [
    ("antiepileptic", "fosphenytoin", "72236"),
    ("b_cell_depleting", "ofatumumab", "712566"),
    ("b_cell_depleting", "obinutuzumab", "974779"),
    ("b_cell_depleting", "inebilizumab", "2373951"),
    ("b_cell_depleting", "alemtuzumab", "117055"),
    ("b_cell_depleting", "blinatumomab", "1597258"),
    ("immunosuppressant", "everolimus", "141704"),
    ("immunosuppressant", "gold salts", "1227"),  # auranofin
    ("immunosuppressant", "penicillamine", "7975"),
]


@pytest.mark.parametrize(("cause", "ingredient", "rxcui"), ADDED_RXNORM_INGREDIENTS)
def test_added_rxnorm_ingredient_codes_are_listed_with_a_source(cause, ingredient, rxcui):
    listed_with = (pl.col("ingredient") == ingredient) & (pl.col("match") == "rxnorm")
    assert DRUGS.filter(listed_with & (pl.col("value") == rxcui))["cause"].to_list() == [cause]
    notes = DRUG_NOTES.filter(listed_with & (pl.col("value") == rxcui))["note"].to_list()
    assert len(notes) == 1
    assert notes[0].startswith("RxNorm IN") and "source:" in notes[0]


@pytest.mark.parametrize("system", ["RxNorm", "RXNORM"])
@pytest.mark.parametrize(("cause", "ingredient", "rxcui"), ADDED_RXNORM_INGREDIENTS)
def test_added_rxnorm_ingredient_codes_match_a_row_with_no_name(
    screen, cause, ingredient, rxcui, system
):
    result = screen_drug(screen, code=rxcui, system=system)
    assert result.status == {"p1": "excluded_drug"}
    assert result.reasons == {"p1": [f"drug:{ingredient}"]}


@pytest.mark.parametrize(
    ("name", "code", "system", "reason"),
    [
        ("Prednisone 5 mg tablet", "", "", "drug:prednisone"),
        ("", "H02AB06", "ATC", "drug:systemic_corticosteroid"),  # a class code alone
        ("", "8640", "RXNORM", "drug:prednisone"),
    ],
)
def test_systemic_corticosteroids_by_name_and_by_code(screen, name, code, system, reason):
    result = screen_drug(screen, name=name, code=code, system=system)
    assert result.status == {"p1": "excluded_drug"}
    assert result.reasons == {"p1": [reason]}


# --- immunoglobulin replacement ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "route"),
    [
        ("Immune Globulin (Human) 10%", "IV"),
        ("Immune Globulin (Human) 10% Liquid", ""),
        ("immune globulin intravenous (human)", "intravenous"),
        ("Immune Globulin Subcutaneous (Human) 20%", "subcutaneous"),
        ("Immune Globulin Infusion (Human) 10%", "SC"),
        ("Human normal immunoglobulin 100 mg/mL", "IV"),
        ("IVIG 30 g", "IV"),
        ("SCIG 10 g", "SC"),
        ("Privigen 20 g", "IV"),
        ("Gamunex-C", "IV"),
        ("Hizentra 4 g", "SC"),
        ("HyQvia", "SC"),
        ("Octagam 10%", "IV"),
        ("Kiovig", "IV"),
    ],
)
def test_immunoglobulin_replacement_is_recognised_by_name(screen, name, route):
    result = screen_drug(screen, name=name, route=route)
    assert result.status == {"p1": "excluded_drug"}
    assert result.reasons == {"p1": ["drug:immunoglobulin"]}


@pytest.mark.parametrize("code", ["J06BA01", "J06BA02", "J06BA"])
def test_immunoglobulin_replacement_is_recognised_by_atc_j06ba(screen, code):
    result = screen_drug(screen, code=code, system="ATC")
    assert result.status == {"p1": "excluded_drug"}
    assert result.reasons == {"p1": ["drug:immunoglobulin"]}


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Hepatitis B Immune Globulin (Human)", "J06BB04"),
        ("HepaGam B (hepatitis B immune globulin intravenous)", "J06BB04"),
        ("Hepatitis B immunoglobulin", ""),
        ("Rabies Immune Globulin (Human)", "J06BB05"),
        ("HyperRAB", ""),
        ("Tetanus Immune Globulin (Human)", "J06BB02"),
        ("Rho(D) Immune Globulin (Human)", "J06BB01"),
        ("WinRho SDF Rho(D) Immune Globulin Intravenous (Human)", "J06BB01"),
        ("RhoGAM Ultra-Filtered PLUS", ""),
        ("Anti-D immunoglobulin 1500 IU", "J06BB01"),
        ("Varicella Zoster Immune Globulin", "J06BB03"),
        ("Cytomegalovirus Immune Globulin Intravenous (Human)", "J06BB09"),
        ("Anti-thymocyte immunoglobulin (rabbit)", "L04AA04"),
        ("Lymphocyte Immune Globulin, Anti-Thymocyte Globulin (Equine)", "L04AA03"),
    ],
)
def test_hyperimmune_and_anti_d_globulins_are_not_immunoglobulin_replacement(screen, name, code):
    result = screen_drug(screen, name=name, code=code, system="ATC" if code else "", route="IV")
    assert result.status == {"p1": "single_low"}
    assert result.reasons == {"p1": []}


def test_a_carve_out_word_stops_only_the_name_match_not_a_replacement_code(screen):
    # A row coded J06BA02 is normal immunoglobulin, whatever its free-text name says.
    result = screen_drug(
        screen, name="IVIG (CMV-negative donor pool)", code="J06BA02", system="ATC"
    )
    assert result.status == {"p1": "excluded_drug"}
    assert result.reasons == {"p1": ["drug:immunoglobulin"]}
