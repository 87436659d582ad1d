"""The Snakemake workflow: dry run, lint, and input errors stopping the run before any job."""

from __future__ import annotations

import gzip
import json
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def write_pgx_definition(directory: Path, fasta: Path, chrom: str = "chrA", pos: int = 5001) -> None:
    """A one-position PharmCAT-format allele definition on the test genome (VKORC1-shaped)."""
    seq = "".join(ln.strip() for ln in fasta.read_text().split(f">{chrom}\n", 1)[1].split(">")[0].splitlines())
    ref = seq[pos - 1]
    alt = "T" if ref != "T" else "C"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "VKORC1_translation.json").write_text(json.dumps({
        "formatVersion": "2", "source": "test", "version": "test", "gene": "VKORC1", "chromosome": chrom,
        "genomeBuild": "test", "variants": [{"chromosome": chrom, "position": pos, "rsid": "rs0",
                                             "ref": ref, "alts": [alt]}],
        "namedAlleles": [{"name": f"ref ({ref})", "id": "A1", "alleles": [ref], "reference": True},
                         {"name": f"alt ({alt})", "id": "A2", "alleles": [alt], "reference": False}]}))


def _fastq(path: Path, n: int = 4) -> None:
    rnd = random.Random(1)
    with gzip.open(path, "wt") as fh:
        for i in range(n):
            seq = "".join(rnd.choice("ACGT") for _ in range(50))
            fh.write(f"@r{i}\n{seq}\n+\n{'I' * 50}\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    rnd = random.Random(7)
    (tmp_path / "ref").mkdir()
    with open(tmp_path / "ref/genome.fa", "w") as fh:
        for name in ("chrA", "chrB"):
            seq = "".join(rnd.choice("ACGT") for _ in range(25000))
            fh.write(f">{name}\n" + "\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + "\n")
    (tmp_path / "ref/genes.gff3").write_text(
        "##gff-version 3\n"
        "chrA\tdemo\tgene\t1001\t2000\t.\t+\t.\tID=gene:G1;Name=G1;biotype=protein_coding\n"
        "chrA\tdemo\tmRNA\t1001\t2000\t.\t+\t.\tID=transcript:T1;Parent=gene:G1;biotype=protein_coding\n"
        "chrA\tdemo\texon\t1001\t2000\t.\t+\t.\tParent=transcript:T1\n"
        "chrA\tdemo\tCDS\t1001\t1999\t.\t+\t0\tParent=transcript:T1\n")
    (tmp_path / "fq").mkdir()
    units = [["sample_name", "unit_name", "fq1", "fq2", "bam"]]
    samples = [["sample_name", "patient", "alias", "platform"]]
    for patient in ("P1", "P2"):
        for alias, suffix in (("tumor", "T"), ("normal", "N")):
            sample = f"{patient}-{suffix}"
            samples.append([sample, patient, alias, "ILLUMINA"])
            lanes = ("L1", "L2") if sample == "P1-T" else ("L1",)
            for lane in lanes:
                r1, r2 = f"fq/{sample}_{lane}_R1.fq.gz", f"fq/{sample}_{lane}_R2.fq.gz"
                _fastq(tmp_path / r1)
                _fastq(tmp_path / r2)
                units.append([sample, lane, r1, r2, ""])
    (tmp_path / "samples.tsv").write_text("\n".join("\t".join(r) for r in samples) + "\n")
    (tmp_path / "units.tsv").write_text("\n".join("\t".join(r) for r in units) + "\n")
    (tmp_path / "clinical.tsv").write_text(
        "patient_id\tage\tsex\tdiagnosis\nP1\t60\tfemale\tLUAD\nP2\t55\tmale\tCOAD\n")
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg.update(samples="samples.tsv", units="units.tsv", clinical={"table": "clinical.tsv"})
    cfg["reference"].update(fasta="ref/genome.fa", gff3="ref/genes.gff3")
    cfg["calling"]["chunk_size"] = 10000
    write_pgx_definition(tmp_path / "pgx", tmp_path / "ref/genome.fa")
    cfg["resources"] = {"pgx_definitions": "pgx", "knowledge": []}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path


def _snakemake(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SNAKEMAKE, "-s", str(REPO / "workflow/Snakefile"), "--directory", str(project),
         "--configfile", str(project / "config.yaml"), *args],
        capture_output=True, text=True, check=False)


def test_dry_run_plans_every_stage(project: Path) -> None:
    res = _snakemake(project, "-n", "--quiet", "rules")
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout + res.stderr
    for rule in ("fastp", "bwa_mem", "markdup", "samtools_stats", "mosdepth", "multiqc",
                 "germline_chunk", "germline_gather", "somatic_chunk", "somatic_gather",
                 "annotate", "pgx", "clinical_context", "case", "report", "cohort_summary"):
        assert re.search(rf"^{rule}\s+\d+", out, re.MULTILINE), f"rule {rule} not planned:\n{out}"
    # 3 chunks of 10 kb per 25 kb contig x 2 contigs = 6 chunks; 2 normals, 2 tumors
    assert re.search(r"^germline_chunk\s+12$", out, re.MULTILINE), out
    assert re.search(r"^somatic_chunk\s+12$", out, re.MULTILINE), out
    assert re.search(r"^fastp\s+5$", out, re.MULTILINE), out  # P1-T has two lanes


def test_lint_clean(project: Path) -> None:
    res = _snakemake(project, "--lint")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "Congratulations, your workflow is in a good condition!" in res.stdout + res.stderr


@pytest.mark.skipif(shutil.which("snakefmt") is None and not (REPO / ".venv/bin/snakefmt").exists(),
                    reason="snakefmt not installed")
def test_snakefmt_clean() -> None:
    exe = shutil.which("snakefmt") or str(REPO / ".venv/bin/snakefmt")
    res = subprocess.run([exe, "--check", str(REPO / "workflow")], capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("breakage, expected", [
    ("missing_fastq", "units.tsv, line 3: fq1 file not found: fq/P1-T_L2_R1.fq.gz"),
    ("duplicate_sample", "samples.tsv, line 6: duplicate sample 'P1-T' (first defined on line 2)"),
    ("absent_patient", ("samples.tsv, line 4: patient 'P2' of sample 'P2-T' is absent from the "
                        "clinical table")),
])
def test_bad_input_stops_before_any_job(project: Path, breakage: str, expected: str) -> None:
    if breakage == "missing_fastq":
        (project / "fq/P1-T_L2_R1.fq.gz").unlink()
    elif breakage == "duplicate_sample":
        with open(project / "samples.tsv", "a") as fh:
            fh.write("P1-T\tP1\ttumor\tILLUMINA\n")
    else:
        (project / "clinical.tsv").write_text("patient_id\tage\nP1\t60\n")
    res = _snakemake(project, "--cores", "1")
    assert res.returncode != 0
    assert expected in res.stderr, res.stderr[-3000:]
    assert not (project / "results").exists()  # nothing ran





def test_patient_without_normal_runs_tumor_only(project: Path) -> None:
    """A patient with a tumor but no normal is planned tumor-only (no germline, PGx or pairing)."""
    samples = (project / "samples.tsv").read_text().splitlines()
    (project / "samples.tsv").write_text("\n".join(ln for ln in samples if not ln.startswith("P2-N"))
                                         + "\n")
    units = (project / "units.tsv").read_text().splitlines()
    (project / "units.tsv").write_text("\n".join(ln for ln in units if not ln.startswith("P2-N"))
                                       + "\n")
    res = _snakemake(project, "-n", "-p", "results/P2/case.json", "results/P1/case.json")
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout + res.stderr
    p2_calls = [ln for ln in out.splitlines()
                if "bedside somatic --tumor" in ln and "results/P2/" in ln]
    p1_calls = [ln for ln in out.splitlines()
                if "bedside somatic --tumor" in ln and "results/P1/" in ln]
    assert p2_calls and all("--tumor-only" in ln and "--normal" not in ln for ln in p2_calls)
    assert p1_calls and all("--normal results/P1/align/P1-N.bam" in ln for ln in p1_calls)
    assert "results/P2/pgx/pgx.json" not in out and "results/P1/pgx/pgx.json" in out


def test_omop_extract_patients_checked_before_any_job(project: Path) -> None:
    """With clinical.omop the sample sheet's patients must be OMOP person_ids, checked at parse time."""
    omop = project / "omop"
    shutil.copytree(REPO / "tests/data/clinical/omop", omop)
    cfg = yaml.safe_load((project / "config.yaml").read_text())
    cfg["clinical"] = {"omop": "omop"}
    (project / "config.yaml").write_text(yaml.safe_dump(cfg))
    res = _snakemake(project, "-n")
    assert res.returncode != 0
    assert "patient 'P1' of sample 'P1-T' is absent from the clinical table omop" in res.stderr
    # rename the sheet's patients to the extract's person_ids: now the plan goes through
    for name in ("samples.tsv", "units.tsv"):
        text = (project / name).read_text()
        (project / name).write_text(text.replace("\tP1\t", "\t101\t").replace("\tP2\t", "\t102\t"))
    res = _snakemake(project, "-n", "-p", "results/101/clinical/context.json")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "bedside clinical --omop omop --patient 101" in res.stdout + res.stderr
