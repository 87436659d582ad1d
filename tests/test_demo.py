"""The demo generator: determinism, gene design checked with bcftools csq, truth, resources, sheets."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
from pathlib import Path

import pytest

from bedside.cli import main
from bedside.demo import generate as gen
from bedside.demo.genes import CODON_TABLE, GENES, STOPS, X_CONTIG
from bedside.demo.patients import CLINICAL, PATIENTS, PROTECTED, plan_variants, x_copies
from bedside.demo.reference import build_reference
from bedside.demo.simulate import clone_shares
from bedside.demo.variants import coding_snv
from bedside.errors import InputError

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO / "../shared/data"  # public data beside the repo (absent for users who clone)
DEMO_SEED = gen.DEFAULT_SEED


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo"
    gen.generate(out, DEMO_SEED, reads=False)
    return out


@pytest.fixture(scope="module")
def ref():
    return build_reference(DEMO_SEED, PROTECTED)


def _manifest(d: Path) -> dict[str, str]:
    return {f["path"]: f["md5"] for f in json.loads((d / "MANIFEST.json").read_text())["files"]}


def _records(vcf: Path) -> list[list[str]]:
    out = subprocess.run(["bcftools", "view", "-H", str(vcf)], check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def header_samples(vcf: Path) -> list[str]:
    out = subprocess.run(["bcftools", "query", "-l", str(vcf)], check=True, capture_output=True, text=True).stdout
    return out.split()


def _info(rec: list[str]) -> dict[str, str]:
    return dict(kv.split("=", 1) if "=" in kv else (kv, "") for kv in rec[7].split(";"))


# --- determinism -------------------------------------------------------------------------------------


def test_same_seed_same_files(demo, tmp_path):
    again = tmp_path / "again"
    gen.generate(again, DEMO_SEED, reads=False)
    a, b = _manifest(demo), _manifest(again)
    assert a == b
    for must in ("reference/genome.fa", "reference/genes.gff3", "truth/truth.vcf.gz",
                 "resources/clinvar.vcf.gz", "resources/population.vcf.gz", "resources/pgx/DPYD_translation.json"):
        assert must in a


def test_other_seed_other_genome(demo, tmp_path):
    other = tmp_path / "other"
    gen.generate(other, DEMO_SEED + 1, reads=False)
    assert _manifest(other)["reference/genome.fa"] != _manifest(demo)["reference/genome.fa"]
    assert json.loads((other / "MANIFEST.json").read_text())["seed"] == DEMO_SEED + 1


def test_cli_writes_and_replaces_previous_build(tmp_path):
    out = tmp_path / "d"
    assert main(["demo-data", str(out), "--no-reads", "--seed", "7"]) == 0
    first = _manifest(out)
    assert main(["demo-data", str(out), "--no-reads", "--seed", "7"]) == 0  # a previous build is replaced
    assert _manifest(out) == first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folders left


def test_refuses_foreign_folder_and_leaves_it_alone(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="not a previous demo build"):
        gen.generate(out, 1, reads=False)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert main(["demo-data", str(out), "--no-reads"]) == 2


# --- genome and gene design ----------------------------------------------------------------------------


def test_genome_shape(demo, ref):
    fai = [line.split("\t") for line in (demo / "reference/genome.fa.fai").read_text().splitlines()]
    assert len(fai) >= 3 and sum(int(r[1]) for r in fai) >= 300_000
    assert [r[0] for r in fai] == list(ref.contigs)
    seq = "".join(ref.contigs.values())
    assert set(seq) <= set("ACGT")
    gc = (seq.count("G") + seq.count("C")) / len(seq)
    assert 0.39 < gc < 0.44


@pytest.mark.parametrize("spec", GENES, ids=lambda s: s.name)
def test_cds_design(ref, spec):
    g = ref.gene(spec.name)
    cds = g.cds
    assert len(cds) == 3 * (spec.protein_len + 1)
    assert cds.startswith("ATG") and cds[-3:] in STOPS
    codons = [cds[i:i + 3] for i in range(0, len(cds), 3)]
    assert not any(c in STOPS for c in codons[:-1])
    for pos, codon in spec.fixed_codons.items():
        assert codons[pos - 1] == codon
    for end in spec.exon_ends:  # c.N ends an exon: c.N+1 is intronic
        assert g.c_to_local(end, 1) not in g.exonic
    for start in spec.exon_starts:
        assert g.c_to_local(start, -1) not in g.exonic


def test_gff3_canonical_and_ids(demo):
    rows = [r.split("\t") for r in (demo / "reference/genes.gff3").read_text().splitlines() if not r.startswith("#")]
    genes = [r for r in rows if r[2] == "gene"]
    assert {re.search(r"Name=([^;]+)", r[8]).group(1) for r in genes} == {g.name for g in GENES}
    assert all(re.search(r"ID=gene:ENSG\d+;", r[8]) and "biotype=protein_coding" in r[8] for r in genes)
    mrnas = [r for r in rows if r[2] == "mRNA"]
    for g in genes:
        gid = re.search(r"ID=(gene:[^;]+)", g[8]).group(1)
        txs = [m for m in mrnas if f"Parent={gid};" in m[8]]
        assert sum("Ensembl_canonical" in m[8] and "MANE_Select" in m[8] for m in txs) == 1
        assert all(re.search(r"ID=transcript:ENST\d+;", m[8]) for m in txs)
    assert {r[6] for r in genes} == {"+", "-"}
    assert {r[2] for r in rows} >= {"gene", "mRNA", "exon", "CDS", "five_prime_UTR", "three_prime_UTR"}


# Named variants across the demo genes and what bcftools csq must say about them (BCSQ amino-acid field)
CSQ_CASES = [
    ("BRAF", 1799, "T", "A", "missense", "600V>600E"),
    ("KRAS", 35, "G", "A", "missense", "12G>12D"),
    ("KRAS", 38, "G", "A", "missense", "13G>13D"),
    ("EGFR", 2573, "T", "G", "missense", "858L>858R"),
    ("EGFR", 2369, "C", "T", "missense", "790T>790M"),
    ("PIK3CA", 3140, "A", "G", "missense", "1047H>1047R"),
    ("PIK3CA", 1633, "G", "A", "missense", "545E>545K"),
    ("TP53", 524, "G", "A", "missense", "175R>175H"),
    ("TP53", 818, "G", "A", "missense", "273R>273H"),
    ("DPYD", 2846, "A", "T", "missense", "949D>949V"),
    ("DPYD", 1679, "T", "G", "missense", "560I>560S"),
    ("CYP2C19", 681, "G", "A", "synonymous", "227P"),
    ("CYP2C19", 636, "G", "A", "stop_gained", "212W>212*"),
    ("TPMT", 460, "G", "A", "missense", "154A>154T"),
    ("TPMT", 719, "A", "G", "missense", "240Y>240C"),
    ("UGT1A1", 211, "G", "A", "missense", "71G>71R"),
    ("CYP2C9", 430, "C", "T", "missense", "144R>144C"),
    ("CYP2C9", 1075, "A", "C", "missense", "359I>359L"),
    ("NUDT15", 415, "C", "T", "missense", "139R>139C"),
]


def _csq(demo: Path, contigs: dict[str, str], sites: list[tuple[str, int, str, str]], tmp_path: Path) -> dict:
    """bcftools csq of each site on its own: site i is carried (haploid GT 1) by sample i only."""
    order = {c: i for i, c in enumerate(contigs)}
    sites = sorted(set(sites), key=lambda s: (order[s[0]], s[1], s[2], s[3]))
    n = len(sites)
    lines = ["##fileformat=VCFv4.2", *(f"##contig=<ID={c},length={len(s)}>" for c, s in contigs.items()),
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
                       + [f"s{i}" for i in range(n)])]
    for i, (chrom, pos, r, a) in enumerate(sites):
        gts = ["1" if j == i else "0" for j in range(n)]
        lines.append("\t".join([chrom, str(pos), ".", r, a, ".", ".", ".", "GT", *gts]))
    vcf = tmp_path / "in.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    out = subprocess.run(["bcftools", "csq", "-f", str(demo / "reference/genome.fa"), "-g",
                          str(demo / "reference/genes.gff3"), str(vcf)],
                         check=True, capture_output=True, text=True).stdout
    res = {}
    for line in out.splitlines():
        if line.startswith("#"):
            continue
        f = line.split("\t")
        m = re.search(r"BCSQ=([^;\t]+)", f[7])
        res[(f[0], int(f[1]))] = m.group(1) if m else ""
    return res


def test_csq_reads_real_hotspots(demo, ref, tmp_path):
    planted = [coding_snv(ref, g, c, r, a, category="test") for g, c, r, a, _, _ in CSQ_CASES]
    got = _csq(demo, ref.contigs, [(p.chrom, p.pos, p.ref, p.alt) for p in planted], tmp_path)
    for p, (gene, _c, _r, _a, kind, aa) in zip(planted, CSQ_CASES):
        bcsq = got[(p.chrom, p.pos)]
        canonical = ref.gene(gene).transcript_id
        entry = next(e for e in bcsq.split(",") if canonical in e)
        fields = entry.split("|")
        assert fields[0] == kind and fields[1] == gene and fields[5] == aa, (gene, bcsq)


def test_csq_agrees_with_truth(demo, ref, tmp_path):
    """Every planted variant's expected consequence is what bcftools csq calls on the demo GFF3."""
    vcf = demo / "truth/truth.vcf.gz"
    got = _csq(demo, ref.contigs, [(r[0], int(r[1]), r[3], r[4]) for r in _records(vcf)], tmp_path)
    checked = 0
    for rec in _records(vcf):
        info = _info(rec)
        want = info["CONSEQUENCE"]
        bcsq = got[(rec[0], int(rec[1]))]
        if want == "intergenic":
            assert bcsq == "", rec
            continue
        kinds = {e.split("|")[0] for e in bcsq.split(",")}
        assert want in kinds, (rec[:5], bcsq)
        checked += 1
    assert checked >= 30
    braf = [r for r in _records(vcf) if _info(r).get("HGVSP") == "p.Val600Glu"]
    assert len(braf) == 1 and _info(braf[0])["GENE"] == "BRAF"
    frameshift = next(e for r in _records(vcf) if _info(r).get("GENE") == "BRCA1" and _info(r)["CATEGORY"] == "pathogenic"
                      for e in got[(r[0], int(r[1]))].split(","))
    # p.Glu23ValfsTer17: the new frame reads Val23 + 15 residues, then the stop (17th codon)
    new = frameshift.split("|")[5].split(">")[1]
    assert new.startswith("23V") and new.endswith("*") and len(new) - len("23") - 1 == 16


