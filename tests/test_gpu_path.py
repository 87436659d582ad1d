"""The GPU path (docs/gpu.md), as far as a machine without a GPU can check it: dry runs of the demo project
with `engine: parabricks` (which rules replace which, the exact pbrun argument lists, the GPU resources a
Slurm job asks for), the CPU engine unchanged, and `bedside somatic --device`.

No pbrun and no CuPy run here: that needs a GPU node (docs/gpu.md, "Run on a GPU node")."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from bedside.cli import main

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
IMAGE = "docker://nvcr.io/nvidia/clara/clara-parabricks:4.8.0-1"
REF = "resources/reference/genome.fa"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("gpu_demo")
    subprocess.run([sys.executable, "-m", "bedside.cli", "demo-data", str(work / "resources/demo")], check=True,
                   capture_output=True)
    shutil.copytree(REPO / "config", work / "config")
    return work


def snakemake(project: Path, *args: str, config: dict | None = None) -> subprocess.CompletedProcess:
    files = [str(project / "config/config.yaml")]
    if config is not None:
        extra = project / f"extra_{abs(hash(repr(config)))}.yaml"
        extra.write_text(yaml.safe_dump(config))
        files.append(str(extra))
    return subprocess.run([*SNAKEMAKE, "-s", str(REPO / "workflow/Snakefile"), "--directory", str(project),
                           "--configfile", *files, *args], capture_output=True, text=True, check=False)


def plan(project: Path, config: dict | None = None) -> tuple[dict[str, int], dict[str, list], dict[str, list]]:
    """Dry run with -p: {rule: jobs}, {rule: [argument list per job]}, {rule: [resources line per job]}."""
    res = snakemake(project, "-n", "-p", config=config)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    out = res.stdout + res.stderr
    counts = {m[1]: int(m[2]) for m in re.finditer(r"^([a-z_0-9]+)\s+(\d+)$", out.split("Job stats:")[-1],
                                                    re.MULTILINE)}
    commands, resources = defaultdict(list), defaultdict(list)
    rule = None
    for line in out.splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):$", line):
            rule = m[1]
        elif line.strip().startswith("resources:") and rule:
            resources[rule].append(line.strip())
        elif line.startswith("Shell command:") and rule:
            commands[rule].append(shlex.split(line.split(":", 1)[1]))
    return counts, commands, resources


PB_CONFIG = {"engine": "parabricks", "parabricks": {"gpus": 2, "partition": "gpu", "gpu_model": "a100"}}
PB_RULES = ("pb_fq2bam", "pb_germline", "pb_germline_filter", "pb_mutectcaller", "pb_somatic_import")
CPU_RULES = ("bwa_mem", "markdup", "germline_chunk", "germline_gather", "somatic_chunk", "somatic_gather")


@pytest.fixture(scope="module")
def pb_plan(demo):
    return plan(demo, PB_CONFIG)


@pytest.fixture(scope="module")
def cpu_plan(demo):
    return plan(demo)


def test_parabricks_rules_replace_cpu_alignment_and_calling(pb_plan) -> None:
    counts, _, _ = pb_plan
    # 4 patients, tumor + normal each: 8 samples aligned, 4 normals called, 4 tumors called
    assert {r: counts.get(r) for r in PB_RULES} == {"pb_fq2bam": 8, "pb_germline": 4, "pb_germline_filter": 4,
                                                    "pb_mutectcaller": 4, "pb_somatic_import": 4}
    assert not [r for r in CPU_RULES if r in counts], counts
    # everything downstream of the BAMs and VCFs is still planned, unchanged
    for r in ("fastp", "fastq_check", "bwa_index", "samtools_stats", "mosdepth", "panel_of_normals", "annotate",
              "tmb", "cnv", "case", "report"):
        assert counts.get(r), (r, counts)


def test_cpu_engine_plans_no_pb_rule(cpu_plan) -> None:
    counts, commands, _ = cpu_plan
    assert not [r for r in counts if r.startswith("pb_")], counts
    assert counts["bwa_mem"] == 9 and counts["markdup"] == 8  # PT01-T has two lanes
    assert not any("pbrun" in c for cmds in commands.values() for cmd in cmds for c in cmd)


def _fq2bam_of(commands: dict, sample: str) -> list[str]:
    (cmd,) = [c for c in commands["pb_fq2bam"] if f"results/{sample[:4]}/align/{sample}.bam" in c]
    return cmd


def test_fq2bam_argument_list(pb_plan) -> None:
    _, commands, _ = pb_plan
    cmd = _fq2bam_of(commands, "PT01-T")
    i = cmd.index("--tmp-dir")
    tmp = cmd[i + 1]  # Snakemake's resources.tmpdir (machine-dependent)
    rg = "@RG\\tID:PT01-T.{u}\\tSM:PT01-T\\tLB:PT01-T\\tPL:ILLUMINA\\tPU:{u}"
    assert cmd == [
        "apptainer", "exec", "--nv", IMAGE, "pbrun", "fq2bam", "--ref", REF,
        "--in-fq", "results/PT01/trimmed/PT01-T.lane1.R1.fastq.gz", "results/PT01/trimmed/PT01-T.lane1.R2.fastq.gz",
        rg.format(u="lane1"),
        "--in-fq", "results/PT01/trimmed/PT01-T.lane2.R1.fastq.gz", "results/PT01/trimmed/PT01-T.lane2.R2.fastq.gz",
        rg.format(u="lane2"),
        "--out-bam", "results/PT01/align/PT01-T.bam", "--out-duplicate-metrics", "results/PT01/qc/PT01-T.markdup.txt",
        "--num-gpus", "2", "--tmp-dir", tmp, ">", "logs/PT01/pb_fq2bam/PT01-T.log", "2>&1"]
    # no BQSR: fq2bam gets no known sites (the CPU path has no BQSR either)
    assert not any("knownSites" in w or "recal" in w for c in commands["pb_fq2bam"] for w in c)


def test_read_groups_equal_the_cpu_paths(pb_plan, cpu_plan) -> None:
    """Each unit's read group given to pbrun is the one bwa mem -R gets on the CPU path."""
    cpu = {}
    for cmd in cpu_plan[1]["bwa_mem"]:
        rg = cmd[cmd.index("-R") + 1]
        cpu[re.search(r"ID:([^\\]+)", rg)[1]] = rg
    gpu = {}
    for cmd in pb_plan[1]["pb_fq2bam"]:
        for i, w in enumerate(cmd):
            if w == "--in-fq":
                rg = cmd[i + 3]
                gpu[re.search(r"ID:([^\\]+)", rg)[1]] = rg
    assert len(gpu) == 9 and gpu == cpu


