"""Speed of PGx calling (full PharmCAT definitions) and of the clinical join. Prints figures.

    .venv/bin/python benchmarks/pgx_clinical_speed.py [--samples 200] [--patients 5000]

PGx: a multi-sample VCF over every position of PharmCAT's GRCh38 definitions (../shared/data/pgx-pharmcat;
skipped when absent), genotypes drawn per sample from pairs of real named alleles (seeded), then
`call_genes` + `recommend` for all samples. Clinical: a generated table of N patients parsed and every
patient evaluated against two therapies.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / "../shared/data/pgx-pharmcat"
GENES = ["CYP2C19", "CYP2C9", "VKORC1", "DPYD", "TPMT", "NUDT15", "UGT1A1", "SLCO1B1", "CYP3A5"]


def pgx(n_samples: int, tmp: Path) -> None:
    from bedside.pgx import call_genes, recommend
    from bedside.pgx.definitions import IUPAC, load_definitions

    if not (SHARED / "alleles").is_dir():
        print("pgx: shared PharmCAT definitions absent, skipped")
        return
    rng = random.Random(7)
    defs = load_definitions(SHARED / "alleles", GENES)
    samples = [f"S{i:04d}" for i in range(n_samples)]
    recs = []
    for d in defs.values():
        ref = d.reference_allele

        def hap(a, ref=ref):
            return [x if x and (len(x) > 1 or x in "ACGT") else (min(IUPAC[x]) if x else ref.alleles[i])
                    for i, x in enumerate(a.alleles)]
        # mostly reference, sometimes one or two named alleles (DPYD: at most one variant allele)
        picks = []
        for _ in samples:
            a = ref if rng.random() < 0.6 else rng.choice(d.alleles)
            b = ref if rng.random() < 0.8 or d.gene == "DPYD" else rng.choice(d.alleles)
            picks.append((hap(a), hap(b)))
        for i, p in enumerate(d.positions):
            alts = list(p.alts)
            gts = []
            for h1, h2 in picks:
                for x in (h1[i], h2[i]):
                    if x != p.ref and x not in alts:
                        alts.append(x)
                idx = {x: n for n, x in enumerate([p.ref, *alts])}
                gts.append(f"{idx[h1[i]]}/{idx[h2[i]]}")
            recs.append((p.chrom, p.pos, p.rsid or ".", p.ref, ",".join(alts), gts))
    recs.sort(key=lambda r: (r[0], r[1]))
    vcf = tmp / "bench.vcf"
    with open(vcf, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n" + "".join(f"##contig=<ID={c}>\n" for c in sorted({r[0] for r in recs})))
        fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        fh.write("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]) + "\n")
        for c, pos, rs, ref, alt, gts in recs:
            fh.write("\t".join([c, str(pos), rs, ref, alt, ".", "PASS", ".", "GT", *gts]) + "\n")
    t0 = time.perf_counter()
    calls = call_genes(vcf, SHARED / "alleles", genes=GENES)
    t1 = time.perf_counter()
    n_recs = sum(len(recommend(d)) for d in calls.values())
    t2 = time.perf_counter()
    n_calls = sum(len(v) for v in calls.values())
    ambiguous = sum(1 for v in calls.values() for d in v if len(d.diplotypes) > 1)
    uncalled = sum(1 for v in calls.values() for d in v if not d.diplotypes)
    print(f"pgx: {n_samples} samples x {len(GENES)} genes, {len(recs)} positions: call_genes {t1 - t0:.2f} s "
          f"({(t1 - t0) / n_calls * 1000:.2f} ms per sample-gene), recommend {t2 - t1:.2f} s "
          f"({n_recs} recommendations); ambiguous calls {ambiguous}, not called {uncalled}")


def clinical(n_patients: int, tmp: Path) -> None:
    from bedside.clinical import evaluate, load_patients
    from bedside.io.clinical import COLUMNS
    from bedside.model import Diplotype
    from bedside.pgx import recommend

    rng = random.Random(11)
    meds = ["warfarin", "omeprazole", "ketoconazole", "metformin", "Plavix", "7646", "ciprofloxacin", ""]
    rows = ["\t".join(COLUMNS)]
    for i in range(n_patients):
        rows.append("\t".join([
            f"P{i}", str(rng.randint(20, 90)), rng.choice(["female", "male"]), rng.choice(["LUAD", "COAD", "SKCM"]),
            "; ".join(rng.sample(meds, 2)).strip("; "), f"creatinine_clearance={rng.randint(20, 120)} mL/min",
            rng.choice(["current", "former", "never", ""]), "", "", "", rng.choice(["grapefruit", "none", ""])]))
    table = tmp / "clinical.tsv"
    table.write_text("\n".join(rows) + "\n")
    t0 = time.perf_counter()
    pts = load_patients(table)
    t1 = time.perf_counter()
    dips = [Diplotype(gene="DPYD", diplotypes=["Reference/c.1905+1G>A (*2A)"], phenotype="Intermediate Metabolizer",
                      activity_score=1.0)]
    recs = recommend(dips)
    n = sum(len(evaluate(ctx, ["erlotinib", "capecitabine + oxaliplatin"], dips, recs)) for ctx in pts.values())
    t2 = time.perf_counter()
    print(f"clinical: parse+validate {n_patients} patients {t1 - t0:.2f} s ({(t1 - t0) / n_patients * 1e3:.2f} ms "
          f"each); rules for 2 therapies {t2 - t1:.2f} s ({n} results, {(t2 - t1) / n_patients * 1e3:.2f} ms "
          f"per patient)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--patients", type=int, default=5000)
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    with tempfile.TemporaryDirectory() as d:
        pgx(a.samples, Path(d))
        clinical(a.patients, Path(d))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