# --- truth ------------------------------------------------------------------------------------------------


def test_truth_vcfs_are_valid_and_consistent(demo):
    truth = _records(demo / "truth/truth.vcf.gz")
    assert truth
    by_patient_origin: dict[tuple[str, str], set] = {}
    for rec in truth:
        info = _info(rec)
        assert info["ORIGIN"] in ("germline", "somatic")
        assert info["PATIENT"] in PATIENTS
        vaf = float(info["VAF"])
        assert 0 < vaf <= (0.5 if info["ORIGIN"] == "somatic" else 1)
        # per-sample columns: only the patient's samples carry it (somatic: tumor only)
        samples = dict(zip(header_samples(demo / "truth/truth.vcf.gz"), rec[9:]))
        carriers = {s for s, v in samples.items() if "1" in v.split(":")[0]}
        expected = {f"{info['PATIENT']}-T"} | ({f"{info['PATIENT']}-N"} if info["ORIGIN"] == "germline" else set())
        assert carriers == expected
        by_patient_origin.setdefault((info["PATIENT"], info["ORIGIN"]), set()).add(tuple(rec[:5]))
    germline_sites = {k[:5] for (p, o), ks in by_patient_origin.items() if o == "germline" for k in ks}
    for patient in PATIENTS:
        som = {tuple(r[:5]) for r in _records(demo / f"truth/{patient}.somatic.vcf.gz")}
        ger = {tuple(r[:5]) for r in _records(demo / f"truth/{patient}.germline.vcf.gz")}
        assert som == by_patient_origin[(patient, "somatic")]
        assert ger == by_patient_origin[(patient, "germline")]
        assert not som & germline_sites, "a germline variant is in a somatic truth"
        assert len({_info(r)["VAF"] for r in _records(demo / f"truth/{patient}.somatic.vcf.gz")}) >= 3
        kinds = {(len(r[3]) > 1) - (len(r[4]) > 1) for r in _records(demo / f"truth/{patient}.somatic.vcf.gz")}
        assert kinds == {-1, 0, 1}  # insertion, SNV, deletion
    assert len(PATIENTS) >= 4


