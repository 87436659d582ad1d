"""Build the bundled CPIC subset (``bedside/pgx/data``) from a PharmCAT resource folder.

CPIC content is CC0. Phenotype tables are reduced without changing any answer: only the named-allele
function/activity list and enough diplotype rows that every diplotype of the full table still maps to
the same phenotype and lookup key (checked here). Guideline files keep their recommendations, guideline
name, version and PMIDs. Run: ``python -m bedside.pgx.bundle ../shared/data/pgx-pharmcat``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from bedside.pgx.phenotype import load_phenotype_table

DATA = Path(__file__).parent / "data"
GENES = ["CYP2C19", "CYP2C9", "VKORC1", "DPYD", "TPMT", "NUDT15", "UGT1A1", "SLCO1B1", "CYP3A5"]
GUIDELINES = [
    "CPIC_clopidogrel_and_CYP2C19.json", "CPIC_voriconazole_and_CYP2C19.json",
    "CPIC_capecitabine_and_DPYD.json", "CPIC_fluorouracil_and_DPYD.json",
    "CPIC_azathioprine_and_NUDT15_TPMT.json", "CPIC_mercaptopurine_and_NUDT15_TPMT.json",
    "CPIC_simvastatin_and_SLCO1B1.json", "CPIC_warfarin_and_CYP2C9_CYP4F2_VKORC1.json",
    "CPIC_tamoxifen_and_CYP2D6.json",  # CYP2D6 from an outside call (PharmCAT does not call it from VCF)
]
# UGT1A1-atazanavir, CYP3A5-tacrolimus and G6PD come from PharmCAT's history: data/build_extra.py
# (SOURCE.md, written by hand, records both builds' provenance)


def reduce_table(data: dict) -> dict:
    func = {n["name"]: n.get("functionValue") for n in data["namedAlleles"]}
    keep, seen = [], set()
    for e in data["diplotypes"]:
        names = [n for n, c in e["diplotypekey"].items() for _ in range(c)]
        sig = ("score", e["activityScore"]) if e.get("activityScore") not in (None, "n/a") else \
            ("func", frozenset(Counter(func.get(n) for n in names).items()))
        if sig not in seen:
            seen.add(sig)
            keep.append(e)
    out = {k: data[k] for k in ("gene", "version") if k in data}
    out["namedAlleles"] = data["namedAlleles"]
    out["activityValues"] = data.get("activityValues", {})
    out["diplotypes"] = keep
    return out


def build_bundle(pharmcat_dir: str | Path, out_dir: str | Path = DATA) -> None:
    src, out = Path(pharmcat_dir), Path(out_dir)
    (out / "phenotypes").mkdir(parents=True, exist_ok=True)
    (out / "guidelines").mkdir(parents=True, exist_ok=True)
    for gene in GENES:
        full = json.loads((src / "phenotypes" / f"{gene}.json").read_text())
        small = reduce_table(full)
        target = out / "phenotypes" / f"{gene}.json"
        for _ in range(5):  # add back rows until every diplotype maps identically
            target.write_text(json.dumps(small, indent=0, ensure_ascii=False) + "\n")
            table = load_phenotype_table(target)
            missing = []
            for e in full["diplotypes"]:
                names = [n for n, c in e["diplotypekey"].items() for _ in range(c)]
                got = table.call(*names) if len(names) == 2 else None
                if got is None or (got.phenotype, got.lookup_key) != (e["generesult"], e["lookupkey"]):
                    missing.append(e)
            if not missing:
                break
            small["diplotypes"].extend(missing)
        else:
            raise RuntimeError(f"{gene}: reduced table does not reproduce the full table")
    for name in GUIDELINES:
        data = json.loads((src / "cpic-guidelines" / name).read_text())
        for r in data["recommendations"]:
            for k in ("implications",):
                r.pop(k, None)
        (out / "guidelines" / name).write_text(json.dumps(data, indent=0, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    build_bundle(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else DATA)
