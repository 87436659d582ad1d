"""CPIC recommendations per drug from PharmCAT's ``cpic-guidelines/*.json`` files.

Each recommendation is keyed (``lookupKey``) by gene -> phenotype or activity score, as assigned by the
gene phenotype tables. A recommendation applies when every gene in its key matches the patient's call.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from bedside.errors import KnowledgeError
from bedside.model import Citation, Recommendation


@dataclass
class Guideline:
    name: str
    drugs: list[str]
    genes: list[str]
    version: str
    url: str | None
    pmids: list[str]
    recommendations: list[dict]
    source_path: str

    def citations(self) -> list[Citation]:
        out = []
        for i, pmid in enumerate(self.pmids or [None]):
            out.append(Citation(source=f"CPIC: {self.name}", pmid=pmid, url=self.url if i == 0 else None,
                                version=self.version))
        return out


def html_to_text(s: str) -> str:
    s = re.sub(r"<h4[^>]*>(.*?)</h4>", r" \1: ", s or "")
    s = re.sub(r"<[^>]+>", " ", s)
    return re.sub(r"\s+", " ", html.unescape(s)).strip()


def _actionable(rec: dict, phenotypes: list[str]) -> bool:
    """A recommendation changes prescribing (dose, alternative drug or other guidance) and is not the
    guidance for a normal phenotype (e.g. tamoxifen + CYP2D6 normal metabolizer: "avoid CYP2D6
    inhibitors" is general advice, not a genotype-driven change)."""
    if phenotypes and all(_is_normal(p) for p in phenotypes):
        return False
    return bool(rec.get("dosingInformation") or rec.get("alternateDrugAvailable")
                or rec.get("otherPrescribingGuidance"))


def _is_normal(phenotype: str) -> bool:
    p = phenotype.lower()
    return p.startswith("normal ") or p in ("normal", "2.0")


def load_guideline(path: str | Path) -> Guideline:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        g = data["guideline"]
        drugs = sorted({c["name"] for c in g.get("relatedChemicals", [])})
        genes = [x["symbol"] for x in g.get("relatedGenes", []) if x.get("symbol")]
        version = f"guideline v{g.get('version')} ({data.get('version')})"
        pmids = [c["pmid"] for c in data.get("citations", []) if c.get("pmid")]
        recs = data.get("recommendations", [])
        for r in recs:
            r["lookupKey"]
        name = g["name"].removeprefix("Annotation of ")
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise KnowledgeError(f"not a CPIC guideline file: {exc}", path=path) from exc
    return Guideline(name, drugs, genes, version, g.get("url"), pmids, recs, str(path))


def load_guidelines(directory: str | Path) -> list[Guideline]:
    directory = Path(directory)
    if not directory.is_dir():
        raise KnowledgeError("CPIC guideline directory not found", path=directory)
    return [load_guideline(p) for p in sorted(directory.glob("*.json"))]


# CPIC guidelines for bundled phenotype genes whose CPIC recommendation data are NOT in the bundle: no CPIC
# data file (PharmCAT cpic-guidelines/ format) was available offline when this was curated (2026-12-01), and
# recommendation text is never written from memory. A called gene gets a visible "not curated" entry naming
# the guideline, so the report says so instead of staying silent. Citations checked against PubMed / the
# publisher DOI (curated 2026-12-01).
NOT_CURATED = [
    {"gene": "UGT1A1", "drug": "atazanavir", "guideline": "CPIC Guideline for UGT1A1 and Atazanavir Prescribing",
     "pmid": "26417955", "url": "https://cpicpgx.org/guidelines/guideline-for-atazanavir-and-ugt1a1/",
     "version": "Clin Pharmacol Ther 2016;99(4):363-369"},
    {"gene": "CYP3A5", "drug": "tacrolimus", "guideline": "CPIC Guidelines for CYP3A5 Genotype and Tacrolimus Dosing",
     "pmid": None, "url": "https://doi.org/10.1002/cpt.113", "version": "Clin Pharmacol Ther 2015;98(1):19-24"},
    {"gene": "G6PD", "drug": "drugs classified in the CPIC G6PD guideline",
     "guideline": "Expanded CPIC Guideline for Medication Use in the Context of G6PD Genotype",
     "pmid": "36049896", "url": "https://cpicpgx.org/", "version": "Clin Pharmacol Ther 2023;113(5):973-985"},
]
NOT_CURATED_DATE = "2026-12-01"


def not_curated_for(genes: set[str], covered_drugs: set[str]) -> list[Recommendation]:
    out = []
    for e in NOT_CURATED:
        if e["gene"] in genes and e["drug"] not in covered_drugs:
            out.append(Recommendation(
                drug=e["drug"], gene=e["gene"], actionable=None, classification="not curated",
                text=(f"CPIC has a guideline for {e['drug']} and {e['gene']}, but its recommendations are not "
                      f"curated in this knowledge base (no CPIC data file was available; checked "
                      f"{NOT_CURATED_DATE}). Consult the current guideline."),
                citations=[Citation(source=f"CPIC: {e['guideline']}", pmid=e["pmid"], url=e["url"],
                                    version=e["version"], date=NOT_CURATED_DATE)]))
    return out


def recommend_for(guidelines: list[Guideline], keys: dict[str, list[tuple[str, str | None]]]) -> list[Recommendation]:
    """``keys``: gene -> possible (lookup key, phenotype) pairs (several when the call is ambiguous)."""
    out: list[Recommendation] = []
    for g in guidelines:
        if not any(gene in keys for gene in g.genes):
            continue
        if not g.recommendations:
            out.append(Recommendation(
                drug=", ".join(g.drugs), gene=", ".join(gn for gn in g.genes if gn in keys),
                text="The CPIC data for this guideline hold no phenotype-keyed recommendation (the guideline "
                     "gives a dosing algorithm); consult the guideline.",
                citations=g.citations()))
            continue
        for r in g.recommendations:
            lk: dict[str, str] = r["lookupKey"]
            if not all(gene in keys for gene in lk):
                continue
            options = [[(k, p) for k, p in keys[gene] if k == want] for gene, want in lk.items()]
            if not all(options):
                continue
            ambiguous = any(len(keys[gene]) > 1 for gene in lk)
            text = html_to_text(r.get("text", {}).get("html", ""))
            pop = r.get("population")
            if pop and pop != "general":
                text = f"[population: {pop}] {text}"
            if ambiguous:
                text = f"[applies if the ambiguous call resolves to {lk}] {text}"
            pheno = "; ".join(f"{gene} {opts[0][1] or opts[0][0]}" for gene, opts in zip(lk, options))
            for drug in sorted({c["name"] for c in r.get("relatedChemicals", [])} or set(g.drugs)):
                out.append(Recommendation(
                    drug=drug, text=text, gene=", ".join(lk), phenotype=pheno,
                    classification=(r.get("classification") or {}).get("term"),
                    citations=g.citations(),
                    actionable=_actionable(r, [opts[0][1] or opts[0][0] for opts in options])))
    return out