def test_story_variants(demo):
    som = {p: {_info(r).get("HGVSP") for r in _records(demo / f"truth/{p}.somatic.vcf.gz")} for p in PATIENTS}
    ger = {p: {(_info(r).get("GENE"), _info(r).get("HGVSC")) for r in _records(demo / f"truth/{p}.germline.vcf.gz")}
           for p in PATIENTS}
    assert "p.Val600Glu" in som["PT01"] and ("CYP2C19", "c.681G>A") in ger["PT01"]
    assert {"p.Leu858Arg", "p.Arg273His"} <= som["PT02"]
    assert "p.Gly12Asp" in som["PT03"] and ("DPYD", "c.1905+1G>A") in ger["PT03"]
    assert "p.His1047Arg" in som["PT04"] and ("BRCA1", "c.68_69delAG") in ger["PT04"]
    assert ("UGT1A1", "c.211G>A") in ger["PT04"]


# --- X chromosome and sex ----------------------------------------------------------------------------


def _gt(field: str) -> str:
    return field.split(":")[0]


def test_x_segment_genotypes_follow_clinical_sex(demo, ref):
    """chrX (named so the cohort store declares it X) carries common SNPs; a male's X genotypes are haploid
    (one X: no heterozygous site), a female's diploid with heterozygous sites; all in the population VCF."""
    fai = [line.split("\t")[0] for line in (demo / "reference/genome.fa.fai").read_text().splitlines()]
    assert fai[-1] == X_CONTIG == "chrX" and 20_000 <= len(ref.contigs[X_CONTIG]) <= 60_000
    assert not [g for g in ref.genes if g.contig == X_CONTIG]
    sex = {r.patient_id: r.sex for r in CLINICAL}
    assert {"male", "female"} <= set(sex.values())
    pop = {(r[0], int(r[1])): float(_info(r)["AF"]) for r in _records(demo / "resources/population.vcf.gz")
           if r[0] == X_CONTIG}
    assert len(pop) >= 60 and all(0.05 <= af <= 0.95 for af in pop.values())
    for p in PATIENTS:
        x = [r for r in _records(demo / f"truth/{p}.germline.vcf.gz") if r[0] == X_CONTIG]
        gts = [_gt(r[9]) for r in x]
        assert len(x) >= 15 and all((r[0], int(r[1])) in pop for r in x), p
        if sex[p] == "male":
            assert x_copies(p) == 1 and set(gts) == {"1"} and {_info(r)["VAF"] for r in x} == {"1"}, p
        else:
            assert x_copies(p) == 2 and sum(g in ("1|0", "0|1") for g in gts) >= 10, p
            assert set(gts) <= {"1|0", "0|1", "1|1"}, p
    # the multi-sample truth: a male sample's X genotype is haploid in every record, carried or not
    samples = header_samples(demo / "truth/truth.vcf.gz")
    for rec in _records(demo / "truth/truth.vcf.gz"):
        if rec[0] == X_CONTIG:
            for s, f in zip(samples, rec[9:]):
                assert ("|" in _gt(f)) == (sex[s[:-2]] != "male"), (rec[:2], s, f)


