"""Annotation on a tiny FASTA + GFF3 fixture (plus- and minus-strand genes), cross-checked with bcftools csq,
and the `bedside annotate` command end to end with population and ClinVar matching."""

import gzip
import random
import shutil
import subprocess
from pathlib import Path

import pysam
import pytest

from bedside.annotate import read_findings, review_stars
from bedside.annotate.consequence import TranscriptAnnotator
from bedside.annotate.hgvs import AA1
from bedside.annotate.transcripts import load_gff3, load_overrides, select_transcripts
from bedside.cli import main
from bedside.errors import InputError
from bedside.model import Origin

D = Path(__file__).parent / "data" / "annotate"
FA, GFF = D / "ref.fa", D / "genes.gff3"
needs_bcftools = pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools not installed")


@pytest.fixture(scope="module")
def fasta():
    return pysam.FastaFile(str(FA))


@pytest.fixture(scope="module")
def ann(fasta):
    sel = select_transcripts(load_gff3(GFF))
    return {g: TranscriptAnnotator(t, fasta) for g, t in sel.items()}


def base(fasta, pos, n=1):
    return fasta.fetch("chr1", pos - 1, pos - 1 + n)


def other(b):
    return "A" if b != "A" else "C"


def test_transcript_selection_rule(tmp_path):
    by_gene = load_gff3(GFF)
    assert {t.id for t in by_gene["PLUS1"]} == {"TXP1", "TXP2"}
    sel = select_transcripts(by_gene)
    assert sel["PLUS1"].id == "TXP1"  # MANE_Select beats the longer untagged TXP2
    assert sel["MINUS1"].id == "TXM1"  # Ensembl_canonical
    ov = tmp_path / "tx.tsv"
    ov.write_text("gene\ttranscript\nPLUS1\tTXP2\n")
    assert select_transcripts(by_gene, load_overrides(ov))["PLUS1"].id == "TXP2"
    ov.write_text("PLUS1\tNOPE\n")
    with pytest.raises(InputError, match="NOPE"):
        select_transcripts(by_gene, load_overrides(ov), overrides_path=ov)
    # without tags the longest CDS wins
    t1, t2 = by_gene["PLUS1"]
    for t in (t1, t2):
        t.tags.clear()
    assert select_transcripts({"PLUS1": [t1, t2]})["PLUS1"].cds_length == max(t1.cds_length, t2.cds_length)


@pytest.mark.parametrize("gene,pos,n,alt,terms,hgvs_c,hgvs_p", [
    ("PLUS1", 8799, 1, "A", "missense_variant", "c.1799T>A", "p.Val600Glu"),
    ("PLUS1", 5135, 1, "A", "missense_variant", "c.35G>A", "p.Gly12Asp"),
    ("PLUS1", 6481, 1, "T", "synonymous_variant", "c.681C>T", "p.Pro227="),
    ("PLUS1", 5301, 1, "A", "splice_donor_variant", "c.200+1G>A", ""),
    ("PLUS1", 5999, 1, "T", "splice_acceptor_variant", "c.201-2A>T", ""),
    ("PLUS1", 5305, 1, None, "splice_region_variant&intron_variant", "c.200+5", ""),
    ("PLUS1", 4295, 1, None, "upstream_gene_variant", "c.-806", ""),
    ("PLUS1", 5050, 1, None, "5_prime_UTR_variant", "c.-51", ""),
    ("PLUS1", 9150, 1, None, "3_prime_UTR_variant", "c.*50", ""),
    ("PLUS1", 7000, 1, None, "intron_variant", "c.1000+200", ""),
    ("PLUS1", 9900, 1, None, "downstream_gene_variant", "c.*800", ""),
    ("PLUS1", 6299, 2, "del1", "frameshift_variant", "c.500del", "p.Leu167ProfsTer21"),
    ("PLUS1", 6100, 7, "del6", "inframe_deletion", "c.301_306del", "p.Cys101_Leu102del"),
    ("MINUS1", 17000, 1, "A", "splice_donor_variant", "c.250+1G>T", ""),
    ("MINUS1", 17280, 1, "A", "5_prime_UTR_variant", "c.-30A>T", ""),
    ("MINUS1", 16200, 2, "del1", "frameshift_variant", "c.350del", "p.Ile117ThrfsTer10"),
    ("MINUS1", 17184, 1, "T", "missense_variant", "c.67G>A", "p.Glu23Lys"),
])
def test_consequences(ann, fasta, gene, pos, n, alt, terms, hgvs_c, hgvs_p):
    ref = base(fasta, pos, n)
    if alt is None:
        alt = other(ref)
    elif alt.startswith("del"):
        alt = ref[0]
    a = ann[gene].annotate(pos, ref, alt)
    assert a is not None
    assert a.consequence == terms
    assert a.hgvs_c.startswith(hgvs_c)
    assert a.hgvs_p == hgvs_p


