"""Tiering speed: 100,000 annotated somatic variants through oncogenicity, tumor-type matching, AMP tiers and
therapy options (the work `bedside tier` / `bedside case` do after reading the VCF).

    .venv/bin/python benchmarks/tier_speed.py [--variants 100000] [--repeat 3] [--tumor-type LUAD] [--seed 1]

Findings are generated (seeded) the way the annotator returns them: a gene, an HGVS p. change and Sequence
Ontology consequence, a population AF for ~30 %, a ClinVar record for ~5 %. The mix is drawn so that it
exercises every path: ~10 % knowledge-base biomarkers (exact changes, codons, ranges, in-frame deletions,
truncating variants in BRCA1/2/ATM/PTEN), ~20 % other changes at cancerhotspots residues, ~10 % truncating
variants in other genes, the rest missense / synonymous / in-frame changes in ~400 genes. Prints the load
average, then per round the wall and CPU seconds and variants per second, and the median. Target: 100,000
variants in <= 10 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

from bedside.annotate.hgvs import AA3
from bedside.knowledge import load_knowledge, therapy_options, tier_findings
from bedside.knowledge.oncogenicity import load_resources
from bedside.model import ClinVarRecord, Consequence, Finding, Origin, Variant

AAS = [a for a in AA3 if a not in "*UX"]


def make_findings(n: int, kb, seed: int = 1) -> list[Finding]:
    rng = random.Random(seed)
    hot = list(load_resources().residues.values())
    kb_changes = [(e.evidence.gene, c) for e in kb.entries for c in e.changes if c.alt]
    genes = sorted({h.gene for h in hot} | {e.evidence.gene for e in kb.entries}) + [f"GENE{i}" for i in range(150)]
    out = []
    for i in range(n):
        r = rng.random()
        cons = "missense_variant"
        if r < 0.06:
            gene, ch = rng.choice(kb_changes)
            hp = f"p.{ch.ref}{ch.pos}{ch.alt}"
        elif r < 0.08:
            gene, hp, cons = "EGFR", f"p.Glu746_Ala{750 + rng.randint(0, 4)}del", "inframe_deletion"
        elif r < 0.10:
            gene = rng.choice(["BRCA1", "BRCA2", "ATM", "PTEN", "PALB2", "CDK12"])
            hp, cons = f"p.{AA3[rng.choice(AAS)]}{rng.randint(10, 1500)}Ter", "stop_gained"
        elif r < 0.30:
            h = rng.choice(hot)
            gene = h.gene
            hp = f"p.{AA3.get(h.residue[0], 'Ala')}{h.position}{AA3[rng.choice(AAS)]}"
        elif r < 0.40:
            gene = rng.choice(genes)
            hp, cons = f"p.{AA3[rng.choice(AAS)]}{rng.randint(1, 2000)}fs", "frameshift_variant"
        elif r < 0.50:
            gene = rng.choice(genes)
            aa = AA3[rng.choice(AAS)]
            hp, cons = f"p.{aa}{rng.randint(1, 2000)}=", "synonymous_variant"
        else:
            gene = rng.choice(genes)
            hp = f"p.{AA3[rng.choice(AAS)]}{rng.randint(1, 2000)}{AA3[rng.choice(AAS)]}"
        clinvar = None
        if rng.random() < 0.05:
            clinvar = ClinVarRecord(clnsig=rng.choice(["Pathogenic", "Likely_benign", "Benign",
                                                       "Uncertain_significance"]), stars=rng.randint(0, 3))
        af = rng.choice([1e-5, 1e-4, 0.003, 0.02, 0.3]) if rng.random() < 0.3 else None
        out.append(Finding(Variant("chr1", 1000 + i, "A", "G"), Origin.SOMATIC,
                           consequence=Consequence(gene=gene, hgvs_p=hp, consequence=cons),
                           population_af=af, clinvar=clinvar))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tumor-type", default="LUAD")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    t0 = time.perf_counter()
    kb = load_knowledge()
    load_resources()
    print(f"knowledge base loaded in {time.perf_counter() - t0:.2f} s ({len(kb.entries)} statements, "
          f"{len(kb.oncotree)} OncoTree codes); load average {os.getloadavg()[0]:.2f}")
    walls = []
    for rnd in range(1, args.repeat + 1):
        findings = make_findings(args.variants, kb, seed=args.seed)
        c0, w0 = time.process_time(), time.perf_counter()
        tier_findings(findings, args.tumor_type, kb)
        opts = therapy_options(findings)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        walls.append(wall)
        tiers = {}
        for f in findings:
            tiers[f.tier.value] = tiers.get(f.tier.value, 0) + 1
        print(f"round {rnd}: {args.variants} variants tiered in {wall:.2f} s wall, {cpu:.2f} s CPU "
              f"({args.variants / wall:,.0f} variants/s); tiers {dict(sorted(tiers.items()))}; "
              f"{len(opts)} therapy options")
    med = statistics.median(walls)
    print(f"median: {med:.2f} s for {args.variants} variants (target <= 10 s): {'PASS' if med <= 10 else 'FAIL'}")


if __name__ == "__main__":
    main()