def test_x_segment_leaves_the_autosomes_alone(ref, monkeypatch):
    """The X segment and its SNPs come from their own random streams: a build without them has the same
    autosomes, genes, planted variants and biomarker events; and flipping every patient's sex changes only
    haplotype B's X alleles."""
    from bedside.demo import patients as pt
    from bedside.demo import reference as rf

    plan = plan_variants(ref, DEMO_SEED)
    assert X_CONTIG not in ref.core_lengths
    for p in PATIENTS:
        assert all(v.category == "common" for v, _ in plan.plans[p].germline if v.chrom == X_CONTIG)
        assert not [v for v, _ in plan.plans[p].somatic if v.chrom == X_CONTIG]
    with monkeypatch.context() as m:
        m.setattr(rf, "X_LENGTH", 0)
        m.setattr(pt, "plan_x_snps", lambda *a, **k: [])
        ref0 = build_reference(DEMO_SEED, PROTECTED)
        plan0 = plan_variants(ref0, DEMO_SEED)
    assert ref0.contigs[X_CONTIG] == "" and plan0.x_snps == []
    assert {c: s for c, s in ref0.contigs.items() if c != X_CONTIG} == \
        {c: s for c, s in ref.contigs.items() if c != X_CONTIG}
    assert [(g.name, g.genomic_start) for g in ref0.genes] == [(g.name, g.genomic_start) for g in ref.genes]
    for p in PATIENTS:
        assert plan0.plans[p].somatic == plan.plans[p].somatic
        assert plan0.plans[p].germline == [(v, h) for v, h in plan.plans[p].germline if v.chrom != X_CONTIG]
    assert plan0.biomarkers == plan.biomarkers and plan0.unrelated == plan.unrelated
    flipped = tuple(pt.ClinicalRow(**{**r.__dict__, "sex": "female" if r.sex == "male" else "male"})
                    for r in CLINICAL)
    plans = {p: pt.PatientPlan(p) for p in PATIENTS}
    assert [v.key for v, _ in pt.plan_x_snps(ref, plans, DEMO_SEED, clinical=flipped)] == \
        [v.key for v, _ in plan.x_snps]
    for p in PATIENTS:
        ax = {v.key: h for v, h in plan.plans[p].germline if v.chrom == X_CONTIG}
        bx = {v.key: h for v, h in plans[p].germline}
        assert {k for k, h in ax.items() if "A" in h} == {k for k, h in bx.items() if "A" in h}, p
        one_x = bx if x_copies(p) == 2 else ax  # the flipped male (now XX) gains B alleles, not the other way
        assert all(h == "A" for h in one_x.values()), p