def test_start_stop_and_dup(ann, fasta):
    P = ann["PLUS1"]
    a = P.annotate(5101, base(fasta, 5101), "C")  # A of the ATG
    assert a.terms == ["start_lost"] and a.hgvs_p == "p.Met1?" and a.hgvs_c == "c.1A>C"
    # stop codon TAA at c.2098-2100 (genomic 9098-9100): T>C gives CAA (Gln) -> stop lost, extension
    a = P.annotate(9098, base(fasta, 9098), "C")
    assert a.terms == ["stop_lost"] and a.hgvs_p.startswith("p.Ter700GlnextTer")
    # MNV GG>TC at c.34-35: codon 12 GGT -> TCT (Ser)
    a = P.annotate(5134, base(fasta, 5134, 2), "TC")
    assert a.hgvs_c == "c.34_35delinsTC" and a.hgvs_p == "p.Gly12Ser" and a.terms == ["missense_variant"]
    # nonsense: GGT -> TGA is not one step; codon 12 GGT -> TAG? use c.34_36 GGT>TAA
    a = P.annotate(5134, base(fasta, 5134, 3), "TAA")
    assert a.terms == ["stop_gained"] and a.hgvs_p == "p.Gly12Ter"
    # insertion repeating the preceding base is a dup, shifted 3'
    r = base(fasta, 6300)
    a = P.annotate(6300, r, r + base(fasta, 6300))
    assert a.hgvs_c.endswith("dup") and a.terms == ["frameshift_variant"]


CSQ_TERMS = {"missense": "missense_variant", "synonymous": "synonymous_variant", "stop_gained": "stop_gained",
             "frameshift": "frameshift_variant", "inframe_deletion": "inframe_deletion",
             "inframe_insertion": "inframe_insertion", "start_lost": "start_lost", "stop_lost": "stop_lost"}


def _random_coding_variants(fasta, ann, n_snv=150, n_indel=40, seed=7):
    rng = random.Random(seed)
    out = []
    cds_positions = []
    for a in ann.values():
        for s, e in a.tx.exons:
            for g in range(s, e + 1):
                c = a.loc.cdna(g)
                if a.tx.cds_start + 3 <= c <= a.tx.cds_end - 3:
                    cds_positions.append(g)
    for g in rng.sample(cds_positions, n_snv):
        r = base(fasta, g)
        out.append((g, r, rng.choice([b for b in "ACGT" if b != r])))
    for g in rng.sample(cds_positions, n_indel):
        r = base(fasta, g, 4)
        if rng.random() < 0.5:
            out.append((g, r[: 1 + rng.choice([1, 2, 3])], r[0]))
        else:
            out.append((g, r[0], r[0] + "".join(rng.choice("ACGT") for _ in range(rng.choice([1, 3])))))
    return sorted(set(out))


