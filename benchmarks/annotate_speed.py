"""Annotation speed: a generated 1-million-record VCF annotated end to end vs `bcftools query` on the same file.

    .venv/bin/python benchmarks/annotate_speed.py [--records 1000000] [--repeat 3] [--threads 2] [--workdir DIR]
                                                  [--no-resources]

Generates (seeded) a 10 Mb reference over 5 contigs, an Ensembl-style GFF3 with 250 two-strand coding genes
(~45% of the genome inside a gene span incl. 5 kb up/downstream), a sorted VCF with one sample (GT:AD:DP;
90% SNVs, 10% indels), a population VCF (every 10th site) and a ClinVar-style VCF (every 100th site). Then it
times `bedside annotate` (norm + population + ClinVar + consequence + bgzip + tabix) and, in the same run,
`bcftools query -f '%CHROM\t%POS\t%REF\t%ALT\t%INFO\t[%GT:%AD]\n'` over the same bgzipped input, and prints
both and the ratio, wall and CPU (CPU = user + system of this process and its children, so it counts
bcftools, bgzip and the worker processes), for each of ``--repeat`` rounds and their medians, with the load
average (other jobs on a shared machine inflate wall time). Each round runs annotate twice: "cold" with an
empty resource cache (the normalised population/ClinVar allele table is built, and cached), then "warm"
reusing that cached table, as every VCF after the first in a workflow does.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bedside.annotate import annotate_vcf

STOPS = {"TAA", "TAG", "TGA"}


def make_inputs(work: Path, n_records: int, seed: int = 1) -> dict[str, Path]:
    rng = random.Random(seed)
    contigs = {f"chr{i}": 2_000_000 for i in range(1, 6)}
    seqs = {c: bytearray(rng.choices(b"ACGT", k=n)) for c, n in contigs.items()}
    gff = ["##gff-version 3"]
    gid = 0
    for c, n in contigs.items():
        pos = 10_000
        while pos < n - 60_000 and gid < 250:
            gid += 1
            strand = "+" if gid % 2 else "-"
            nex = rng.randint(3, 12)
            exons, p = [], pos
            for _ in range(nex):
                L = rng.randint(90, 300)
                exons.append((p, p + L - 1))
                p += L + rng.randint(300, 3000)
            start, end = exons[0][0], exons[-1][1]
            # write a clean ORF over the exons (no premature stop), UTR of 30 bp at both ends
            tx_len = sum(e - s + 1 for s, e in exons)
            cds_len = (tx_len - 60) // 3 * 3
            codons = ["ATG"] + ["".join(rng.choices("ACGT", k=3)) for _ in range(cds_len // 3 - 2)] + ["TGA"]
            codons = [("GCT" if (x in STOPS and i not in (0, len(codons) - 1)) else x) for i, x in enumerate(codons)]
            tx = "".join(rng.choices("ACGT", k=30)) + "".join(codons)
            tx += "".join(rng.choices("ACGT", k=tx_len - len(tx)))
            if strand == "-":
                tx = tx.translate(str.maketrans("ACGT", "TGCA"))[::-1]
            off = 0
            for s, e in exons:
                seqs[c][s - 1:e] = tx[off:off + e - s + 1].encode()
                off += e - s + 1
            name = f"GENE{gid}"
            gff.append(f"{c}\tbench\tgene\t{start}\t{end}\t.\t{strand}\t.\tID=gene:G{gid};Name={name};biotype=protein_coding")
            gff.append(f"{c}\tbench\tmRNA\t{start}\t{end}\t.\t{strand}\t.\tID=transcript:T{gid};Parent=gene:G{gid};biotype=protein_coding;tag=MANE_Select")
            # CDS genomic extent: transcript coords 31..30+cds_len
            order = exons if strand == "+" else exons[::-1]
            tpos = 0
            for s, e in order:
                L = e - s + 1
                gff.append(f"{c}\tbench\texon\t{s}\t{e}\t.\t{strand}\t.\tParent=transcript:T{gid}")
                a, b = max(tpos + 1, 31), min(tpos + L, 30 + cds_len)
                if a <= b:
                    gs, ge = (s + a - tpos - 1, s + b - tpos - 1) if strand == "+" else (e - (b - tpos) + 1, e - (a - tpos) + 1)
                    gff.append(f"{c}\tbench\tCDS\t{gs}\t{ge}\t.\t{strand}\t0\tParent=transcript:T{gid}")
                tpos += L
            pos = end + rng.randint(5_000, 20_000)
    fa = work / "ref.fa"
    with open(fa, "w") as fh:
        for c, s in seqs.items():
            fh.write(f">{c}\n")
            fh.writelines(s[i:i + 60].decode() + "\n" for i in range(0, len(s), 60))
    subprocess.run(["samtools", "faidx", str(fa)], check=True)
    (work / "genes.gff3").write_text("\n".join(gff) + "\n")
    # variants: evenly spread, sorted
    per = n_records // len(contigs)
    hdr = "##fileformat=VCFv4.2\n" + "".join(f"##contig=<ID={c},length={n}>\n" for c, n in contigs.items())
    vcf = work / "input.vcf"
    pop = work / "pop.vcf"
    clin = work / "clinvar.vcf"
    with open(vcf, "w") as v, open(pop, "w") as p, open(clin, "w") as cl:
        v.write(hdr + '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
                '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
                '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
                "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n")
        p.write(hdr + '##INFO=<ID=AF,Number=A,Type=Float,Description="AF">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n')
        cl.write(hdr + '##INFO=<ID=CLNSIG,Number=.,Type=String,Description="sig">\n'
                 '##INFO=<ID=CLNREVSTAT,Number=.,Type=String,Description="rev">\n'
                 '##INFO=<ID=GENEINFO,Number=1,Type=String,Description="gene">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n')
        k = 0
        for c, n in contigs.items():
            s = seqs[c]
            step = (n - 200) // per
            for i in range(per):
                pos1 = 100 + i * step + rng.randrange(step // 2)
                r = chr(s[pos1 - 1])
                x = rng.random()
                if x < 0.9:
                    ref, alt = r, rng.choice([b for b in "ACGT" if b != r])
                elif x < 0.95:
                    ref, alt = s[pos1 - 1:pos1 + 2].decode(), r
                else:
                    ref, alt = r, r + rng.choice("ACGT")
                d = rng.randint(20, 200)
                a = rng.randint(1, d)
                v.write(f"{c}\t{pos1}\t.\t{ref}\t{alt}\t50\tPASS\t.\tGT:AD:DP\t0/1:{d - a},{a}:{d}\n")
                k += 1
                if k % 10 == 0:
                    p.write(f"{c}\t{pos1}\t.\t{ref}\t{alt}\t.\t.\tAF={rng.random():.4f}\n")
                if k % 100 == 0:
                    cl.write(f"{c}\t{pos1}\t{k}\t{ref}\t{alt}\t.\t.\tCLNSIG=Uncertain_significance;"
                             "CLNREVSTAT=criteria_provided,_single_submitter;GENEINFO=X:1\n")
    for f in (vcf, pop, clin):
        subprocess.run(["bgzip", "-f", str(f)], check=True)
        subprocess.run(["tabix", "-f", "-p", "vcf", f"{f}.gz"], check=True)
    return {"fasta": fa, "gff3": work / "genes.gff3", "vcf": Path(f"{vcf}.gz"), "pop": Path(f"{pop}.gz"),
            "clinvar": Path(f"{clin}.gz")}


def _cpu(t0: os.times_result, t1: os.times_result, self_too: bool) -> float:
    c = (t1.children_user - t0.children_user) + (t1.children_system - t0.children_system)
    return c + ((t1.user - t0.user) + (t1.system - t0.system) if self_too else 0.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--workdir")
    ap.add_argument("--repeat", type=int, default=3,
                    help="timed rounds (query, annotate cold, annotate warm); medians reported")
    ap.add_argument("--threads", type=int, default=2, help="consequence-pass worker processes")
    ap.add_argument("--no-resources", action="store_true", help="skip population/ClinVar matching")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bedside-bench-", dir=args.workdir) as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        inp = make_inputs(work, args.records)
        print(f"generated {args.records} records in {time.perf_counter() - t0:.1f} s; "
              f"load average before timing: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        rows = []
        cache = work / "resource-cache"
        resources = {} if args.no_resources else {"population": inp["pop"], "clinvar": inp["clinvar"]}
        for rnd in range(1, args.repeat + 1):
            c0 = os.times()
            t0 = time.perf_counter()
            q = subprocess.run(["bcftools", "query", "-f", "%CHROM\t%POS\t%REF\t%ALT\t%INFO\t[%GT:%AD]\n",
                                str(inp["vcf"])], check=True, stdout=subprocess.PIPE)
            t_query = time.perf_counter() - t0
            c1 = os.times()
            nq = q.stdout.count(b"\n")
            del q
            row = [t_query, _cpu(c0, c1, False)]
            # cold: no cached population/ClinVar allele table (built and cached by this run);
            # warm: the table cached by the cold run is reused (the workflow annotates many VCFs against it)
            for label in ("cold", "warm"):
                if label == "cold":
                    shutil.rmtree(cache, ignore_errors=True)
                out = work / "annotated.vcf.gz"
                c1 = os.times()
                t0 = time.perf_counter()
                stats = annotate_vcf(inp["vcf"], inp["fasta"], inp["gff3"], out, threads=args.threads,
                                     cache=cache, **resources)
                row += [time.perf_counter() - t0, _cpu(c1, os.times(), True)]
            row.append(os.getloadavg()[0])
            rows.append(row)
            print(f"round {rnd}: bcftools query {row[0]:.2f} s wall / {row[1]:.2f} s CPU ({nq} lines); "
                  f"bedside annotate cold {row[2]:.2f} s wall / {row[3]:.2f} s CPU, warm {row[4]:.2f} s wall / "
                  f"{row[5]:.2f} s CPU ({stats['records']} records, {stats['annotated']} with a consequence); "
                  f"ratio cold {row[2] / row[0]:.2f}x, warm {row[4] / row[0]:.2f}x wall; load average {row[6]:.2f}")
        med = [statistics.median(r[i] for r in rows) for i in range(7)]
        print(f"median of {len(rows)}: bcftools query {med[0]:.2f} s wall / {med[1]:.2f} s CPU; bedside annotate "
              f"cold {med[2]:.2f} s wall / {med[3]:.2f} s CPU, warm {med[4]:.2f} s wall / {med[5]:.2f} s CPU "
              f"(resources={'no' if args.no_resources else 'population+ClinVar'}, threads={args.threads})")
        print(f"ratio annotate / query (medians, target <= 3x): cold {med[2] / med[0]:.2f}x wall "
              f"({med[3] / max(med[1], 1e-9):.2f}x CPU), warm {med[4] / med[0]:.2f}x wall "
              f"({med[5] / max(med[1], 1e-9):.2f}x CPU); load average {med[6]:.2f} on {os.cpu_count()} CPUs")

if __name__ == "__main__":
    main()