def test_male_haplotype_b_has_no_x(ref, tmp_path):
    """Reads on X come from haplotype A only for a male (half depth), from A and B for a female."""
    plan = plan_variants(ref, DEMO_SEED)
    for p in PATIENTS:
        normal, tumor = gen.haplotype_mixtures(ref, plan.plans[p], tmp_path, plan.biomarkers.get(p))
        for path, _share in normal + tumor:
            names = [ln[1:].strip() for ln in Path(path).read_text().splitlines() if ln.startswith(">")]
            carries_x = X_CONTIG in names
            b_side = ".hapB." in Path(path).name or ".tumorB." in Path(path).name
            assert carries_x == (not b_side or x_copies(p) == 2), (p, path)
        assert abs(sum(s for _, s in normal) - 1) < 1e-9 and abs(sum(s for _, s in tumor) - 1) < 1e-9


def _normals_joint_vcf(demo: Path, out: Path) -> Path:
    """The normals' germline truth as a joint VCF written the way a diploid caller (bcftools call) writes
    it: a male's hemizygous X ALT as 1/1, every sample genotyped at every site."""
    calls: dict[tuple, dict[str, str]] = {}
    for p in PATIENTS:
        for r in _records(demo / f"truth/{p}.germline.vcf.gz"):
            gt = _gt(r[9]).replace("|", "/")
            calls.setdefault((r[0], int(r[1]), r[3], r[4]), {})[f"{p}-N"] = "1/1" if gt == "1" else gt
    order = {c: i for i, c in enumerate(line.split("\t")[0] for line in
                                        (demo / "reference/genome.fa.fai").read_text().splitlines())}
    fai = [line.split("\t")[:2] for line in (demo / "reference/genome.fa.fai").read_text().splitlines()]
    normals = [f"{p}-N" for p in PATIENTS]
    lines = ["##fileformat=VCFv4.2", *(f"##contig=<ID={c},length={n}>" for c, n in fai),
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *normals])]
    for k in sorted(calls, key=lambda k: (order[k[0]], k[1], k[2], k[3])):
        lines.append("\t".join([k[0], str(k[1]), ".", k[2], k[3], "50", "PASS", ".", "GT",
                                *(calls[k].get(s, "0/0") for s in normals)]))
    plain = out.with_suffix("")
    plain.write_text("\n".join(lines) + "\n")
    subprocess.run(["bgzip", "-f", str(plain)], check=True)
    subprocess.run(["tabix", "-p", "vcf", str(out)], check=True)
    return out


