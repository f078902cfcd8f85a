"""Write pipeline/rules/descriptions/icd.csv: a title for every ICD code in the diagnosis ranges.

The report and `sigmd explain` show a diagnosis cause with its title. Titles come from the
ICD-9-CM and ICD-10-CM long titles (CMS / NCHS, US public domain) as carried by the MIMIC-IV
demo's `hosp/d_icd_diagnoses` (ODbL 1.0), for every code that lies in an include range of
`pipeline/rules/codelists/diagnoses.csv`. ICD-9-CM three-digit categories have no row of their
own there; their titles (`ICD9_CATEGORIES` below, from the ICD-9-CM tabular list) are added so
that any code in a range falls back to its category. Run again when the ranges change:

    uv run python tools/icd_descriptions.py ../shared/data/mimic-iv-demo-2.2
"""

from __future__ import annotations

import csv
import gzip
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RANGES = ROOT / "pipeline" / "rules" / "codelists" / "diagnoses.csv"
OUT = ROOT / "pipeline" / "rules" / "descriptions" / "icd.csv"
MIMIC_SOURCE = "cms-long-title"  # see pipeline/rules/descriptions/SOURCES.md
TABULAR_SOURCE = "icd9cm-category"

ICD9_CATEGORIES = {
    "140": "Malignant neoplasm of lip",
    "141": "Malignant neoplasm of tongue",
    "142": "Malignant neoplasm of major salivary glands",
    "143": "Malignant neoplasm of gum",
    "144": "Malignant neoplasm of floor of mouth",
    "145": "Malignant neoplasm of other and unspecified parts of mouth",
    "146": "Malignant neoplasm of oropharynx",
    "147": "Malignant neoplasm of nasopharynx",
    "148": "Malignant neoplasm of hypopharynx",
    "149": "Malignant neoplasm of other and ill-defined sites within the lip, oral cavity, and pharynx",
    "150": "Malignant neoplasm of esophagus",
    "151": "Malignant neoplasm of stomach",
    "152": "Malignant neoplasm of small intestine, including duodenum",
    "153": "Malignant neoplasm of colon",
    "154": "Malignant neoplasm of rectum, rectosigmoid junction, and anus",
    "155": "Malignant neoplasm of liver and intrahepatic bile ducts",
    "156": "Malignant neoplasm of gallbladder and extrahepatic bile ducts",
    "157": "Malignant neoplasm of pancreas",
    "158": "Malignant neoplasm of retroperitoneum and peritoneum",
    "159": "Malignant neoplasm of other and ill-defined sites within the digestive organs and peritoneum",
    "160": "Malignant neoplasm of nasal cavities, middle ear, and accessory sinuses",
    "161": "Malignant neoplasm of larynx",
    "162": "Malignant neoplasm of trachea, bronchus, and lung",
    "163": "Malignant neoplasm of pleura",
    "164": "Malignant neoplasm of thymus, heart, and mediastinum",
    "165": "Malignant neoplasm of other and ill-defined sites within the respiratory system and intrathoracic organs",
    "170": "Malignant neoplasm of bone and articular cartilage",
    "171": "Malignant neoplasm of connective and other soft tissue",
    "172": "Malignant melanoma of skin",
    "173": "Other and unspecified malignant neoplasm of skin",
    "174": "Malignant neoplasm of female breast",
    "175": "Malignant neoplasm of male breast",
    "176": "Kaposi's sarcoma",
    "179": "Malignant neoplasm of uterus, part unspecified",
    "180": "Malignant neoplasm of cervix uteri",
    "181": "Malignant neoplasm of placenta",
    "182": "Malignant neoplasm of body of uterus",
    "183": "Malignant neoplasm of ovary and other uterine adnexa",
    "184": "Malignant neoplasm of other and unspecified female genital organs",
    "185": "Malignant neoplasm of prostate",
    "186": "Malignant neoplasm of testis",
    "187": "Malignant neoplasm of penis and other male genital organs",
    "188": "Malignant neoplasm of bladder",
    "189": "Malignant neoplasm of kidney and other and unspecified urinary organs",
    "190": "Malignant neoplasm of eye",
    "191": "Malignant neoplasm of brain",
    "192": "Malignant neoplasm of other and unspecified parts of nervous system",
    "193": "Malignant neoplasm of thyroid gland",
    "194": "Malignant neoplasm of other endocrine glands and related structures",
    "195": "Malignant neoplasm of other and ill-defined sites",
    "196": "Secondary and unspecified malignant neoplasm of lymph nodes",
    "197": "Secondary malignant neoplasm of respiratory and digestive systems",
    "198": "Secondary malignant neoplasm of other specified sites",
    "199": "Malignant neoplasm without specification of site",
    "200": "Lymphosarcoma and reticulosarcoma and other specified malignant tumors of lymphatic tissue",
    "201": "Hodgkin's disease",
    "202": "Other malignant neoplasms of lymphoid and histiocytic tissue",
    "203": "Multiple myeloma and immunoproliferative neoplasms",
    "204": "Lymphoid leukemia",
    "205": "Myeloid leukemia",
    "206": "Monocytic leukemia",
    "207": "Other specified leukemia",
    "208": "Leukemia of unspecified cell type",
    "238": "Neoplasm of uncertain behavior of other and unspecified sites and tissues",
    "273": "Disorders of plasma protein metabolism",
    "279": "Disorders involving the immune mechanism",
    "579": "Intestinal malabsorption",
    "581": "Nephrotic syndrome",
    "V42": "Organ or tissue replaced by transplant",
}


def in_range(code: str, start: str, end: str) -> bool:
    """SPEC §3: a code lies in a range when its first characters lie between the endpoints."""
    n = max(len(start), len(end))
    return len(code) >= n and start <= code[: len(start)] and code[: len(end)] <= end


def main(mimic_root: Path) -> None:
    ranges = [
        (
            r["code_system"].lower(),
            r["range_start"].replace(".", ""),
            r["range_end"].replace(".", ""),
        )
        for r in csv.DictReader(RANGES.open(encoding="utf-8"))
        if r["rule"] == "include"
    ]
    # Category rows for every range, so a code always finds at least its category's title.
    found = {("icd9", code): (title, TABULAR_SOURCE) for code, title in ICD9_CATEGORIES.items()}
    with gzip.open(mimic_root / "hosp" / "d_icd_diagnoses.csv.gz", "rt", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            system = "icd10" if row["icd_version"] == "10" else "icd9"
            code = row["icd_code"].strip().upper()
            if any(s == system and in_range(code, a, b) for s, a, b in ranges):
                found[(system, code)] = (row["long_title"].strip(), MIMIC_SOURCE)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["code_system", "code", "description", "source"])
        for (system, code), (title, source) in sorted(found.items()):
            writer.writerow([system.upper(), code, title, source])
    print(f"wrote {len(found)} titles to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/data/mimic-iv-demo-2.2")