def test_calling_argument_lists(pb_plan) -> None:
    _, commands, _ = pb_plan
    prefix = ["apptainer", "exec", "--nv", IMAGE, "pbrun"]
    (dv,) = [c for c in commands["pb_germline"] if "results/PT02/align/PT02-N.bam" in c]
    assert dv[:dv.index("--tmp-dir")] == [*prefix, "deepvariant", "--ref", REF, "--in-bam",
                                          "results/PT02/align/PT02-N.bam", "--out-variants",
                                          "results/PT02/germline/pb/PT02-N.raw.vcf", "--num-gpus", "2"]
    (m2,) = [c for c in commands["pb_mutectcaller"] if "results/PT02/align/PT02-T.bam" in c]
    assert m2[:m2.index("--tmp-dir")] == [
        *prefix, "mutectcaller", "--ref", REF, "--in-tumor-bam", "results/PT02/align/PT02-T.bam",
        "--tumor-name", "PT02-T", "--in-normal-bam", "results/PT02/align/PT02-N.bam", "--normal-name", "PT02-N",
        "--out-vcf", "results/PT02/somatic/pb/PT02.mutect2.vcf", "--num-gpus", "2"]
    (imp,) = [c for c in commands["pb_somatic_import"] if "--patient" in c and c[c.index("--patient") + 1] == "PT02"]
    assert imp[:imp.index("--out")] == [
        "bedside", "somatic", "import", "--caller", "mutect2", "--vcf", "results/PT02/somatic/pb/PT02.mutect2.vcf",
        "--ref", REF, "--tumor-sample", "PT02-T", "--normal-sample", "PT02-N", "--pon", "results/cohort/pon/pon.vcf.gz",
        "--population", "resources/demo/resources/population.vcf.gz", "--samples", "config/samples.tsv",
        "--patient", "PT02", "--min-vaf", "0.02"]
    assert imp[imp.index("--out") + 1] == "results/PT02/somatic/PT02.vcf.gz"
    (flt,) = [c for c in commands["pb_germline_filter"] if "results/PT02/germline/pb/PT02-N.raw.vcf" in c]
    assert flt[flt.index("-e") + 1] == "QUAL<20 || FMT/DP<5"  # calling.germline.min_qual / min_depth
    assert "results/PT02/germline/PT02-N.vcf.gz" in flt


