"""Workflow hardening: no configured value reaches a shell unquoted, the configuration refuses unknown keys,
every checkable input is checked before the first job (all problems at once), corrupt FASTQs stop the
run naming the file, and outputs carry no machine-specific bytes."""

from __future__ import annotations

import gzip
import os
import json
import random
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bedside.cli import main as cli_main
from tests.test_workflow import write_pgx_definition

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
RULES = sorted((REPO / "workflow/rules").glob("*.smk")) + [REPO / "workflow/Snakefile"]

# a directory name and values built to break any hand-quoted or unquoted shell command
EVIL_DIR = "in put's $(touch pwned) \"dir\"; `touch pwned2`"
# FASTQs cannot hold '"' or '\\' in their paths (fastp 0.23.2 writes them unescaped into its JSON report;
# refused before any job, see test_fastq_paths_fastp_cannot_carry_refused): everything else is tried
EVIL_FQ_DIR = "fq's $(touch pwned) `touch pwned2`; x & y | z"
INSTITUTION = "St. Mary's \"Hospital\"; x' $(touch pwned) '; rm -rf keep"
# bwa mem -H: a header line; bwa turns the two characters \t into a tab
BWA_COMMENT = "@CO\\tit's $(touch pwned) \"quoted\" `touch pwned2`"
BUILD = "GRCh38 $(touch pwned) 'x\" `touch pwned2` && rm -rf keep"


# ------------------------------------------------------------------------------------------ fixtures

def _revcomp(s: str) -> str:
    return s[::-1].translate(str.maketrans("ACGT", "TGCA"))


def _write_pairs(genome: dict[str, str], r1: Path, r2: Path, n: int, seed: int) -> None:
    """Read pairs sampled from the genome (150 bp, insert 300), so alignment and calling really run."""
    rnd = random.Random(seed)
    names = sorted(genome)
    with gzip.open(r1, "wt") as f1, gzip.open(r2, "wt") as f2:
        for i in range(n):
            chrom = names[i % len(names)]
            seq = genome[chrom]
            start = rnd.randrange(0, len(seq) - 300)
            frag = seq[start:start + 300]
            f1.write(f"@p{i}/1\n{frag[:150]}\n+\n{'I' * 150}\n")
            f2.write(f"@p{i}/2\n{_revcomp(frag[-150:])}\n+\n{'I' * 150}\n")


def _make_project(root: Path, data_dir: str = "data", fq_dir: str | None = None) -> Path:
    """A one-patient (tumor + normal) project with all inputs under ``root/data_dir``."""
    rnd = random.Random(11)
    data = root / data_dir
    (data / "ref").mkdir(parents=True)
    genome = {name: "".join(rnd.choice("ACGT") for _ in range(20000)) for name in ("chrA", "chrB")}
    with open(data / "ref/genome.fa", "w") as fh:
        for name, seq in genome.items():
            fh.write(f">{name}\n" + "\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + "\n")
    (data / "ref/genes.gff3").write_text(
        "##gff-version 3\n"
        "chrA\tdemo\tgene\t1001\t2000\t.\t+\t.\tID=gene:G1;Name=G1;biotype=protein_coding\n"
        "chrA\tdemo\tmRNA\t1001\t2000\t.\t+\t.\tID=transcript:T1;Parent=gene:G1;biotype=protein_coding\n"
        "chrA\tdemo\texon\t1001\t2000\t.\t+\t.\tParent=transcript:T1\n"
        "chrA\tdemo\tCDS\t1001\t1999\t.\t+\t0\tParent=transcript:T1\n")
    fq_dir = fq_dir or f"{data_dir}/fq"
    (root / fq_dir).mkdir(parents=True)
    units = [["sample_name", "unit_name", "fq1", "fq2", "bam"]]
    samples = [["sample_name", "patient", "alias", "platform"]]
    for seed, (alias, sample) in enumerate((("tumor", "P1-T"), ("normal", "P1-N"))):
        samples.append([sample, "P1", alias, "ILLUMINA"])
        r1, r2 = f"{fq_dir}/{sample}_R1.fq.gz", f"{fq_dir}/{sample}_R2.fq.gz"
        _write_pairs(genome, root / r1, root / r2, 400, seed)
        units.append([sample, "L1", r1, r2, ""])
    (data / "samples.tsv").write_text("\n".join("\t".join(r) for r in samples) + "\n")
    (data / "units.tsv").write_text("\n".join("\t".join(r) for r in units) + "\n")
    (data / "clinical.tsv").write_text("patient_id\tage\tsex\tdiagnosis\nP1\t60\tfemale\tLUAD\n")
    write_pgx_definition(data / "pgx", data / "ref/genome.fa")
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg.update(samples=f"{data_dir}/samples.tsv", units=f"{data_dir}/units.tsv",
               clinical={"table": f"{data_dir}/clinical.tsv"})
    cfg["reference"] = {"fasta": f"{data_dir}/ref/genome.fa", "gff3": f"{data_dir}/ref/genes.gff3",
                        "build": "test-build"}
    cfg["calling"]["chunk_size"] = 20000
    cfg["resources"] = {"pgx_definitions": f"{data_dir}/pgx", "knowledge": []}
    cfg["report"] = {"pdf": False, "institution": "Test lab"}
    (root / "config.yaml").write_text(yaml.safe_dump(cfg))
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return _make_project(tmp_path)


def _config(project: Path) -> dict:
    return yaml.safe_load((project / "config.yaml").read_text())


def _write_config(project: Path, cfg: dict) -> None:
    (project / "config.yaml").write_text(yaml.safe_dump(cfg))


def _snakemake(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SNAKEMAKE, "-s", str(REPO / "workflow/Snakefile"), "--directory", str(project),
         "--configfile", str(project / "config.yaml"), *args],
        capture_output=True, text=True, check=False, env=env)


