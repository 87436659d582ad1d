"""Look-up helpers for `bedside tier`: a (gene, hgvs_p, tumor_type) table -> Findings, and flat rows."""

from __future__ import annotations

import csv
from pathlib import Path

from bedside.annotate.hgvs import is_hgvs_p, parse_protein_change
from bedside.errors import InputError
from bedside.knowledge.match import in_type
from bedside.knowledge.oncotree import OncoTree, default_oncotree
from bedside.model import Consequence, Finding, Origin, Variant


def consequence_from_hgvs_p(hgvs_p: str) -> str:
    """Sequence Ontology term implied by an HGVS p. expression (for look-ups without a VCF)."""
    hp = hgvs_p.strip()
    if hp.endswith(("=", "=)")):
        return "synonymous_variant"
    if "fs" in hp:
        return "frameshift_variant"
    if "ext" in hp:
        return "stop_lost"
    if hp.endswith(("Ter", "*", "X")):
        return "stop_gained"
    if hp.startswith("p.Met1") and hp.endswith("?"):
        return "start_lost"
    if "delins" in hp:
        return "protein_altering_variant"
    if "del" in hp:
        return "inframe_deletion"
    if "ins" in hp or "dup" in hp:
        return "inframe_insertion"
    return "missense_variant"


def normalise_hgvs_p(text: str) -> str:
    """1-letter simple substitutions become 3-letter (p.V600E -> p.Val600Glu); others are kept."""
    t = text.strip()
    if not t.startswith("p."):
        t = "p." + t
    try:
        pc = parse_protein_change(t)
    except ValueError:
        return t
    if pc.alt is None:
        return t
    return f"p.{pc.ref}{pc.pos}{'=' if pc.alt == pc.ref else pc.alt}"


def findings_from_table(path: Path, default_tumor: str | None = None, *, oncotree: OncoTree | None = None,
                        errors: list[str] | None = None) -> dict[str, list[Finding]]:
    """Rows of gene / hgvs_p / tumor_type -> findings grouped by tumor type (input order kept).

    Tumor types are checked against OncoTree (the bundled release unless ``oncotree`` is given): an unknown
    code raises InputError naming the file, the line and the code. With ``errors`` (a list), such rows are
    recorded there as messages and skipped, so the other rows are still tiered (``bedside tier --keep-going``).
    """
    if not path.exists():
        raise InputError("input table not found", path=path)
    tree = oncotree or default_oncotree()
    groups: dict[str, list[Finding]] = {}
    with open(path, newline="") as fh:
        reader = csv.DictReader((ln for ln in fh if not ln.startswith("#")), delimiter="\t")
        cols = reader.fieldnames or []
        for need in ("gene", "hgvs_p"):
            if need not in cols:
                raise InputError(f"missing column {need!r} (need gene, hgvs_p, tumor_type)", path=path, line=1)
        for lineno, row in enumerate(reader, 2):
            gene = (row.get("gene") or "").strip()
            hp = (row.get("hgvs_p") or "").strip()
            tumor = ((row.get("tumor_type") or "").strip() or (default_tumor or "")).upper()
            if not gene or not hp:
                raise InputError("empty gene or hgvs_p", path=path, line=lineno)
            if not tumor:
                raise InputError("no tumor_type (column empty and no --tumor-type)", path=path, line=lineno)
            if tumor not in tree:
                err = InputError(tree.unknown_message(tumor), path=path, line=lineno, record=f"{gene} {hp}")
                if errors is None:
                    raise err
                errors.append(str(err))
                continue
            norm = normalise_hgvs_p(hp)
            if not is_hgvs_p(norm):
                raise InputError(f"malformed HGVS protein change {hp!r}", path=path, line=lineno)
            f = Finding(variant=Variant(chrom=".", pos=0, ref=".", alt=".", id=f"{gene}:{norm}"),
                        origin=Origin.SOMATIC,
                        consequence=Consequence(gene=gene, hgvs_p=norm, consequence=consequence_from_hgvs_p(norm)))
            groups.setdefault(tumor, []).append(f)
    return groups


def _cite(e) -> str:
    parts = []
    for c in e.citations:
        parts.append(f"{c.source}" + (f" PMID:{c.pmid}" if c.pmid else ""))
    return "; ".join(dict.fromkeys(parts))


def tier_table_rows(findings: list[Finding], tumor: str, *, oncogenicity: bool = False) -> list[dict[str, str]]:
    """One flat row per finding for `bedside tier --out-tsv` (with ``oncogenicity``: its class and points)."""
    rows = []
    for f in findings:
        c = f.consequence
        here = [e for e in f.evidence if in_type(e)]
        shown = here or [e for e in f.evidence if e.patient_level is not None]
        sens = sorted({e.therapy for e in shown if e.direction == "sensitivity"})
        res = sorted({e.therapy for e in shown if e.direction == "resistance"})
        rows.append({
            "gene": c.gene if c else "", "hgvs_p": (c.hgvs_p or "") if c else "", "tumor_type": tumor,
            "variant": f.variant.key if f.variant.pos else "", "consequence": c.consequence if c else "",
            "tier": f.tier.value if f.tier else "",
            "therapies_sensitive": ";".join(sens), "therapies_resistant": ";".join(res),
            "evidence_levels": ";".join(f"{e.therapy}:{e.direction}:{e.patient_level or '-'}:{e.tumor_type}"
                                        for e in f.evidence),
            "citations": " | ".join(dict.fromkeys(_cite(e) for e in f.evidence)),
            "evidence_ids": ";".join(e.source_id or "" for e in f.evidence),
        })
        if oncogenicity:
            onc = f.oncogenicity
            rows[-1]["oncogenicity"] = f"{onc.classification} ({onc.points:+d})" if onc else ""
    return rows