def test_gpu_resources_for_slurm(pb_plan) -> None:
    _, _, resources = pb_plan
    for rule in ("pb_fq2bam", "pb_germline", "pb_mutectcaller"):
        assert resources[rule]
        for line in resources[rule]:
            for want in ("gpu=2", "gpu_model=a100", "slurm_partition=gpu", "cpus_per_task=16", "mem_mb=64000",
                         "runtime=240"):
                assert want in line, (rule, line)
    # the CPU steps around them stay on the profile's partition, without a GPU
    for rule in ("pb_germline_filter", "pb_somatic_import", "fastp", "annotate"):
        assert not any("gpu" in line for line in resources[rule]), resources[rule]


def test_slurm_plugin_turns_the_resources_into_a_gpu_request() -> None:
    """snakemake-executor-plugin-slurm (2.8.0) reads `gpu` / `gpu_model` into sbatch --gpus."""
    utils = pytest.importorskip("snakemake_executor_plugin_slurm.utils")

    class Res(dict):
        __getattr__ = dict.__getitem__

    job = SimpleNamespace(resources=Res(gpu=2, gpu_model="a100"))
    assert utils.set_gres_string(job).strip() == "--gpus=a100:2"
    assert utils.set_gres_string(SimpleNamespace(resources=Res(gpu=1))).strip() == "--gpus=1"


def test_tumor_only_haplotypecaller_and_pbrun_on_path(demo) -> None:
    counts, commands, resources = plan(demo, {
        "engine": "parabricks", "calling": {"somatic": {"tumor_only": True}},
        "parabricks": {"runner": "pbrun", "germline_caller": "haplotypecaller", "extra": {"fq2bam": "--low-memory"}}})
    (m2,) = [c for c in commands["pb_mutectcaller"] if "results/PT03/align/PT03-T.bam" in c]
    assert m2[:3] == ["pbrun", "mutectcaller", "--ref"] and "--in-normal-bam" not in m2 and "--normal-name" not in m2
    (imp,) = [c for c in commands["pb_somatic_import"] if "results/PT03/somatic/PT03.vcf.gz" in c]
    assert "--tumor-only" in imp and "--normal-sample" not in imp
    assert all(c[:2] == ["pbrun", "haplotypecaller"] for c in commands["pb_germline"])
    assert all("--low-memory" in c and c[0] == "pbrun" for c in commands["pb_fq2bam"])
    # no partition configured: the GPU jobs keep the profile's
    assert all("slurm_partition" not in line and "gpu=1" in line for line in resources["pb_fq2bam"])