@pytest.mark.slow
def test_demo_cohort_sex_check_matches_clinical_record(demo, tmp_path):
    """`bedside cohort-db qc` on the demo cohort's normals (the truth genotypes, as a diploid caller writes
    them) and the demo clinical table: the sex check is assessable on chrX and every genetic sex matches
    the clinical one; a clinical table with PT02's sex changed gets PT02 flagged, and nobody else."""
    pytest.importorskip("hail")
    import pandas as pd

    vcf = _normals_joint_vcf(demo, tmp_path / "joint.vcf.gz")
    clinical = (demo / "clinical.tsv").read_text()
    wrong = tmp_path / "clinical_wrong.tsv"
    wrong.write_text(clinical.replace("PT02\t64\tfemale", "PT02\t64\tmale"))
    assert wrong.read_text() != clinical
    sex = {r.patient_id: r.sex for r in CLINICAL}
    for table, mismatched in ((demo / "clinical.tsv", set()), (wrong, {"PT02-N"})):
        out = tmp_path / table.stem
        assert main(["cohort-db", "qc", "--vcf", str(vcf), "--clinical", str(table), "--samples",
                     str(demo / "samples.tsv"), "--build", gen.GENOME_BUILD, "--fai",
                     str(demo / "reference/genome.fa.fai"), "--out-dir", str(out), "--pca-k", "2"]) == 0
        sq = pd.read_csv(out / "sample_qc.tsv", sep="\t", comment="#", keep_default_na=False).set_index("s")
        assert "sex check not assessable" not in (out / "sample_qc.tsv").read_text()
        assert sorted(sq.index) == [f"{p}-N" for p in PATIENTS]
        assert (sq.x_variants >= 20).all()
        for s, r in sq.iterrows():
            assert r.genetic_sex == sex[s[:-2]], (s, r.genetic_sex, r.x_f_stat)
            assert (r.x_f_stat > 0.8) if r.genetic_sex == "male" else (r.x_f_stat < 0.4), (s, r.x_f_stat)
        flagged = {s for s, f in sq["flags"].items() if "sex_mismatch" in f}
        assert flagged == mismatched, sq["flags"].to_dict()


# --- resources ----------------------------------------------------------------------------------------


def test_population_and_clinvar(demo):
    pop = {(r[0], r[1], r[3], r[4]): float(_info(r)["AF"]) for r in _records(demo / "resources/population.vcf.gz")}
    truth = _records(demo / "truth/truth.vcf.gz")
    germ = [(r[0], r[1], r[3], r[4]) for r in truth if _info(r)["ORIGIN"] == "germline"]
    assert sum(k in pop for k in germ) >= len(germ) - len(PATIENTS)  # one rare variant per patient is absent
    assert sum(af > 0.01 for k, af in pop.items() if k in germ) >= 10
    assert len(pop) > len({k for k in germ if k in pop}) + 20  # unrelated sites (a shared site counts once)
    header = subprocess.run(["bcftools", "view", "-h", str(demo / "resources/clinvar.vcf.gz")],
                            check=True, capture_output=True, text=True).stdout
    assert "##fileDate=" in header and "##source=ClinVar-style demo" in header
    cv = _records(demo / "resources/clinvar.vcf.gz")
    sig = {_info(r)["GENEINFO"].split(":")[0] + ":" + _info(r)["CLNSIG"]: _info(r)["CLNREVSTAT"] for r in cv}
    assert sig["BRCA1:Pathogenic"] == "reviewed_by_expert_panel"
    assert "BRAF:Pathogenic" in sig and "KRAS:Pathogenic" in sig
    assert any(k.endswith(":Benign") for k in sig)
    assert all(r[2].isdigit() and _info(r)["ALLELEID"].isdigit() for r in cv)
    assert all(re.fullmatch(r"[A-Z0-9]+:\d+", _info(r)["GENEINFO"]) for r in cv)


def test_pgx_definitions_match_demo_genome(demo, ref):
    files = sorted((demo / "resources/pgx").glob("*_translation.json"))
    assert {f.name.split("_")[0] for f in files} >= {"CYP2C19", "DPYD", "TPMT", "UGT1A1"}
    for f in files:
        d = json.loads(f.read_text())
        n = len(d["variants"])
        positions = [v["position"] for v in d["variants"]]
        assert positions == sorted(positions)
        for v in d["variants"]:
            assert ref.base(v["chromosome"], v["position"]) == v["ref"], (f.name, v["rsid"])
        refs = [na for na in d["namedAlleles"] if na["reference"]]
        assert len(refs) == 1 and refs[0]["alleles"] == [v["ref"] for v in d["variants"]]
        for na in d["namedAlleles"]:
            assert len(na["alleles"]) == n