@needs_bcftools
def test_cross_check_with_bcftools_csq(tmp_path, fasta, ann):
    variants = _random_coding_variants(fasta, ann)
    vcf = tmp_path / "in.vcf"
    with open(vcf, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=20000>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        fh.writelines(f"chr1\t{g}\t.\t{r}\t{a}\t.\t.\t.\n" for g, r, a in variants)
    norm = tmp_path / "norm.vcf"
    subprocess.run(["bcftools", "norm", "-f", str(FA), "-o", str(norm), str(vcf)], check=True, capture_output=True)
    out = subprocess.run(["bcftools", "csq", "-f", str(FA), "-g", str(GFF), "-l", str(norm)], check=True,
                         capture_output=True, text=True).stdout
    compared = 0
    for line in out.splitlines():
        if line.startswith("#") or "BCSQ=" not in line:
            continue
        f = line.split("\t")
        pos, ref, alt = int(f[1]), f[3], f[4]
        bcsq = [x for x in f[7].split("BCSQ=")[1].split(";")[0].split(",") if "|TXP1|" in x or "|TXM1|" in x]
        if not bcsq or bcsq[0].startswith("@"):
            continue
        parts = bcsq[0].split("|")
        terms = parts[0].split("&")
        gene = parts[1]
        mine = ann[gene].annotate(pos, ref, alt)
        main_term = next((CSQ_TERMS[t] for t in terms if t in CSQ_TERMS), None)
        if main_term is None:
            continue
        assert main_term in mine.terms, (pos, ref, alt, bcsq[0], mine)
        if len(ref) == len(alt) == 1 and main_term in ("missense_variant", "synonymous_variant", "stop_gained"):
            aa = parts[5]  # e.g. 600V>600E or 227P
            first = aa.split(">")[0]
            pos_aa, ref_aa = int(first[:-1]), first[-1]
            assert mine.protein_position == pos_aa, (bcsq[0], mine)
            assert AA1[mine.hgvs_p[2:5]] == ref_aa
            if ">" in aa:
                alt_aa = aa.split(">")[1][-1]
                assert mine.hgvs_p.endswith("Ter" if alt_aa == "*" else next(k for k, v in AA1.items() if v == alt_aa))
        elif main_term in ("frameshift_variant", "inframe_deletion", "inframe_insertion"):
            pos_aa = int("".join(ch for ch in parts[5].split(">")[0].split("_")[0] if ch.isdigit()) or 0)
            assert abs((mine.protein_position or 0) - pos_aa) <= 3, (bcsq[0], mine)
        compared += 1
    assert compared >= 150


def _write(path, text):
    path.write_text(text)
    return path


def _bgzip(path):
    subprocess.run(["bgzip", "-f", str(path)], check=True)
    subprocess.run(["tabix", "-f", "-p", "vcf", f"{path}.gz"], check=True)
    return Path(f"{path}.gz")


@needs_bcftools
def test_annotate_command_end_to_end(tmp_path, fasta):
    hdr = "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=20000>\n"
    v600 = base(fasta, 8799)
    g12 = base(fasta, 5135)
    # a deletion inside a homopolymer/repeat written at different places in input and population VCF
    rep = None
    seq = fasta.fetch("chr1", 6000, 6800)
    for i in range(len(seq) - 3):
        if seq[i] == seq[i + 1] == seq[i + 2] and seq[i - 1] != seq[i]:
            rep = 6001 + i  # 1-based first base of a run of >= 3
            break
    assert rep is not None
    left = rep - 1  # anchor before the run (left-aligned form)
    right = rep + 1  # non-left-aligned form: delete the 3rd base of the run using the 2nd as anchor
    inp = _write(tmp_path / "in.vcf", hdr + "##FILTER=<ID=LowQual,Description=\"low\">\n"
                 '##FORMAT=<ID=GT,Number=1,Type=String,Description="GT">\n'
                 '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="AD">\n'
                 '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="DP">\n'
                 "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\tNORMAL\n"
                 f"chr1\t5135\t.\t{g12}\tA,T\t50\tPASS\t.\tGT:AD:DP\t1/2:20,10,10:40\t0/0:38,1,1:40\n"
                 f"chr1\t{left}\t.\t{base(fasta, left, 2)}\t{base(fasta, left)}\t50\tPASS\t.\tGT:AD:DP\t0/1:30,10:40\t0/0:40,0:40\n"
                 f"chr1\t8799\tv600\t{v600}\tA\t50\tPASS\t.\tGT:AD:DP\t0/1:60,40:100\t0/0:50,0:50\n"
                 f"chr1\t12000\t.\t{base(fasta, 12000)}\t{other(base(fasta, 12000))}\t50\tLowQual\t.\tGT:AD:DP\t0/1:5,5:10\t0/0:10,0:10\n")
    pop = _bgzip(_write(tmp_path / "pop.vcf", hdr + '##INFO=<ID=AF,Number=A,Type=Float,Description="AF">\n'
                        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                        f"chr1\t5135\t.\t{g12}\tA,C\t.\t.\tAF=0.001,0.5\n"
                        f"chr1\t{right}\t.\t{base(fasta, right, 2)}\t{base(fasta, right)}\t.\t.\tAF=0.25\n"))
    clin = _bgzip(_write(tmp_path / "clinvar.vcf", hdr +
                         '##INFO=<ID=CLNSIG,Number=.,Type=String,Description="sig">\n'
                         '##INFO=<ID=CLNREVSTAT,Number=.,Type=String,Description="rev">\n'
                         '##INFO=<ID=GENEINFO,Number=1,Type=String,Description="gene">\n'
                         "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                         f"chr1\t{right}\t555\t{base(fasta, right, 2)}\t{base(fasta, right)}\t.\t.\tCLNSIG=Benign;CLNREVSTAT=reviewed_by_expert_panel;GENEINFO=PLUS1:1\n"
                         f"chr1\t8799\t13961\t{v600}\tA\t.\t.\tCLNSIG=Pathogenic;CLNREVSTAT=criteria_provided,_multiple_submitters,_no_conflicts;GENEINFO=PLUS1:1\n"))
    out = tmp_path / "out" / "ann.vcf.gz"
    assert main(["annotate", "--vcf", str(inp), "--fasta", str(FA), "--gff3", str(GFF), "--population", str(pop),
                 "--clinvar", str(clin), "--out", str(out)]) == 0
    # the same through a prepared resource cache (as the workflow runs it) and without any cache
    cache = tmp_path / "cache"
    assert main(["annotate", "--prepare-only", "--fasta", str(FA), "--population", str(pop),
                 "--clinvar", str(clin), "--cache-dir", str(cache)]) == 0
    for extra, name in ((["--cache-dir", str(cache)], "cached"), (["--no-cache"], "nocache")):
        alt_out = tmp_path / f"{name}.vcf.gz"
        assert main(["annotate", "--vcf", str(inp), "--fasta", str(FA), "--gff3", str(GFF), "--population",
                     str(pop), "--clinvar", str(clin), "--out", str(alt_out), *extra]) == 0
        body = [ln for ln in gzip.open(alt_out, "rt") if not ln.startswith("#")]
        assert body == [ln for ln in gzip.open(out, "rt") if not ln.startswith("#")]
    assert Path(str(out) + ".tbi").exists()
    with gzip.open(out, "rt") as fh:
        text = fh.read()
    for tag in ("BEDSIDE_CSQ", "POP_AF", "CLNSIG", "CLNREVSTAT", "CLNSTARS", "GENEINFO", "CLNVID"):
        assert f"##INFO=<ID={tag}," in text
    recs = [ln.split("\t") for ln in text.splitlines() if not ln.startswith("#")]
    assert len(recs) == 5  # multi-allelic split
    assert all(len(r) == 11 for r in recs)  # both sample columns kept
    by_key = {(r[1], r[3], r[4]): r for r in recs}
    v = by_key[("8799", v600, "A")]
    assert "BEDSIDE_CSQ=PLUS1|TXP1|missense_variant|c.1799T>A|p.Val600Glu|MODERATE|600" in v[7]
    assert "CLNSTARS=2" in v[7] and "CLNVID=13961" in v[7] and v[9].startswith("0/1")
    ind = by_key[(str(left), base(fasta, left, 2), base(fasta, left))]
    assert "POP_AF=0.25" in ind[7] and "CLNSTARS=3" in ind[7] and "CLNSIG=Benign" in ind[7]
    assert "POP_AF=0.001" in by_key[("5135", g12, "A")][7]
    assert "POP_AF" not in by_key[("5135", g12, "T")][7]

    fs = read_findings(out, Origin.SOMATIC, sample="TUMOR")
    assert len(fs) == 4  # LowQual record dropped
    f600 = next(f for f in fs if f.variant.pos == 8799)
    assert f600.consequence.hgvs_p == "p.Val600Glu" and f600.consequence.gene == "PLUS1"
    assert f600.vaf == pytest.approx(0.4) and f600.depth == 100 and f600.alt_reads == 40
    assert f600.normal_vaf == 0.0
    assert f600.clinvar.stars == 2 and f600.clinvar.variation_id == "13961"
    find = next(f for f in fs if f.variant.pos == left)
    assert find.population_af == pytest.approx(0.25) and find.clinvar.clnsig == "Benign"
    assert len(read_findings(out, Origin.SOMATIC, pass_only=False)) == 5
    with pytest.raises(InputError, match="sample 'X'"):
        read_findings(out, Origin.SOMATIC, sample="X")


def test_review_stars_mapping():
    assert review_stars("practice_guideline") == 4
    assert review_stars("reviewed_by_expert_panel") == 3
    assert review_stars("criteria_provided,_multiple_submitters,_no_conflicts") == 2
    assert review_stars("criteria_provided,_conflicting_classifications") == 1
    assert review_stars("criteria_provided,_single_submitter") == 1
    assert review_stars("no_assertion_criteria_provided") == 0
    assert review_stars("something_new") is None


def test_bad_inputs(tmp_path):
    bad = _write(tmp_path / "bad.gff3", "##gff-version 3\nchr1\tx\tgene\t1\n")
    with pytest.raises(InputError, match=r"bad.gff3, line 2: GFF3 line has 4 columns"):
        load_gff3(bad)
    orphan = _write(tmp_path / "orphan.gff3", "chr1\tx\texon\t1\t10\t.\t+\t.\tParent=transcript:NOPE\n")
    with pytest.raises(InputError, match="unknown transcript 'transcript:NOPE'"):
        load_gff3(orphan)
    out = tmp_path / "o.vcf.gz"
    rc = main(["annotate", "--vcf", str(tmp_path / "missing.vcf"), "--fasta", str(FA), "--gff3", str(GFF),
               "--out", str(out)])
    assert rc == 2 and not out.exists()


@needs_bcftools
def test_failed_run_leaves_no_output(tmp_path):
    vcf = _write(tmp_path / "in.vcf", "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=20000>\n"
                 "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t100\t.\tA\tC\t.\t.\t.\n"
                 "chrZ\t100\t.\tAC\tA\t.\t.\t.\n")
    out = tmp_path / "o.vcf.gz"
    rc = main(["annotate", "--vcf", str(vcf), "--fasta", str(FA), "--gff3", str(GFF), "--out", str(out)])
    assert rc != 0 and not out.exists() and not list(tmp_path.glob(".o.vcf.gz*"))


def test_fast_snv_path_matches_general_path(ann, fasta):
    from bedside.annotate.consequence import FastSNV

    checked = 0
    for ta in ann.values():
        fast = FastSNV(ta)
        for pos in range(max(1, ta.lo), min(20000, ta.hi) + 1, 7):
            r = base(fasta, pos)
            alt = other(r)
            got = fast.csq(pos, r, alt)
            if got is None:
                continue
            a = ta.annotate(pos, r, alt)
            assert a is not None and got == a.csq_field(), (pos, got, a)
            checked += 1
    assert checked > 1500


@needs_bcftools
def test_tier_command_on_annotated_vcf(tmp_path, fasta):
    """`bedside tier --vcf` reads the annotated VCF and tiers it with a (custom) cited table."""
    import csv
    import json

    v600 = base(fasta, 8799)
    inp = _write(tmp_path / "in.vcf", "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=20000>\n"
                 "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                 f"chr1\t7000\t.\t{base(fasta, 7000)}\t{other(base(fasta, 7000))}\t50\tPASS\t.\n"
                 f"chr1\t8799\t.\t{v600}\tA\t50\tPASS\t.\n")
    out = tmp_path / "ann.vcf.gz"
    assert main(["annotate", "--vcf", str(inp), "--fasta", str(FA), "--gff3", str(GFF), "--out", str(out)]) == 0
    kb = _write(tmp_path / "kb.tsv", "# version: fixture-1\n"
                "id\tgene\talteration_type\talteration\ttumor_type\ttherapy\tdirection\tevidence_level\tsource\t"
                "pmid\tcitation\tdate\n"
                "F1\tPLUS1\tprotein_change\tp.V600E\tMEL\tdrug-x\tsensitivity\tA\tfixture label\t1\tfixture\t2026-11-28\n")
    tsv, js = tmp_path / "t.tsv", tmp_path / "t.json"
    assert main(["tier", "--vcf", str(out), "--tumor-type", "SKCM", "--knowledge", str(kb),
                 "--out-tsv", str(tsv), "--out-json", str(js)]) == 0
    with open(tsv) as fh:
        rows = {r["hgvs_p"]: r for r in csv.DictReader(fh, delimiter="\t")}
    assert rows["p.Val600Glu"]["tier"] == "I" and rows["p.Val600Glu"]["therapies_sensitive"] == "drug-x"
    assert rows[""]["tier"] == "III" and rows[""]["consequence"] == "intron_variant"
    payload = json.loads(js.read_text())
    assert payload["groups"][0]["therapies"] == ["drug-x"] and payload["knowledge_versions"]["kb"] == "fixture-1"
    assert main(["tier", "--vcf", str(out), "--out-tsv", str(tsv), "--out-json", str(js)]) == 2  # no tumor type


@pytest.mark.slow
def test_worker_processes_give_identical_output(tmp_path):
    """Inputs over ~1 MB are annotated by worker processes; the output must not depend on that."""
    import importlib.util
    import subprocess

    spec = importlib.util.spec_from_file_location(
        "annotate_speed", Path(__file__).resolve().parents[1] / "benchmarks/annotate_speed.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    inputs = bench.make_inputs(tmp_path, 60_000)
    from bedside.annotate import annotate_vcf

    outs = []
    for threads in (1, 2):
        out = tmp_path / f"out{threads}.vcf.gz"
        annotate_vcf(inputs["vcf"], inputs["fasta"], inputs["gff3"], out,
                     population=inputs["pop"], clinvar=inputs["clinvar"],
                     threads=threads)
        body = subprocess.run(["bcftools", "view", "-H", str(out)], capture_output=True, text=True,
                              check=True).stdout
        outs.append(body)
    assert outs[0] == outs[1]
    assert outs[0].count("\n") >= 60_000 and "BEDSIDE_CSQ=" in outs[0]


def test_vectorised_snv_path_matches_single_record_path(ann, fasta):
    """FastSNV.csq_many (NumPy, per chunk) gives exactly FastSNV.csq for every SNV it annotates, and hands
    back the rest: all three alternative bases at every position of both fixture genes' spans."""
    import numpy as np

    from bedside.annotate.consequence import FastSNV

    bases = "TCAG"  # the 0-3 codes csq_many takes (genetic-code order)
    code = {b: i for i, b in enumerate(bases)}
    vectorised = 0
    for ta in ann.values():
        fast = FastSNV(ta)
        positions, refs, alts = [], [], []
        for pos in range(max(1, ta.lo), min(20000, ta.hi) + 1):
            r = base(fasta, pos).upper()
            if r not in code:
                continue
            for a in "ACGT":
                if a != r:
                    positions.append(pos)
                    refs.append(code[r])
                    alts.append(code[a])
        pos_a = np.array(positions, dtype=np.int64)
        ref_a = np.array(refs, dtype=np.uint8)
        alt_a = np.array(alts, dtype=np.uint8)
        groups, fallback = fast.csq_many(pos_a, ref_a, alt_a)
        seen = set()
        for idx, strings in groups:
            for i, s in zip(idx.tolist(), strings, strict=True):
                assert s == fast.csq(positions[i], bases[refs[i]], bases[alts[i]]), positions[i]
                seen.add(i)
                vectorised += 1
        assert seen.isdisjoint(set(np.asarray(fallback).tolist()))
        assert len(seen) + len(set(np.asarray(fallback).tolist())) == len(positions)
    assert vectorised > 10000


@needs_bcftools
def test_annotate_keeps_undeclared_info_keys_as_written(tmp_path, fasta):
    """An INFO key, FILTER or contig the input uses without declaring it is carried through as written (it used
    to come out as CLNSIG: htslib numbered it after the header had been written); the header declares it."""
    hdr = "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=20000>\n"
    v600 = base(fasta, 8799)
    inp = _write(tmp_path / "in.vcf", hdr + '##INFO=<ID=TLOD,Number=A,Type=Float,Description="t">\n'
                 "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                 f"chr1\t8799\t.\t{v600}\tA\t50\tPASS\tMYKEY=hello;TLOD=5.5;SOMATIC\n"
                 f"chr1\t12000\t.\t{base(fasta, 12000)}\t{other(base(fasta, 12000))}\t50\tweird\tOTHER=1,2\n")
    clin = _bgzip(_write(tmp_path / "clinvar.vcf", hdr +
                         '##INFO=<ID=CLNSIG,Number=.,Type=String,Description="sig">\n'
                         '##INFO=<ID=CLNREVSTAT,Number=.,Type=String,Description="rev">\n'
                         '##INFO=<ID=GENEINFO,Number=1,Type=String,Description="gene">\n'
                         "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                         f"chr1\t8799\t13961\t{v600}\tA\t.\t.\tCLNSIG=Pathogenic;CLNREVSTAT=practice_guideline;"
                         "GENEINFO=PLUS1:1\n"))
    out = tmp_path / "out.vcf.gz"
    assert main(["annotate", "--vcf", str(inp), "--fasta", str(FA), "--gff3", str(GFF), "--clinvar", str(clin),
                 "--no-cache", "--out", str(out)]) == 0
    text = gzip.open(out, "rt").read()
    recs = [ln.split("\t") for ln in text.splitlines() if not ln.startswith("#")]
    assert recs[0][7].startswith("MYKEY=hello;TLOD=5.5;SOMATIC;")
    assert "CLNSIG=Pathogenic" in recs[0][7] and recs[0][7].count("CLNSIG") == 1
    assert recs[1][6] == "weird" and recs[1][7].startswith("OTHER=1,2") and "CLNSIG" not in recs[1][7]
    for decl in ("##INFO=<ID=MYKEY,", "##INFO=<ID=SOMATIC,", "##INFO=<ID=OTHER,", "##FILTER=<ID=weird,"):
        assert decl in text
    assert "bcftools_normCommand" not in text  # no tool command lines (absolute paths, dates) in the header
    # the record names and output are the same as for a fully declared input
    fs = read_findings(out, Origin.SOMATIC)
    assert fs[0].consequence.hgvs_p == "p.Val600Glu" and fs[0].clinvar.clnsig == "Pathogenic"
