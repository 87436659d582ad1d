"""Cohort joint genotyping on the demo cohort: `bedside demo-data` reads through the workflow
(fastp -> bwa mem -> markdup -> per-sample gVCF per chunk -> gather -> joint genotyping per chunk ->
gather) into one multi-sample VCF, checked against the demo's planted germline truth per patient."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pysam
import pytest
import yaml

from bedside.calling import germline as g

from .conftest import require_tools

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.e2e
def test_demo_cohort_joint_vcf(tmp_path):
    require_tools("bwa", "samtools", "bcftools", "fastp", "art_illumina")
    demo = tmp_path / "demo"
    subprocess.run([sys.executable, "-m", "bedside.cli", "demo-data", str(demo)], check=True,
                   capture_output=True)
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg.update(samples=str(demo / "samples.tsv"), units=str(demo / "units.tsv"),
               clinical={"table": str(demo / "clinical.tsv")})
    cfg["reference"].update(fasta=str(demo / "reference/genome.fa"),
                            gff3=str(demo / "reference/genes.gff3"))
    cfg["resources"].update(population=str(demo / "resources/population.vcf.gz"),
                            clinvar=str(demo / "resources/clinvar.vcf.gz"),
                            pgx_definitions=str(demo / "resources/pgx"))
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    # the demo's units.tsv holds paths relative to the demo folder
    units = (demo / "units.tsv").read_text()
    target = "results/cohort/germline/joint.vcf.gz"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    res = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow/Snakefile"),
                          "--directory", str(demo), "--configfile", str(tmp_path / "config.yaml"),
                          "--cores", "2", "--", target],
                         capture_output=True, text=True, check=False, env=env)
    assert res.returncode == 0, res.stderr[-4000:]
    assert units  # sheets were used as written
    joint = demo / target
    normals = sorted(ln.split("\t")[0] for ln in (demo / "samples.tsv").read_text().splitlines()[1:]
                     if ln.split("\t")[2] == "normal")
    assert len(normals) >= 4
    with pysam.VariantFile(str(joint)) as vf:
        assert list(vf.header.samples) == normals
    for n in normals:
        patient = n.rsplit("-", 1)[0]
        assert (demo / f"results/{patient}/germline/{n}.g.vcf.gz").exists()
        truth_norm = tmp_path / f"{patient}.truth.norm.vcf.gz"
        g.normalise_for_scoring(demo / f"truth/{patient}.germline.vcf.gz",
                                demo / "reference/genome.fa", truth_norm)
        truth = g.variant_keys(truth_norm)
        one = tmp_path / f"{n}.vcf.gz"
        subprocess.run(["bcftools", "view", "-s", n, "-Oz", "-o", str(one), str(joint)], check=True)
        calls_norm = tmp_path / f"{n}.norm.vcf.gz"
        g.normalise_for_scoring(one, demo / "reference/genome.fa", calls_norm)
        calls = g.variant_keys(calls_norm)
        s = g.score(truth, calls)
        tp = s["SNV"].tp + s["indel"].tp
        assert tp / len(truth) >= 0.9, (n, {k: v.as_dict() for k, v in s.items()})
        assert s["SNV"].fp + s["indel"].fp <= 2, (n, sorted(calls - truth))