@pytest.mark.shared
def test_pgx_definitions_follow_pharmcat(demo):
    alleles = SHARED / "pgx-pharmcat/alleles"
    if not alleles.is_dir():
        pytest.skip(f"shared PharmCAT definitions not found at {alleles}")
    for f in sorted((demo / "resources/pgx").glob("*_translation.json")):
        ours = json.loads(f.read_text())
        real = json.loads((alleles / f.name).read_text())
        assert set(ours) == set(real)
        assert set(ours["variants"][0]) == set(real["variants"][0])
        assert set(ours["namedAlleles"][0]) == set(real["namedAlleles"][0])
        real_by_rsid = {v["rsid"]: i for i, v in enumerate(real["variants"])}
        for k, v in enumerate(ours["variants"]):
            i = real_by_rsid[v["rsid"]]
            assert v["ref"] == real["variants"][i]["ref"] and v["alts"][0] in real["variants"][i]["alts"]
            for na in ours["namedAlleles"]:
                if na["reference"]:
                    continue
                rna = next(x for x in real["namedAlleles"] if x["name"] == na["name"])
                assert na["id"] == rna["id"]
                assert na["alleles"][k] == rna["alleles"][i], (f.name, na["name"], v["rsid"])


# --- sheets ---------------------------------------------------------------------------------------------


def test_committed_sheets_equal_generated(demo):
    for name in ("samples.tsv", "clinical.tsv"):
        assert (REPO / "config" / name).read_text() == (demo / name).read_text()
    generated = (demo / "units.tsv").read_text()
    committed = (REPO / "config/units.tsv").read_text()
    assert committed == generated.replace("\tfastq/", "\tresources/demo/fastq/")
    assert committed == gen.units_tsv("resources/demo/")


def test_sheet_formats(demo):
    samples = [r.split("\t") for r in (demo / "samples.tsv").read_text().splitlines()]
    assert samples[0] == ["sample_name", "patient", "alias", "platform"]
    assert {(r[0], r[2]) for r in samples[1:]} == {(f"{p}-{s}", a) for p in PATIENTS
                                                   for s, a in (("T", "tumor"), ("N", "normal"))}
    units = [r.split("\t") for r in (demo / "units.tsv").read_text().splitlines()]
    assert units[0] == ["sample_name", "unit_name", "fq1", "fq2", "bam"]
    per_sample: dict[str, int] = {}
    for r in units[1:]:
        per_sample[r[0]] = per_sample.get(r[0], 0) + 1
        assert r[4] == "" and r[2].endswith("_R1.fastq.gz") and r[3].endswith("_R2.fastq.gz")
    assert max(per_sample.values()) == 2
    clinical = [r.split("\t") for r in (demo / "clinical.tsv").read_text().splitlines()]
    head = clinical[0]
    assert head == ["patient_id", "age", "sex", "diagnosis", "medications", "labs", "smoking_status", "pack_years",
                    "alcohol_units_per_week", "bmi", "diet"]
    lab = re.compile(r"(creatinine_clearance=[\d.]+ mL/min|egfr=[\d.]+ mL/min/1\.73m2|bilirubin=[\d.]+ mg/dL|alt=[\d.]+ U/L)")
    for r in clinical[1:]:
        row = dict(zip(head, r))
        assert row["sex"] in {"female", "male", "other", "unknown"}
        assert row["smoking_status"] in {"never", "former", "current", "unknown"}
        assert all(m == m.lower() and m for m in row["medications"].split(";"))
        assert all(lab.fullmatch(x) for x in row["labs"].split(";"))
        float(row["pack_years"]), float(row["alcohol_units_per_week"]), float(row["bmi"]), int(row["age"])
    rows = {r[0]: dict(zip(head, r)) for r in clinical[1:]}
    assert rows["PT01"]["diagnosis"] == "SKCM" and "omeprazole" in rows["PT01"]["medications"]
    assert rows["PT02"]["diagnosis"] == "LUAD" and rows["PT02"]["smoking_status"] == "current"
    assert rows["PT03"]["diagnosis"] == "COAD" and "warfarin" in rows["PT03"]["medications"]
    assert "creatinine_clearance=45 mL/min" in rows["PT03"]["labs"]
    assert rows["PT04"]["diagnosis"] == "IDC" and "grapefruit" in rows["PT04"]["diet"]
    assert [c.patient_id for c in CLINICAL] == list(PATIENTS)