def test_parabricks_engine_through_the_module_directive(demo) -> None:
    """Another workflow importing Bedside with `module` gets the GPU rules (prefixed) and their ruleorder."""
    (demo / "gpu.yaml").write_text(yaml.safe_dump({"engine": "parabricks"}))
    wrapper = demo / "Snakefile.module"
    wrapper.write_text(
        'configfile: "config/config.yaml"\nconfigfile: "gpu.yaml"\n\n\n'
        f'module bedside:\n    snakefile: "{REPO / "workflow/Snakefile"}"\n    config: config\n\n\n'
        "use rule * from bedside as bedside_*\n\n\n"
        "rule all:\n    default_target: True\n    input:\n        rules.bedside_all.input,\n")
    res = subprocess.run([*SNAKEMAKE, "-s", str(wrapper), "--directory", str(demo), "-n", "--quiet", "rules"],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    counts = {m[1]: int(m[2]) for m in re.finditer(r"^([a-z_0-9]+)\s+(\d+)$", res.stdout + res.stderr, re.M)}
    assert counts["bedside_pb_fq2bam"] == 8 and counts["bedside_pb_somatic_import"] == 4
    assert not [r for r in CPU_RULES if f"bedside_{r}" in counts], counts


def test_unknown_engine_refused(demo) -> None:
    res = snakemake(demo, "-n", config={"engine": "gpu"})
    assert res.returncode == 2 and "engine" in res.stderr and "'gpu' is not one of" in res.stderr


def test_lint_clean_with_parabricks(demo) -> None:
    res = snakemake(demo, "--lint", config={"engine": "parabricks"})
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    assert "Congratulations, your workflow is in a good condition!" in res.stdout + res.stderr


@pytest.mark.skipif(any(shutil.which(t) is None for t in ("bcftools", "samtools", "tabix")),
                    reason="needs bcftools, samtools, tabix")
def test_somatic_device_cpu_is_the_default_path(tmp_path) -> None:
    from bedside.demo.somatic_bench import make_bench

    b = make_bench(tmp_path / "bench", seed=3, length=10_000, n_contigs=1, per_band_snv=2, per_band_indel=1,
                   n_germline=5, tumor_cov=60, normal_cov=30)
    base = ["somatic", "--tumor", str(b.tumor_bam), "--normal", str(b.normal_bam), "--ref", str(b.ref)]
    assert main([*base, "--out", str(tmp_path / "default.vcf.gz")]) == 0
    assert main([*base, "--out", str(tmp_path / "cpu.vcf.gz"), "--device", "cpu"]) == 0
    out = [subprocess.run(["bcftools", "view", "-H", str(tmp_path / f)], capture_output=True, text=True,
                          check=True).stdout for f in ("default.vcf.gz", "cpu.vcf.gz")]
    assert out[0] and out[0] == out[1]


# ---- bedside.calling.parabricks: the argument builders on their own


def test_runner_prefix_and_bad_values() -> None:
    from bedside.calling import parabricks as bpb
    from bedside.errors import InputError

    pb = {"runner": "singularity", "image": "/shared/pb.sif", "bind": ["/scratch", "/ref dir"], "gpus": 4}
    assert bpb.runner_prefix(pb) == ["singularity", "exec", "--nv", "--bind", "/scratch", "--bind", "/ref dir",
                                     "/shared/pb.sif", "pbrun"]
    assert bpb.runner_prefix({"runner": "pbrun"}) == ["pbrun"]
    with pytest.raises(InputError, match="needs parabricks.image"):
        bpb.runner_prefix({"runner": "apptainer", "image": ""})
    with pytest.raises(InputError, match="not one of"):
        bpb.runner_prefix({"runner": "docker", "image": "x"})
    with pytest.raises(InputError, match="germline_caller"):
        bpb.germline_args({"runner": "pbrun", "germline_caller": "strelka"}, "r.fa", "n.bam", "o.vcf")
    with pytest.raises(InputError, match="needs its sample name"):
        bpb.mutect_args({"runner": "pbrun"}, "r.fa", "t.bam", "T", "o.vcf", normal_bam="n.bam")
    # a value with spaces or shell characters stays one word (the rules quote each word with :q)
    args = bpb.mutect_args({"runner": "pbrun", "gpus": 1, "extra": {"mutectcaller": "--max-mnp-distance 0"}},
                           "ref dir/r.fa", "t;rm.bam", "T", "o.vcf")
    assert args == ["pbrun", "mutectcaller", "--ref", "ref dir/r.fa", "--in-tumor-bam", "t;rm.bam",
                    "--tumor-name", "T", "--out-vcf", "o.vcf", "--num-gpus", "1", "--max-mnp-distance", "0"]


def test_sample_pairs_follow_the_units_sheet() -> None:
    from bedside.calling import parabricks as bpb
    from bedside.errors import InputError

    sheet = SimpleNamespace(
        units_of=lambda s: [SimpleNamespace(unit_name="L1"), SimpleNamespace(unit_name="L2")],
        samples={"S-T": SimpleNamespace(platform="ILLUMINA")})
    assert bpb.sample_pairs(sheet, "S-T", ["a1", "b1"], ["a2", "b2"]) == [
        ("a1", "a2", "@RG\\tID:S-T.L1\\tSM:S-T\\tLB:S-T\\tPL:ILLUMINA\\tPU:L1"),
        ("b1", "b2", "@RG\\tID:S-T.L2\\tSM:S-T\\tLB:S-T\\tPL:ILLUMINA\\tPU:L2")]
    with pytest.raises(InputError, match="2 units but 1/1 FASTQs"):
        bpb.sample_pairs(sheet, "S-T", ["a1"], ["a2"])
