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


def _actionable(rec: dict, phenotypes: list[str], same_as_normal: bool = False) -> bool:
    """A recommendation changes prescribing (dose, alternative drug or other guidance, as CPIC/PharmGKB flag
    it) and is not merely the guidance every patient gets:

    - a normal phenotype's recommendation counts only when it changes the dose or the drug (tacrolimus +
      CYP3A5 normal metabolizer: increase the starting dose), not for other guidance alone (tamoxifen +
      CYP2D6 normal metabolizer: "avoid CYP2D6 inhibitors" is general advice);
    - a recommendation whose text is the normal phenotype's text is not genotype-driven (atazanavir + UGT1A1
      intermediate metabolizer: "no need to avoid", as for a normal metabolizer);
    - CPIC's own per-drug records (the G6PD drugs taken from CPIC v1.30.0) carry no flags: they count unless
      the phenotype is normal or the text is CPIC's "No reason to avoid based on G6PD status" wording.
    """
    flagged = any(k in rec for k in ("dosingInformation", "alternateDrugAvailable", "otherPrescribingGuidance"))
    normal = bool(phenotypes) and all(_is_normal(p) for p in phenotypes)
    if not flagged:
        text = _main_text(rec)
        return not normal and not same_as_normal and bool(text) and not text.lower().startswith("no reason to avoid")
    if normal:
        return bool(rec.get("dosingInformation") or rec.get("alternateDrugAvailable"))
    if same_as_normal:
        return False
    return bool(rec.get("dosingInformation") or rec.get("alternateDrugAvailable")
                or rec.get("otherPrescribingGuidance"))


def _main_text(rec: dict) -> str:
    """The recommendation proper (before CPIC's "Other Considerations")."""
    return html_to_text((rec.get("text") or {}).get("html", "").split("<h4")[0])


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
        version = (f"{g['versionText']} ({data.get('version')})" if g.get("versionText")
                   else f"guideline v{g.get('version')} ({data.get('version')})")
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


# CPIC guidelines for bundled phenotype genes whose CPIC recommendation data are NOT in the bundle. A called
# gene gets a visible "not curated" entry naming the guideline, so the report says so instead of staying
# silent; recommendation text is never written from memory. Entry format: {"gene", "drug", "guideline",
# "pmid", "url", "version"}. Empty since 2026-12-01: UGT1A1-atazanavir, CYP3A5-tacrolimus and G6PD are
# bundled from CPIC data (see data/SOURCE.md).
NOT_CURATED: list[dict] = []
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


def _drugs(rec: dict, g: Guideline) -> list[str]:
    return sorted({c["name"] for c in rec.get("relatedChemicals", [])} or set(g.drugs))


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
        # drug -> text(s) of the normal phenotype's recommendation when that changes nothing (a phenotype given
        # the same advice is not actionable either; CYP3A5 normal metabolizers get a dose change, so not there)
        normal_texts: dict[str, set[str]] = {}
        for r in g.recommendations:
            lk_values = list(r["lookupKey"].values())
            if all(_is_normal(v) for v in lk_values) and not _actionable(r, lk_values):
                for drug in _drugs(r, g):
                    normal_texts.setdefault(drug, set()).add(_main_text(r))
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
            for drug in _drugs(r, g):
                out.append(Recommendation(
                    drug=drug, text=text, gene=", ".join(lk), phenotype=pheno,
                    classification=(r.get("classification") or {}).get("term"),
                    citations=g.citations(),
                    actionable=_actionable(r, [opts[0][1] or opts[0][0] for opts in options],
                                           same_as_normal=_main_text(r) in normal_texts.get(drug, set()))))
    return out
