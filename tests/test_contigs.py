"""Contig names across reference, reads, resources and BEDs: checks, the contig map, and the workflow
stopping before any job when they disagree; samples entering the workflow as BAM, called per chunk
and genotyped jointly as a cohort (per-sample gVCFs -> joint VCF)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pysam
import pytest
import yaml

from bedside import contigs
from bedside.errors import InputError

from .conftest import require_tools
from .test_germline import load_sim

sim = load_sim()


@pytest.fixture(scope="session")
def cohort(tmp_path_factory):
    require_tools("bwa", "samtools", "bcftools", "art_illumina", "freebayes")
    return sim.cohort(tmp_path_factory.getbasetemp())

REPO = Path(__file__).resolve().parents[1]


def _fa(path: Path, names: dict[str, int]) -> Path:
    with open(path, "w") as fh:
        fh.writelines(f">{n}\n" + "ACGT" * (length // 4) + "\n" for n, length in names.items())
    return path


def _vcf(path: Path, names: dict[str, int], records: list[tuple[str, int]]) -> Path:
    lines = ["##fileformat=VCFv4.2"] + [f"##contig=<ID={n},length={ln}>" for n, ln in names.items()]
    lines += ["#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    lines += [f"{c}\t{p}\t.\tA\tG\t.\tPASS\t." for c, p in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_toggle_and_compare():
    assert contigs.toggle_chr("chr20") == "20" and contigs.toggle_chr("20") == "chr20"
    assert contigs.toggle_chr("chrM") == "MT" and contigs.toggle_chr("MT") == "chrM"
    ref = {"chr20": 1000, "chr21": 800}
    assert contigs.compare(ref, {"chr20": 1000}, path="a", role="VCF", ref_path="r") == []
    p = contigs.compare(ref, {"20": 1000}, path="a.vcf", role="VCF", ref_path="ref.fa")
    assert len(p) == 1 and "chr-prefix mismatch" in str(p[0]) and "reference.contig_map" in str(p[0])
    p = contigs.compare(ref, {"chr20": 1200}, path="a.bam", role="reads", ref_path="ref.fa")
    assert "1200 bp here but 1000 bp" in str(p[0]) and "different genome build" in str(p[0])
    p = contigs.compare(ref, {"scaffold1": None}, path="b.bed", role="BED", ref_path="ref.fa")
    assert "none of its contigs" in str(p[0])
    # mapped names are compared after mapping
    assert contigs.compare(ref, {"20": 1000}, path="a", role="VCF", ref_path="r",
                           mapping={"20": "chr20"}) == []


def test_check_inputs_names_every_bad_file(tmp_path):
    ref = _fa(tmp_path / "ref.fa", {"chr1": 400, "chr2": 400})
    good = _vcf(tmp_path / "good.vcf", {"chr1": 400}, [("chr1", 5)])
    bad = _vcf(tmp_path / "pop.vcf", {"1": 400, "2": 400}, [("1", 5)])
    bed = tmp_path / "targets.bed"
    bed.write_text("1\t10\t20\n")
    with pytest.raises(InputError) as exc:
        contigs.check_inputs(ref, vcfs=[good, bad], beds=[bed])
    msg = str(exc.value)
    assert "pop.vcf" in msg and "targets.bed" in msg and "good.vcf" not in msg
    assert "'1' where the reference" in msg and str(ref) in msg
    # a contig map fixes the VCF (the workflow renames it); the BED must use reference names
    cmap = tmp_path / "map.tsv"
    cmap.write_text("# resource\treference\n1\tchr1\n2\tchr2\n")
    contigs.check_inputs(ref, vcfs=[bad], contig_map=cmap)
    assert contigs.load_contig_map(cmap) == {"1": "chr1", "2": "chr2"}
    cmap.write_text("1 chr1\n")
    with pytest.raises(InputError, match=r"map.tsv, line 1: expected two tab-separated"):
        contigs.load_contig_map(cmap)
    cmap.write_text("1\tchr1\n1\tchr2\n")
    with pytest.raises(InputError, match=r"line 2: contig '1' mapped twice"):
        contigs.load_contig_map(cmap)


def test_vcf_contigs_without_header_lines(tmp_path):
    v = tmp_path / "noheader.vcf"
    v.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                 "20\t5\t.\tA\tG\t.\tPASS\t.\n")
    assert set(contigs.vcf_contigs(v)) == {"20"}
    with pytest.raises(InputError, match="VCF not found"):
        contigs.vcf_contigs(tmp_path / "absent.vcf.gz")


# ------------------------------------------------------------------------------------------------
# the workflow: samples as BAM, contig check at parse time, cohort joint calling


def _project(tmp: Path, cohort, normals: list[str], extra_cfg: dict | None = None,
             cram: tuple[str, ...] = ()) -> Path:
    samples = ["sample_name\tpatient\talias\tplatform"]
    units = ["sample_name\tunit_name\tbam"]
    for s in normals:
        samples.append(f"{s}\tP{s}\tnormal\tILLUMINA")
        bam = cohort.bams[s]
        if s in cram:  # this sample enters as CRAM
            bam = tmp / f"{s}.cram"
            subprocess.run(["samtools", "view", "-C", "-T", str(cohort.ref), "-o", str(bam),
                            str(cohort.bams[s])], check=True)
        units.append(f"{s}\tU1\t{bam}")
    (tmp / "samples.tsv").write_text("\n".join(samples) + "\n")
    (tmp / "units.tsv").write_text("\n".join(units) + "\n")
    # one small gene on chrA (the workflow checks the GFF3 before any job: it must have a CDS)
    (tmp / "genes.gff3").write_text(
        "##gff-version 3\n"
        "chrA\ttest\tgene\t1001\t1300\t.\t+\t.\tID=gene:G1;Name=G1\n"
        "chrA\ttest\tmRNA\t1001\t1300\t.\t+\t.\tID=transcript:T1;Parent=gene:G1\n"
        "chrA\ttest\texon\t1001\t1300\t.\t+\t.\tParent=transcript:T1\n"
        "chrA\ttest\tCDS\t1001\t1300\t.\t+\t0\tID=CDS:T1;Parent=transcript:T1\n")
    cfg = {"samples": "samples.tsv", "units": "units.tsv",
           "reference": {"fasta": str(cohort.ref), "gff3": "genes.gff3"},
           "resources": {"knowledge": []},
           "calling": {"chunk_size": 10000,
                       "germline": {"min_qual": 20, "min_depth": 5, "caller": "bcftools"}},
           "report": {"pdf": False}}
    for k, v in (extra_cfg or {}).items():
        cfg.setdefault(k, {}).update(v) if isinstance(v, dict) else cfg.update({k: v})
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
    return tmp


def _snakemake(project: Path, *args: str) -> subprocess.CompletedProcess:
    env_path = f"{Path(sys.executable).parent}:{__import__('os').environ['PATH']}"
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow/Snakefile"), "--directory",
         str(project), "--configfile", str(project / "config.yaml"), "--cores", "2", *args],
        capture_output=True, text=True, check=False, env={**__import__("os").environ,
                                                          "PATH": env_path})


def test_workflow_stops_on_contig_mismatch(cohort, tmp_path):
    pop = _vcf(tmp_path / "population.vcf", {"A": 30000}, [("A", 100)])
    project = _project(tmp_path, cohort, ["S1"],
                       {"resources": {"population": str(pop), "knowledge": []}})
    res = _snakemake(project, "-n")
    assert res.returncode != 0
    assert "contig names do not match the reference" in res.stderr
    assert "population.vcf" in res.stderr and "'A' where the reference" in res.stderr
    assert "chr-prefix mismatch" in res.stderr and "reference.contig_map" in res.stderr
    assert not (project / "results").exists()
    # a BAM aligned to other contig names is caught too, naming the BAM
    bam = tmp_path / "renamed.bam"
    subprocess.run(f"samtools view -h {cohort.bams['S1']} | sed 's/chrA/ctgA/g; s/chrB/ctgB/g; "
                   f"s/chrN/ctgN/g' | samtools view -b -o {bam} -", shell=True, check=True)
    (project / "units.tsv").write_text(f"sample_name\tunit_name\tbam\nS1\tU1\t{bam}\n")
    (project / "config.yaml").write_text(
        (project / "config.yaml").read_text().replace(f"population: {pop}", "knowledge: []"))
    res = _snakemake(project, "-n")
    assert res.returncode != 0 and "renamed.bam" in res.stderr
    assert "none of its contigs (ctgA" in res.stderr
    assert not (project / "results").exists()
    # with a contig map, the resource VCF passes the check (the workflow renames it)
    (project / "units.tsv").write_text(f"sample_name\tunit_name\tbam\nS1\tU1\t{cohort.bams['S1']}\n")
    cmap = tmp_path / "map.tsv"
    cmap.write_text("A\tchrA\n")
    cfg = yaml.safe_load((project / "config.yaml").read_text())
    cfg["resources"]["population"] = str(pop)
    cfg["reference"]["contig_map"] = str(cmap)
    (project / "config.yaml").write_text(yaml.safe_dump(cfg))
    res = _snakemake(project, "--", "resources/renamed/population.vcf.gz")
    assert res.returncode == 0, res.stderr[-3000:]
    with pysam.VariantFile(str(project / "resources/renamed/population.vcf.gz")) as vf:
        assert [r.chrom for r in vf] == ["chrA"]


@pytest.mark.slow
def test_workflow_bam_cram_input_scattered_calls_and_cohort_joint(cohort, tmp_path):
    project = _project(tmp_path, cohort, list(sim.SAMPLES), cram=("S3",))
    targets = ["results/PS1/germline/S1.vcf.gz", "results/cohort/germline/joint.vcf.gz"]
    res = _snakemake(project, "--", *targets)
    assert res.returncode == 0, res.stderr[-4000:]
    # chunks planned from the .fai alone (bedside.plan): chrA 30 kb -> 3, chrB 20 kb -> 2, the all-N chrN
    # -> 2 (they find no reads and call nothing)
    logs = sorted(p.name for p in (project / "logs/PS1/germline_chunk").iterdir())
    assert len(logs) == 7 and sum("chrN" in n for n in logs) == 2
    for s in sim.SAMPLES:
        gv = project / f"results/P{s}/germline/{s}.g.vcf.gz"
        assert gv.exists() and Path(str(gv) + ".tbi").exists()
    joint = project / "results/cohort/germline/joint.vcf.gz"
    with pysam.VariantFile(str(joint)) as vf:
        assert list(vf.header.samples) == list(sim.SAMPLES)
        recs = list(vf)
    planted = {(v.chrom, v.pos, v.ref, v.alt): v for v in sim_variants(cohort)}
    snv_hits = [r for r in recs if (r.chrom, r.pos, r.ref, r.alts[0]) in planted]
    assert len(snv_hits) >= 0.9 * sum(1 for v in planted.values() if len(v.ref) == len(v.alt))
    agree = sum(
        sorted(r.samples[s]["GT"]) == sorted(cohort.genotype(planted[(r.chrom, r.pos, r.ref,
                                                                       r.alts[0])], s))
        for r in snv_hits for s in sim.SAMPLES)
    assert agree / (len(snv_hits) * len(sim.SAMPLES)) >= 0.95
    # the single-sample germline VCF from the BAM-input path
    with pysam.VariantFile(str(project / "results/PS1/germline/S1.vcf.gz")) as vf:
        assert list(vf.header.samples) == ["S1"]
        assert sum(1 for _ in vf) > 50


def sim_variants(cohort):
    return [v for v in cohort.variants if len(v.ref) == 1 and len(v.alt) == 1]
