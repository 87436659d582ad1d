"""CPIC coverage of the therapies added for issue 10 (H11): combination regimens reach the CPIC checks through
their ingredients, and the CPIC guidelines still without bundled recommendation data stay visible."""

from __future__ import annotations

import pytest

from bedside import knowledge
from bedside.clinical import evaluate, prescribing_view
from bedside.clinical.rules import split_therapy
from bedside.clinical.vocab import load_vocabulary
from bedside.io.clinical import context_from_row
from bedside.model import Diplotype
from bedside.pgx import recommend
from bedside.pgx.cpic import NOT_CURATED

DPYD_IM = Diplotype(gene="DPYD", diplotypes=["Reference/c.1905+1G>A (*2A)"], phenotype="Intermediate Metabolizer",
                    activity_score=1.0)
BREAKWATER = "encorafenib + cetuximab + fluorouracil + leucovorin + oxaliplatin"


def test_breakwater_regimen_is_in_the_kb_as_its_ingredients():
    kb = knowledge.load_knowledge()
    rows = [e.evidence for e in kb.entries if e.evidence.therapy == BREAKWATER]
    assert rows and {e.gene for e in rows} == {"BRAF"} and {e.tumor_type for e in rows} == {"COADREAD"}
    vocab = load_vocabulary()
    assert [vocab.resolve(p) for p in split_therapy(BREAKWATER)] == [
        "encorafenib", "cetuximab", "fluorouracil", "leucovorin", "oxaliplatin"]
    assert vocab.in_class("fluorouracil", "fluoropyrimidine")


def test_dpyd_intermediate_metabolizer_modifies_the_fluorouracil_of_the_regimen():
    ctx = context_from_row({"patient_id": "BW", "medications": ""})
    recs = recommend([DPYD_IM])
    views = {v.drug: v for v in prescribing_view(ctx, [BREAKWATER], [DPYD_IM], recs,
                                                 evaluate(ctx, [BREAKWATER], [DPYD_IM], recs))}
    assert {"encorafenib", "cetuximab", "fluorouracil", "leucovorin", "oxaliplatin"} <= set(views)
    fu = views["fluorouracil"]
    pgx = [m for m in fu.modifiers if m.category == "gene-drug"]
    assert pgx and "DPYD Intermediate Metabolizer" in pgx[0].reason and pgx[0].effect == "dose_decrease"
    assert fu.urgency == "alert"
    assert not [m for m in views["oxaliplatin"].modifiers if m.category == "gene-drug"]


@pytest.mark.parametrize("entry", NOT_CURATED, ids=[e["gene"] for e in NOT_CURATED])
def test_uncurated_cpic_guidelines_stay_visible_with_their_citation(entry):
    """UGT1A1-atazanavir, CYP3A5-tacrolimus and G6PD: no CPIC recommendation data file could be found
    (checked 2026-12-01 in cpicpgx/cpic-data, PharmGKB/PharmCAT and the shared PharmCAT resource folder), so a
    called gene gets a 'not curated' entry naming the guideline, never an invented recommendation."""
    phenotype = "Normal" if entry["gene"] == "G6PD" else "Normal Metabolizer"
    dip = Diplotype(gene=entry["gene"], diplotypes=["*1/*1"], phenotype=phenotype)
    recs = [r for r in recommend([dip]) if r.gene == entry["gene"]]
    nc = [r for r in recs if r.classification == "not curated"]
    assert len(nc) == 1 and nc[0].drug == entry["drug"] and nc[0].actionable is None
    assert "not curated" in nc[0].text and nc[0].citations[0].source.startswith("CPIC: ")
    assert (nc[0].citations[0].pmid or nc[0].citations[0].url)
