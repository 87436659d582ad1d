"""Rebuild the CPIC files added to the bundle on 2026-12-01 (UGT1A1-atazanavir, CYP3A5-tacrolimus, G6PD).

They are not in the PharmCAT resource folder ``bedside.pgx.bundle`` is built from, so they are taken from the
history of PharmGKB/PharmCAT (MPL-2.0; the CPIC content is CC0 1.0) at fixed commits:

* ``GUIDELINE_COMMIT`` (2024-03-25, the same commit the other bundled guideline files come from: their
  ``cpic-guidelines`` copies are byte-identical to it): the PharmGKB-annotation files for atazanavir,
  tacrolimus and the G6PD drugs (dapsone, methylene blue, pegloticase, rasburicase, tafenoquine, toluidine
  blue, nitrofurantoin, primaquine), copied with only ``implications`` dropped (as ``bundle.py`` does).
* ``CPIC_API_COMMIT`` (2023-08-08, CPIC database v1.30.0; the last commit holding CPIC's own per-drug
  records): the G6PD recommendations of the other drugs the CPIC G6PD guideline classifies (doxorubicin,
  sulfamethoxazole/trimethoprim, ...), re-shaped into the same guideline format: ``drugrecommendation`` ->
  ``text`` (with ``comments`` under "Other Considerations"), ``classification`` -> ``classification.term``,
  ``lookupkey`` -> ``lookupKey``; ``population`` kept. CPIC's per-drug records carry no
  dosing/alternative/other-guidance flags, so none are written (``bedside.pgx.cpic`` says how such records
  are flagged).
* ``CPIC_API_COMMIT``: the G6PD phenotype table (``phenotype/cpic/G6PD.json``, CPIC v1.30.0; every later
  version is absent from the mirror), converted to the bundle's phenotype format (``haplotypes`` ->
  ``namedAlleles`` with the WHO class as ``functionValue``), reduced as ``bundle.reduce_table`` does and checked
  to reproduce every row of the full table: hemizygous rows (one allele) are dropped because each equals the
  homozygous row of the same allele (checked here), which is how a haploid chrX call is looked up.

Run: ``python src/bedside/pgx/data/build_extra.py /work/.mirror/PharmGKB+PharmCAT/repo`` (a PharmCAT git dir).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bedside.pgx.bundle import reduce_table
from bedside.pgx.phenotype import load_phenotype_table

DATA = Path(__file__).parent
CURATED = "2026-12-01"
GUIDELINE_COMMIT = "0c6123b692d07a362d34c7b61d6a9bab779f7ad6"
CPIC_API_COMMIT = "76bfe08c85fc1b63d014445e3d7dd883cf7088cf"
GUIDELINE_DIR = "src/main/resources/org/pharmgkb/pharmcat/reporter/guidelines"
GUIDELINES = [
    "CPIC_atazanavir_and_UGT1A1.json", "CPIC_tacrolimus_and_CYP3A5.json",
    "CPIC_dapsone_methylene_blue_pegloticase_rasburicase_tafenoquine_toluidine_blue_and_G6PD.json",
    "CPIC_nitrofurantoin_and_G6PD.json", "CPIC_primaquine_and_G6PD.json",
]
G6PD_EXTRA = "CPIC_G6PD_other_drugs_cpic_v1.30.0.json"
G6PD_TABLE = "src/main/resources/org/pharmgkb/pharmcat/phenotype/cpic/G6PD.json"
LICENCE = ("CPIC content: CC0 1.0 (https://cpicpgx.org); file layout from PharmGKB/PharmCAT (MPL-2.0), "
           "no PharmCAT code")


def git_show(repo: str, commit: str, path: str) -> str:
    return subprocess.run(["git", "-C", repo, "show", f"{commit}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def provenance(commit: str, path: str, note: str) -> dict:
    return {"repository": "https://github.com/PharmGKB/PharmCAT", "commit": commit, "path": path,
            "licence": LICENCE, "curated": CURATED, "transform": note}


def write(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=0, ensure_ascii=False) + "\n")


def cpic_record(repo: str, drug: str) -> dict:
    return json.loads(git_show(repo, CPIC_API_COMMIT, f"{GUIDELINE_DIR}/cpic/{drug.replace(' ', '_')}.json"))


def guidelines(repo: str) -> set[str]:
    drugs = set()
    for name in GUIDELINES:
        data = json.loads(git_show(repo, GUIDELINE_COMMIT, f"{GUIDELINE_DIR}/{name}"))
        names = set()
        for r in data["recommendations"]:
            r.pop("implications", None)
            names |= {c["name"] for c in r.get("relatedChemicals", [])}
        note = "copied; 'implications' dropped as bedside.pgx.bundle does"
        if not data.get("citations"):  # nitrofurantoin: the annotation lists no publication
            data["citations"] = [{"pmid": c["pmid"], "title": c["title"], "year": c["year"]}
                                 for d in sorted(names) for c in cpic_record(repo, d)["citations"]]
            note += (f"; 'citations' (empty in the annotation) taken from CPIC's per-drug record at "
                     f"{CPIC_API_COMMIT[:12]}")
        data["bedside_provenance"] = provenance(GUIDELINE_COMMIT, f"{GUIDELINE_DIR}/{name}", note)
        write(DATA / "guidelines" / name, data)
        drugs |= names
    return drugs


def g6pd_other_drugs(repo: str, covered: set[str]) -> None:
    folder = f"{GUIDELINE_DIR}/cpic"
    listing = subprocess.run(["git", "-C", repo, "ls-tree", "--name-only", CPIC_API_COMMIT, folder + "/"],
                             check=True, capture_output=True, text=True).stdout.split()
    recs, chems, cites, urls, versions = [], [], {}, set(), set()
    for path in listing:
        d = json.loads(git_show(repo, CPIC_API_COMMIT, path))
        if d.get("genes") != ["G6PD"] or d["drugname"] in covered:
            continue
        chem = {"id": d["drugid"], "name": d["drugname"], "symbol": None}
        chems.append(chem)
        urls.add(d["url"])
        versions.add(d["cpicVersion"])
        for c in d["citations"]:
            cites[c["pmid"]] = {"pmid": c["pmid"], "title": c["title"], "year": c["year"]}
        for r in d["recommendations"]:
            html = f"<p>{r['drugrecommendation']}</p>\n"
            if r.get("comments"):
                html += f"<h4>Other Considerations</h4>\n<p>{r['comments']}</p>\n"
            recs.append({"population": r.get("population") or "general",
                         "classification": {"term": r["classification"]}, "relatedChemicals": [chem],
                         "text": {"html": html}, "lookupKey": r["lookupkey"]})
    assert len(urls) == 1 and len(versions) == 1, (urls, versions)
    data = {"guideline": {"name": "Expanded CPIC Guideline for Medication Use in the Context of G6PD Genotype "
                                  "(CPIC per-drug records)",
                          "source": "CPIC", "version": None, "versionText": f"CPIC {versions.pop()}",
                          "url": urls.pop(), "relatedChemicals": chems,
                          "relatedGenes": [{"symbol": "G6PD"}]},
            "recommendations": recs, "citations": list(cites.values()),
            "version": f"PharmCAT {CPIC_API_COMMIT[:12]} (2023-08-08)",
            "bedside_provenance": provenance(CPIC_API_COMMIT, folder + "/<drug>.json",
                                             "CPIC per-drug records re-shaped to the guideline format "
                                             "(drugrecommendation+comments -> text.html, classification -> "
                                             "classification.term, lookupkey -> lookupKey); no flags written")}
    write(DATA / "guidelines" / G6PD_EXTRA, data)


def g6pd_table(repo: str) -> None:
    full = json.loads(git_show(repo, CPIC_API_COMMIT, G6PD_TABLE))
    hemi = {next(iter(e["diplotypekey"])): e for e in full["diplotypes"] if sum(e["diplotypekey"].values()) == 1}
    pairs = [e for e in full["diplotypes"] if sum(e["diplotypekey"].values()) == 2]
    homo = {next(iter(e["diplotypekey"])): e for e in pairs if len(e["diplotypekey"]) == 1}
    for a, e in hemi.items():
        h = homo[a]
        assert (e["generesult"], e["lookupkey"]) == (h["generesult"], h["lookupkey"]), a
    conv = {"gene": "G6PD", "version": full["version"],
            "namedAlleles": [{"name": n, "activityValue": None, "functionValue": f, "lookupKey": f}
                             for n, f in sorted(full["haplotypes"].items())],
            "activityValues": {},
            "diplotypes": [{**e, "activityScore": None, "phenotype": e["generesult"]} for e in pairs]}
    small = reduce_table(conv)
    target = DATA / "phenotypes" / "G6PD.json"
    for _ in range(5):
        small["bedside_provenance"] = provenance(
            CPIC_API_COMMIT, G6PD_TABLE, "haplotypes -> namedAlleles (WHO class as functionValue); hemizygous "
            "rows dropped (each equals the homozygous row); reduced like bedside.pgx.bundle.reduce_table")
        write(target, small)
        table = load_phenotype_table(target)
        missing = []
        for e in full["diplotypes"]:
            names = [n for n, c in e["diplotypekey"].items() for _ in range(c)]
            got = table.call(names[0], names[-1])
            if (got.phenotype, got.lookup_key) != (e["generesult"], e["lookupkey"]):
                missing.append(e)
        if not missing:
            break
        small["diplotypes"].extend({**e, "activityScore": None, "phenotype": e["generesult"]} for e in missing
                                   if sum(e["diplotypekey"].values()) == 2)
    else:
        raise RuntimeError("G6PD: reduced table does not reproduce the full table")
    print(f"G6PD: {len(full['diplotypes'])} rows -> {len(small['diplotypes'])}; "
          f"{len(hemi)} hemizygous rows equal their homozygous rows;",
          Counter(e["generesult"] for e in full["diplotypes"]))


if __name__ == "__main__":
    covered = guidelines(sys.argv[1])
    g6pd_other_drugs(sys.argv[1], covered)
    g6pd_table(sys.argv[1])
