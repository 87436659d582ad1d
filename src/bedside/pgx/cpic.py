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
                    actionable=bool(r.get("dosingInformation") or r.get("alternateDrugAvailable")
                                    or r.get("otherPrescribingGuidance"))))
    return out