# ---------------------------------------------------------------------------- 1. quoting, statically

def _shell_strings(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string literal in the shell: sections of a Snakemake file."""
    out: list[tuple[int, str]] = []
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "shell:":
            indent = len(lines[i]) - len(lines[i].lstrip())
            i += 1
            while i < len(lines) and (not lines[i].strip()
                                      or len(lines[i]) - len(lines[i].lstrip()) > indent):
                text = lines[i].strip()
                if text.startswith(('"', "'")):
                    out.append((i + 1, text))
                i += 1
            continue
        i += 1
    return out


def test_every_shell_placeholder_is_quoted() -> None:
    """Every {input}/{output}/{params}/{log}/{wildcards}/{config} placeholder in a shell command is
    formatted with :q (Snakemake's shlex quoting); {threads} (an integer Snakemake sets) is the only
    exception. Hand-written quotes around a placeholder ('{...}') are refused: they break on a value
    holding a quote and let $(...) through."""
    allowed_bare = {"threads"}
    bad, seen = [], 0
    for path in RULES:
        for line, text in _shell_strings(path):
            for m in re.finditer(r"(?<!\{)\{([^{}]+)\}(?!\})", text):
                seen += 1
                field = m.group(1)
                if field in allowed_bare:
                    continue
                if not field.endswith(":q"):
                    bad.append(f"{path.name}:{line}: {{{field}}} without :q")
            if re.search(r"['\"]\{[^{}]+\}['\"]", text.replace('"', "", 1)[:-1]):
                bad.append(f"{path.name}:{line}: hand-quoted placeholder in {text}")
    assert seen > 100, f"only {seen} placeholders found: is the parser still reading the rules?"
    assert not bad, "\n".join(bad)


def test_no_run_blocks_and_no_shell_string_building() -> None:
    """No rule builds a shell string from values (params must be lists of words, formatted with :q)."""
    for path in RULES:
        text = path.read_text()
        assert not re.search(r"^\s+run:\s*$", text, re.MULTILINE), f"{path.name}: run: block"
        assert '" ".join(' not in text, f"{path.name}: joins words into a shell string"


# ------------------------------------------------------------------------- 2. configuration schema

def test_schema_refuses_unknown_keys_at_every_level() -> None:
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())

    def walk(node: dict, where: str) -> None:
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, f"{where or 'top level'} accepts unknown keys"
            for key, sub in node.get("properties", {}).items():
                walk(sub, f"{where}.{key}".lstrip("."))

    walk(schema, "")


def test_unknown_config_keys_stop_the_run(project: Path) -> None:
    cfg = _config(project)
    cfg["calling_typo"] = 1
    cfg["calling"]["somatic"]["min_vaff"] = 0.1
    cfg["calling"]["chunk_size"] = 10  # below the minimum: listed as well
    _write_config(project, cfg)
    res = _snakemake(project, "-n")
    assert res.returncode == 2, res.stderr[-3000:]
    cfgfile = str(project / "config.yaml")
    assert f"{cfgfile}: unknown key 'calling_typo'" in res.stderr
    assert (f"{cfgfile}: unknown key 'calling.somatic.min_vaff' (allowed under calling.somatic: "
            "min_vaf, panel_of_normals, tumor_only); did you mean 'calling.somatic.min_vaf'?") in res.stderr
    assert "calling.chunk_size: 10 is less than the minimum of 1000" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (project / "results").exists()


def test_config_defaults_come_from_the_schema(project: Path) -> None:
    """With calling/qc/params/report left out the schema's defaults are used, and they agree with the
    package's own defaults (one source of truth each, checked to agree)."""
    from bedside import qc
    from bedside.calling.germline import GermlineParams

    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    props = schema["properties"]
    germ = props["calling"]["properties"]["germline"]["properties"]
    assert germ["min_qual"]["default"] == GermlineParams().min_qual
    assert germ["min_depth"]["default"] == GermlineParams().min_depth
    assert germ["assembly"]["default"] is True  # the CLI default too (--no-assembly turns it off)
    for name, value in qc.DEFAULT_GATES.items():
        assert props["qc"]["properties"][name]["default"] == value, name
    cfg = _config(project)
    for key in ("calling", "qc", "params", "report"):
        cfg.pop(key)
    _write_config(project, cfg)
    from bedside import plan

    calling = props["calling"]["properties"]
    assert calling["chunk_size"]["default"] == "auto"
    assert calling["target_chunks"]["default"] == plan.DEFAULT_TARGET_CHUNKS
    assert calling["min_chunk_size"]["default"] == plan.DEFAULT_MIN_CHUNK
    # the whole small test genome is one packed chunk under the default plan
    [chunk] = plan.plan_chunks(plan.contig_lengths(project / cfg["reference"]["fasta"], cache_dir=None))
    res = _snakemake(project, "-n", "-p", f"results/P1/somatic/chunks/{chunk.name}.vcf.gz",
                     f"results/P1/germline/chunks/P1-N.{chunk.name}.bcf")
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout + res.stderr
    assert "--min-vaf 0.02 " in out
    # reassembly is on by default: no --no-assembly flag (the empty parameter leaves a double space)
    assert "--min-qual 20 --min-depth 5 --filter-model default  --caller both" in out
    assert "--no-assembly" not in out
    cfg["calling"] = {"germline": {"assembly": False}}
    _write_config(project, cfg)
    res = _snakemake(project, "-n", "-p", "--forceall", f"results/P1/germline/chunks/P1-N.{chunk.name}.bcf")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "--filter-model default --no-assembly --caller both" in res.stdout + res.stderr


def test_somatic_min_vaf_default_agrees_with_the_package() -> None:
    from bedside.calling.somatic_core import Params as SomaticParams

    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    somatic = schema["properties"]["calling"]["properties"]["somatic"]["properties"]
    assert somatic["min_vaf"]["default"] == SomaticParams().min_vaf


def test_unsplittable_extra_arguments_refused(project: Path) -> None:
    cfg = _config(project)
    cfg["params"]["fastp"] = "--adapter_sequence 'AGATC"
    _write_config(project, cfg)
    res = _snakemake(project, "-n")
    assert res.returncode == 2
    assert "params.fastp: cannot split" in res.stderr


# ------------------------------------------------------------------ 3. inputs checked before any job

def _knowledge_table(path: Path, bad_level: bool = False) -> None:
    src = (REPO / "src/bedside/knowledge/data/somatic_evidence.tsv").read_text().splitlines()
    header_end = next(i for i, ln in enumerate(src) if not ln.startswith("#"))
    rows = src[:header_end + 3]
    if bad_level:
        cols = rows[header_end].split("\t")
        cells = rows[header_end + 2].split("\t")
        cells[cols.index("evidence_level")] = "Z"
        rows[header_end + 2] = "\t".join(cells)
    path.write_text("\n".join(rows) + "\n")


def test_every_input_problem_listed_at_once_before_any_job(project: Path) -> None:
    """An impossible clinical value, a bad knowledge row, a broken GFF3 and a missing resource are all
    reported in one go, each naming its file and line, exit 2, and no job has run."""
    (project / "data/clinical.tsv").write_text("patient_id\tage\tsex\tdiagnosis\nP1\t250\tfemale\tLUAD\n")
    _knowledge_table(project / "data/kb.tsv", bad_level=True)
    gff = (project / "data/ref/genes.gff3").read_text().splitlines()
    gff[2] = gff[2].replace("\t1001\t2000\t", "\t2000\t1001\t")
    (project / "data/ref/genes.gff3").write_text("\n".join(gff) + "\n")
    cfg = _config(project)
    cfg["resources"]["knowledge"] = ["data/kb.tsv"]
    cfg["resources"]["clinvar"] = "data/nope.vcf.gz"
    _write_config(project, cfg)
    res = _snakemake(project, "--cores", "1")
    assert res.returncode == 2, res.stderr[-3000:]
    err = res.stderr
    assert "4 problem(s) in the inputs" in err, err
    assert "data/clinical.tsv, line 2, record P1: column age: 250 is impossible" in err, err
    assert re.search(r"data/kb.tsv, line \d+, record [\w.-]+: ", err), err
    assert "data/ref/genes.gff3, line 3: invalid interval 2000-1001" in err, err
    assert "data/nope.vcf.gz: file not found (config resources.clinvar)" in err
    assert "Traceback" not in err
    assert not (project / "results").exists()
    assert not (project / "resources").exists()


def test_failed_rerun_keeps_previous_good_results(project: Path) -> None:
    """Why results/PT01/clinical/ and case.json vanished: every patient's clinical_context job reads the
    whole clinical table, so one edited row reruns them all; each job validated the whole table, failed,
    and Snakemake deletes the outputs of a failed job. Now the table is checked while the workflow is
    parsed: the run stops before any job, and the previous results stay byte for byte."""
    target = "results/P1/clinical/context.json"
    res = _snakemake(project, "--cores", "1", target)
    assert res.returncode == 0, res.stderr[-3000:]
    before = (project / target).read_bytes()
    (project / "data/clinical.tsv").write_text("patient_id\tage\tsex\tdiagnosis\nP1\t250\tfemale\tLUAD\n")
    res = _snakemake(project, "--cores", "1", target)
    assert res.returncode == 2
    assert "data/clinical.tsv, line 2" in res.stderr
    assert (project / target).read_bytes() == before


def test_good_inputs_checked_once_then_remembered(project: Path) -> None:
    res = _snakemake(project, "-n")
    assert res.returncode == 0, res.stderr[-3000:]
    cache = json.loads((project / ".snakemake/bedside-preflight.json").read_text())
    assert any(k.startswith("clinical:") for k in cache["checks"])
    assert any(k.startswith("gff3:") for k in cache["checks"])
    # a changed file is checked again
    (project / "data/clinical.tsv").write_text("patient_id\tage\tsex\tdiagnosis\nP1\t-3\tfemale\tLUAD\n")
    res = _snakemake(project, "-n")
    assert res.returncode == 2
    assert "data/clinical.tsv, line 2" in res.stderr


def test_omop_extract_values_checked_before_any_job(project: Path) -> None:
    omop = project / "omop"
    shutil.copytree(REPO / "tests/data/clinical/omop", omop)
    person = omop / "person.csv"
    rows = person.read_text().splitlines()
    cols = rows[0].split(",")
    cells = rows[1].split(",")
    cells[cols.index("year_of_birth")] = "1700"
    rows[1] = ",".join(cells)
    person.write_text("\n".join(rows) + "\n")
    cfg = _config(project)
    cfg["clinical"] = {"omop": "omop"}
    _write_config(project, cfg)
    res = _snakemake(project, "-n")
    assert res.returncode == 2
    assert "impossible age" in res.stderr and "omop" in res.stderr
    assert "Traceback" not in res.stderr


def test_contig_names_of_resources_checked_before_any_job(project: Path) -> None:
    vcf = project / "data/pop.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n##contig=<ID=20,length=64444167>\n"
                   "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n20\t100\t.\tA\tG\t.\t.\tAF=0.1\n")
    subprocess.run(["bgzip", "-f", str(vcf)], check=True)
    subprocess.run(["tabix", "-p", "vcf", f"{vcf}.gz"], check=True)
    cfg = _config(project)
    cfg["resources"]["population"] = "data/pop.vcf.gz"
    _write_config(project, cfg)
    res = _snakemake(project, "-n")
    assert res.returncode == 2
    assert "data/pop.vcf.gz" in res.stderr and "contig" in res.stderr


def test_non_utf8_clinical_table_reported_once_bom_and_crlf_accepted(project: Path) -> None:
    table = project / "data/clinical.tsv"
    table.write_bytes(b"patient_id\tage\tsex\tdiagnosis\nP1\t60\tf\xe9male\tLUAD\n")
    res = _snakemake(project, "-n")
    assert res.returncode == 2
    assert "1 problem(s) in the inputs" in res.stderr, res.stderr
    assert "data/clinical.tsv, line 2" in res.stderr and "Traceback" not in res.stderr
    table.write_bytes(b"\xef\xbb\xbfpatient_id\tage\tsex\tdiagnosis\r\nP1\t60\tfemale\tLUAD\r\n")
    res = _snakemake(project, "-n")
    assert res.returncode == 0, res.stderr[-2000:]


def test_non_utf8_sheet_is_an_error_not_a_traceback(project: Path) -> None:
    (project / "data/samples.tsv").write_bytes(
        b"sample_name\tpatient\talias\nP1-T\tP1\ttumor\nP1-N\tP\xe9\tnormal\n")
    res = _snakemake(project, "-n")
    assert res.returncode == 2, res.stderr[-2000:]
    assert "data/samples.tsv" in res.stderr
    assert "Traceback" not in res.stderr


# ------------------------------------------------------------------------------ 4. outputs, statically

def test_outputs_carry_no_random_or_machine_specific_bytes() -> None:
    align = (REPO / "workflow/rules/align.smk").read_text()
    assert re.search(r"samtools merge[^\"]*--no-PG", align), "samtools merge must not add a @PG line"
    assert re.search(r"samtools merge[^\"]* -p ", align), "colliding @PG IDs must be combined, not renamed"
    for path in RULES:
        for _line, text in _shell_strings(path):
            if re.search(r"\bbcftools (concat|annotate|view|norm)\b", text):
                assert "--no-version" in text, f"{path.name}: {text}"


# ------------------------------------------------------------------------ 5. metacharacters, for real

def test_fastq_paths_fastp_cannot_carry_refused(tmp_path: Path) -> None:
    project = _make_project(tmp_path, "data", 'fq "quoted"')
    cfg = _config(project)
    cfg["params"]["fastp"] = shlex.join(["--adapter_fasta", 'a"b.fa'])
    _write_config(project, cfg)
    res = _snakemake(project, "-n")
    assert res.returncode == 2
    assert re.search(r"data/units.tsv, line 2: fq1 'fq \"quoted\"/P1-T_R1.fq.gz' holds '\"'", res.stderr), \
        res.stderr
    assert "config params.fastp: an argument of" in res.stderr
    assert not (project / "results").exists()


def test_dry_run_prints_metacharacters_quoted(tmp_path: Path) -> None:
    project = _make_project(tmp_path, EVIL_DIR, EVIL_FQ_DIR)
    cfg = _config(project)
    cfg["report"]["institution"] = INSTITUTION
    cfg["reference"]["build"] = BUILD
    cfg["params"]["fastp"] = shlex.join(["--adapter_fasta", f"{EVIL_FQ_DIR}/adapters.fa"])
    _write_config(project, cfg)
    res = _snakemake(project, "-n", "-p", "results/P1/report.json")
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout + res.stderr
    assert f"--institution={shlex.quote(INSTITUTION)}" in out
    assert f"--build={shlex.quote(BUILD)}" in out
    assert f"--adapter_fasta {shlex.quote(EVIL_FQ_DIR + '/adapters.fa')}" in out
    assert f"--samples {shlex.quote(EVIL_DIR + '/samples.tsv')}" in out
    assert not list(tmp_path.rglob("pwned*"))


@pytest.mark.slow
def test_metacharacters_in_every_string_value_reach_tools_verbatim(tmp_path: Path) -> None:
    """A real run (one tumor/normal patient, every rule up to the report) with every input under a
    directory named with quotes, $(...), backticks and ';', and quotes/metacharacters in the
    institution, the build and the extra tool arguments: nothing is executed, every value arrives
    verbatim."""
    project = _make_project(tmp_path, EVIL_DIR, EVIL_FQ_DIR)
    data = project / EVIL_DIR
    (project / EVIL_FQ_DIR / "adapters.fa").write_text(">adapter\nAGATCGGAAGAGC\n")
    civic = "01-Nov-2026-ClinicalEvidenceSummaries.tsv"
    shutil.copy(REPO / "tests/data/knowledge" / civic, data / civic)
    (project / "keep").mkdir()
    cfg = _config(project)
    cfg["report"]["institution"] = INSTITUTION
    cfg["reference"]["build"] = BUILD
    cfg["resources"]["knowledge"] = [f"{EVIL_DIR}/{civic}"]
    cfg["params"]["fastp"] = shlex.join(["--adapter_fasta", f"{EVIL_FQ_DIR}/adapters.fa"])
    cfg["params"]["bwa"] = shlex.join(["-H", BWA_COMMENT])
    _write_config(project, cfg)
    res = _snakemake(project, "--cores", "2", "results/P1/report.json", "results/P1/report.html")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    assert not list(tmp_path.rglob("pwned*")), "a configured value was executed by the shell"
    assert (project / "keep").is_dir()
    report = json.loads((project / "results/P1/report.json").read_text())
    case = json.loads((project / "results/P1/case.json").read_text())
    assert report["institution"] == INSTITUTION
    assert case["assay"]["build"] == BUILD
    assert f"civic:{civic}" in case["versions"]  # the knowledge table under EVIL_DIR was read
    fastp = json.loads((project / "results/P1/qc/fastp/P1-N.L1.json").read_text())
    assert f"{EVIL_FQ_DIR}/adapters.fa" in fastp["command"]
    header = subprocess.run(["samtools", "view", "-H", str(project / "results/P1/align/P1-N.bam")],
                            capture_output=True, text=True, check=True).stdout
    assert BWA_COMMENT.replace("\\t", "\t") in header


# ------------------------------------------------------------------------------ 6. corrupt FASTQs

@pytest.mark.slow
def test_truncated_fastq_fails_the_run_naming_the_file(project: Path) -> None:
    r1 = project / "data/fq/P1-N_R1.fq.gz"
    raw = r1.read_bytes()
    r1.write_bytes(raw[: len(raw) // 2])
    res = _snakemake(project, "--cores", "2", "results/P1/align/P1-N.bam")
    assert res.returncode != 0
    log = (project / "logs/P1/fastq_check/P1-N.L1.log").read_text()
    assert "data/fq/P1-N_R1.fq.gz" in log and "truncated gzip" in log, log
    assert not (project / "results/P1/align/P1-N.bam").exists()


def test_check_fastq_command_registered() -> None:
    with pytest.raises(SystemExit) as exc:
        cli_main(["check-fastq", "--help"])
    assert exc.value.code == 0


# ------------------------------------------------------------------- FASTQ integrity (unit tests)

from bedside.errors import InputError  # noqa: E402
from bedside.io.fastq import check_fastq, check_pair  # noqa: E402


def _pair(tmp_path: Path, n: int = 50, names2: str = "p{i}/2") -> tuple[Path, Path]:
    rnd = random.Random(3)
    r1, r2 = tmp_path / "x_R1.fq.gz", tmp_path / "x_R2.fq.gz"
    with gzip.open(r1, "wt") as f1, gzip.open(r2, "wt") as f2:
        for i in range(n):
            s1 = "".join(rnd.choice("ACGT") for _ in range(80))
            s2 = "".join(rnd.choice("ACGT") for _ in range(80))
            f1.write(f"@p{i}/1 comment\n{s1}\n+\n{'F' * 80}\n")
            f2.write(f"@{names2.format(i=i)}\n{s2}\n+\n{'F' * 80}\n")
    return r1, r2


def _run_check(*argv: str) -> int:
    import argparse

    from bedside.commands import check_fastq

    parser = argparse.ArgumentParser()
    check_fastq.add_parser(parser.add_subparsers())
    args = parser.parse_args(["check-fastq", *argv])
    return args.func(args)


def test_check_fastq_good_pair(tmp_path: Path, capsys) -> None:
    r1, r2 = _pair(tmp_path)
    stats = check_pair(r1, r2)
    assert [(s.reads, s.bases) for s in stats] == [(50, 4000), (50, 4000)]
    out = tmp_path / "counts.json"
    assert _run_check(str(r1), str(r2), "--out", str(out)) == 0
    assert json.loads(out.read_text())["files"][0]["reads"] == 50
    # plain (uncompressed) FASTQ is read as well
    plain = tmp_path / "plain.fq"
    plain.write_bytes(gzip.decompress(r1.read_bytes()))
    assert check_fastq(plain).reads == 50


def test_check_fastq_truncated_gzip(tmp_path: Path) -> None:
    r1, r2 = _pair(tmp_path, n=2000)
    raw = r1.read_bytes()
    r1.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match=r"x_R1.fq.gz: truncated gzip file after \d+ complete reads"):
        check_pair(r1, r2)


def test_check_fastq_corrupt_gzip(tmp_path: Path) -> None:
    r1, r2 = _pair(tmp_path, n=200)
    raw = bytearray(r1.read_bytes())
    raw[-6] ^= 0xFF  # CRC / length trailer
    r1.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="x_R1.fq.gz: corrupt gzip file"):
        check_pair(r1, r2)


@pytest.mark.parametrize("content", [b"", gzip.compress(b"")])
def test_check_fastq_empty(tmp_path: Path, content: bytes) -> None:
    r1, r2 = _pair(tmp_path)
    r2.write_bytes(content)
    with pytest.raises(InputError, match=r"x_R2.fq.gz: no reads \(empty FASTQ\)"):
        check_pair(r1, r2)
    r1.write_bytes(content)
    with pytest.raises(InputError, match=r"x_R1.fq.gz: no reads"):
        check_pair(r1, r2)


def test_check_fastq_not_fastq(tmp_path: Path) -> None:
    r1, r2 = _pair(tmp_path)
    r1.write_bytes(gzip.compress(b">seq1\nACGT\n>seq2\nACGT\n"))
    with pytest.raises(InputError, match=r"x_R1.fq.gz, line 1: not a FASTQ record: header line starts with '>seq1', expected '@'"):
        check_pair(r1, r2)
    r1.write_bytes(gzip.compress(b"@r1\nACGT\n+\nIII\n"))
    with pytest.raises(InputError, match="line 2, record r1: sequence length 4 but quality length 3"):
        check_fastq(r1)
    r1.write_bytes(gzip.compress(b"@r1\nACGT\n+\nIIII\n@r2\nACGT\n"))
    with pytest.raises(InputError, match=r"file ends inside a record"):
        check_fastq(r1)


def test_check_fastq_mate_parity(tmp_path: Path) -> None:
    r1, r2 = _pair(tmp_path, names2="q{i}/2")
    with pytest.raises(InputError, match=r"x_R1.fq.gz, record #1: mates out of order: read 1 is 'p0'"):
        check_pair(r1, r2)
    r1, r2 = _pair(tmp_path)
    lines = gzip.decompress(r2.read_bytes()).splitlines(keepends=True)
    r2.write_bytes(gzip.compress(b"".join(lines[:-8])))  # two reads fewer
    with pytest.raises(InputError, match=r"read 1 has more reads than read 2 \(.*x_R2.fq.gz ends after 48"):
        check_pair(r1, r2)


def test_check_fastq_against_fastp_json(tmp_path: Path) -> None:
    r1, r2 = _pair(tmp_path)
    fastp = tmp_path / "fastp.json"
    fastp.write_text(json.dumps({"read1_before_filtering": {"total_reads": 25},
                                 "read2_before_filtering": {"total_reads": 25}}))
    with pytest.raises(InputError, match=r"fastp.json: fastp read \(25, 25\) reads but the FASTQ files hold "
                                         r"\(50, 50\)"):
        _run_check(str(r1), str(r2), "--fastp-json", str(fastp))
    fastp.write_text(json.dumps({"read1_before_filtering": {"total_reads": 50},
                                 "read2_before_filtering": {"total_reads": 50}}))
    assert _run_check(str(r1), str(r2), "--fastp-json", str(fastp)) == 0
    fastp.write_text('{"command": "fastp --in1 "a b""}')
    with pytest.raises(InputError, match="cannot read the fastp JSON report"):
        _run_check(str(r1), str(r2), "--fastp-json", str(fastp))


# ------------------------------------------------------------------------- property-based checks

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_records = st.lists(
    st.tuples(st.from_regex(r"[A-Za-z0-9_:.-]{1,20}", fullmatch=True), st.text("ACGTN", min_size=1, max_size=60)),
    min_size=1, max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=_records, cut=st.floats(min_value=0.0, max_value=0.999))
def test_check_fastq_counts_and_any_truncation_is_caught(tmp_path: Path, records, cut: float) -> None:
    """Any FASTQ is counted exactly; a gzip cut at any byte is an InputError naming the file (never a
    silent short count, never a traceback)."""
    text = "".join(f"@{name}\n{seq}\n+\n{'#' * len(seq)}\n" for name, seq in records)
    path = tmp_path / "r.fq.gz"
    data = gzip.compress(text.encode())
    path.write_bytes(data)
    stats = check_fastq(path)
    assert (stats.reads, stats.bases) == (len(records), sum(len(s) for _, s in records))
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(InputError) as exc:
        check_fastq(path)
    assert str(path) in str(exc.value)


_key = st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(section=st.sampled_from([(), ("calling",), ("calling", "somatic"), ("calling", "germline"), ("qc",),
                                 ("report",), ("reference",), ("resources",), ("params",), ("clinical",)]),
       key=_key)
def test_any_unknown_config_key_is_named(section: tuple[str, ...], key: str) -> None:
    from bedside.io.preflight import _subschema, config_problems

    schema_path = REPO / "workflow/schemas/config.schema.yaml"
    schema = yaml.safe_load(schema_path.read_text())
    if key in _subschema(schema, section).get("properties", {}):
        return
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    node = cfg
    for s in section:
        node = node.setdefault(s, {})
    node[key] = 1
    problems = config_problems(cfg, schema_path, ["config/config.yaml"])
    full = ".".join([*section, key])
    assert any(p.startswith(f"config/config.yaml: unknown key '{full}'") for p in problems), problems


@pytest.mark.slow
def test_resume_after_kill_as_documented(project: Path) -> None:
    """config/README.md 'Resuming after a kill': a SIGKILLed run leaves the lock; `--unlock` then a rerun
    with --rerun-incomplete finishes, reusing the steps that had finished."""
    import os
    import signal
    import time

    target = "results/P1/report.json"
    proc = subprocess.Popen(
        [*SNAKEMAKE, "-s", str(REPO / "workflow/Snakefile"), "--directory", str(project),
         "--configfile", str(project / "config.yaml"), "--cores", "2", target],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (project / "results/P1/align/P1-N.bam").exists():
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (project / target).exists(), "the run finished before it could be killed"
    res = _snakemake(project, "--cores", "2", target)
    # Snakemake reports either the left-over lock or, when a job was cut short, its incomplete outputs
    # (checked first, while the DAG is built); the documented recovery is the same for both
    assert res.returncode != 0 and ("cannot be locked" in res.stderr
                                    or "IncompleteFilesException" in res.stderr), res.stderr[-2000:]
    assert _snakemake(project, "--unlock").returncode == 0
    res = _snakemake(project, "--cores", "2", "--rerun-incomplete", target)
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads((project / target).read_text())["patient"]["id"] == "P1"


@pytest.mark.slow
def test_two_folders_give_identical_bams_and_vcf_bodies(tmp_path: Path) -> None:
    """The same inputs run in two folders: merged, duplicate-marked BAMs are byte-identical (no random @PG
    IDs from samtools merge, no absolute paths), and the somatic VCF bodies are identical."""
    outs = []
    for name in ("a", "b"):
        project = _make_project(tmp_path / name)
        # a second lane for the tumor, so samtools merge meets colliding @PG IDs
        units = (project / "data/units.tsv").read_text().splitlines()
        lane2 = units[1].replace("\tL1\t", "\tL2\t")
        (project / "data/units.tsv").write_text("\n".join([*units, lane2]) + "\n")
        targets = ["results/P1/align/P1-T.bam", "results/P1/somatic/P1.vcf.gz", "results/P1/report.json",
                   "results/P1/report.html", "results/P1/report.fhir.json"]
        env = {**os.environ, "SOURCE_DATE_EPOCH": "1764547200"}  # 2025-12-01: one fixed report date
        res = _snakemake(project, "--cores", "2", *targets, env=env)
        assert res.returncode == 0, res.stderr[-3000:]
        outs.append(project)
    a, b = outs
    bam_a, bam_b = (p / "results/P1/align/P1-T.bam" for p in outs)
    header = subprocess.run(["samtools", "view", "--no-PG", "-H", str(bam_a)], capture_output=True, text=True,
                            check=True).stdout
    assert str(tmp_path) not in header
    assert bam_a.read_bytes() == bam_b.read_bytes()

    def body(p: Path) -> list[str]:
        with gzip.open(p / "results/P1/somatic/P1.vcf.gz", "rt") as fh:
            return [ln for ln in fh if not ln.startswith("##")]

    assert body(a) == body(b)
    # reports (HTML, typed JSON, FHIR) are byte-identical across folders with SOURCE_DATE_EPOCH set
    for name in ("report.json", "report.html", "report.fhir.json"):
        ra, rb = ((p / "results/P1" / name).read_bytes() for p in outs)
        assert ra == rb, name
        assert str(tmp_path).encode() not in ra, name