# --- mixture model ------------------------------------------------------------------------------------


@pytest.mark.parametrize("vafs", [[0.5], [0.45, 0.3, 0.2, 0.2, 0.15], [0.05, 0.1, 0.2, 0.4]])
def test_clone_shares_give_expected_vafs(vafs):
    comps = clone_shares(vafs)
    total_a = sum(s for _, s in comps)
    assert abs(total_a - 0.5) < 1e-9 and all(s > 0 for _, s in comps)
    for i, v in enumerate(vafs):
        assert abs(sum(s for carried, s in comps if i in carried) - v) < 1e-9


def test_clone_shares_reject_bad_vaf():
    with pytest.raises(InputError):
        clone_shares([0.6])


def test_codon_table_is_standard():
    assert sum(a == "*" for a in CODON_TABLE.values()) == 3 and len(CODON_TABLE) == 64
    assert CODON_TABLE["GTG"] == "V" and CODON_TABLE["GAG"] == "E"


def test_readme_and_manifest(demo):
    text = (demo / "README.md").read_text()
    assert str(DEMO_SEED) in text and "art_illumina" in text
    m = json.loads((demo / "MANIFEST.json").read_text())
    assert m["seed"] == DEMO_SEED and m["generator_version"]
    for f in m["files"]:
        assert (demo / f["path"]).is_file()
    with gzip.open(demo / "truth/truth.vcf.gz", "rt") as fh:
        assert fh.readline().startswith("##fileformat=VCF")


def test_truth_reads_with_pysam(demo):
    """Downstream code reads the truth with pysam: PATIENT and VAF are single values."""
    import pysam

    seen: dict[tuple[str, str], int] = {}
    with pysam.VariantFile(str(demo / "truth/truth.vcf.gz")) as fh:
        for rec in fh:
            assert isinstance(rec.info["PATIENT"], str) and isinstance(rec.info["VAF"], float)
            key = (rec.info["PATIENT"], rec.info["ORIGIN"])
            seen[key] = seen.get(key, 0) + 1
    assert all(seen.get((p, o), 0) >= 6 for p in PATIENTS for o in ("somatic", "germline"))


def test_truth_hgvs_c_maps_back_to_the_record(demo, ref):
    """Each SNV's HGVS c. (exonic, intronic c.N+k / c.N-k, upstream c.-N) names the record's genomic base."""
    pat = re.compile(r"c\.(-?\d+)([+-]\d+)?([ACGT])>([ACGT])")
    comp = str.maketrans("ACGT", "TGCA")
    checked = 0
    for rec in _records(demo / "truth/truth.vcf.gz"):
        info = _info(rec)
        m = pat.fullmatch(info.get("HGVSC", ""))
        if not m:
            continue
        g = ref.gene(info["GENE"])
        c, off = int(m.group(1)), int(m.group(2) or 0)
        assert g.c_to_genomic(c, off) == int(rec[1]), (info["GENE"], info["HGVSC"])
        fwd = (m.group(3), m.group(4)) if g.strand == "+" else (m.group(3).translate(comp), m.group(4).translate(comp))
        assert fwd == (rec[3], rec[4])
        if off:
            assert g.c_to_local(c, off) not in g.exonic
            # the anchor is the nearest exon edge
            assert g.c_to_local(c, 0) in g.exonic and abs(off) <= 1000
        checked += 1
    assert checked >= 25


def test_failed_build_leaves_nothing(tmp_path, monkeypatch):
    """A tool missing half-way (art_illumina) stops the build with a ToolError and leaves no output."""
    import shutil

    from bedside.errors import ToolError

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("samtools", "bgzip", "tabix"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    monkeypatch.setenv("PATH", str(bin_dir))
    out = tmp_path / "work" / "demo"
    with pytest.raises(ToolError, match="art_illumina"):
        gen.generate(out, DEMO_SEED)
    assert not out.exists()
    assert list((tmp_path / "work").iterdir()) == []
