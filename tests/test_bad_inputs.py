"""A battery of bad inputs across the CLI: each must end in exit 2 with the file and the line or record
named on stderr, no traceback, no output file (not even a partial or temporary one), and a previous output
kept as it was. Data-driven: every case is (files to write, command line, what stderr must name)."""

from __future__ import annotations

import gzip
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bedside.cli import main

DATA = Path(__file__).parent / "data"
FA, GFF = DATA / "annotate" / "ref.fa", DATA / "annotate" / "genes.gff3"
OMOP = DATA / "clinical" / "omop"
needs_bcftools = pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools not installed")

SAMPLES = "sample_name\tpatient\talias\tplatform\nS1-T\tP1\ttumor\tILLUMINA\nS1-N\tP1\tnormal\tILLUMINA\n"
UNITS = "sample_name\tunit_name\tfq1\tfq2\nS1-T\tU1\tt1.fq.gz\tt2.fq.gz\nS1-N\tU1\tn1.fq.gz\tn2.fq.gz\n"
CLIN_HEAD = "patient_id\tage\tsex\tdiagnosis\tmedications\tlabs\tsmoking_status\tpack_years\tbmi\n"
CLIN_OK = "P1\t61\tmale\tLUAD\tomeprazole\tcreatinine_clearance=80 mL/min\tcurrent\t30\t24.5\n"
VCF_HEAD = ("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=20000>\n"
            '##INFO=<ID=TLOD,Number=A,Type=Float,Description="t">\n'
            '##INFO=<ID=DP,Number=1,Type=Integer,Description="d">\n'
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")


def _ref(pos: int) -> str:
    seq = "".join(ln.strip() for ln in FA.read_text().splitlines()[1:])
    return seq[pos - 1]


def _vcf(*records: str) -> str:
    return VCF_HEAD + "".join(r + "\n" for r in records)


def _ok_record(pos: int, info: str = "TLOD=5.5") -> str:
    ref = _ref(pos)
    alt = "A" if ref != "A" else "C"
    return f"chr1\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t{info}"


@dataclass
class Case:
    id: str
    files: dict[str, str | bytes]  # name -> content (written under the case folder)
    argv: list[str]  # {d}: the case folder, {fa}/{gff}: fixture reference
    expect: list[str]  # substrings stderr must contain (the file and the line/record)
    out: str | None = None  # the output the command would write (relative to the case folder)
    copy_omop: bool = False  # start from the OMOP fixture folder (files then override tables)
    marks: list = field(default_factory=list)


def _sheets(samples=SAMPLES, units=UNITS, clinical=None, extra=()):
    files = {"samples.tsv": samples, "units.tsv": units}
    argv = ["validate", "sheets", "--samples", "{d}/samples.tsv", "--units", "{d}/units.tsv", "--no-file-check"]
    if clinical is not None:
        files["clinical.tsv"] = clinical
        argv += ["--clinical", "{d}/clinical.tsv"]
    return files, argv + list(extra)


def _clin(table: str | bytes):
    return ({"clinical.tsv": table},
            ["clinical", "--table", "{d}/clinical.tsv", "--all", "--out", "{d}/out.json"])


def _omop(**tables: str | bytes):
    return ({f"omop/{k}.csv": v for k, v in tables.items()},
            ["clinical", "--omop", "{d}/omop", "--all", "--as-of", "2026-11-28", "--out", "{d}/out.json"])


def _annotate(vcf: str | bytes, name: str = "in.vcf", fa: str = "{fa}", gff: str = "{gff}"):
    return ({name: vcf}, ["annotate", "--vcf", f"{{d}}/{name}", "--fasta", fa, "--gff3", gff,
                          "--no-cache", "--threads", "1", "--out", "{d}/out.vcf.gz"])


def _gz_truncated(text: str) -> bytes:
    data = gzip.compress(text.encode() * 50)
    return data[: len(data) // 2]


LATIN1 = "P1\t61\tmale\tLUAD\tom\xe9prazole\t\tcurrent\t30\t24.5\n".encode("latin-1")
MEAS = ("measurement_id,person_id,measurement_concept_id,measurement_date,value_as_number,unit_concept_id,"
        "unit_source_value,measurement_source_value\n")
COND = "condition_occurrence_id,person_id,condition_concept_id,condition_start_date,condition_source_value\n"
DRUG = ("drug_exposure_id,person_id,drug_concept_id,drug_exposure_start_date,drug_exposure_end_date,"
        "drug_source_value\n")
PERSON = "person_id,gender_concept_id,year_of_birth,month_of_birth,race_concept_id,ethnicity_concept_id\n"


def _cases() -> list[Case]:
    c: list[Case] = []

    def add(id, files_argv, expect, out=None, copy_omop=False, marks=()):
        files, argv = files_argv
        c.append(Case(id, files, argv, expect, out, copy_omop, list(marks)))

    # --- sample and units sheets (bedside validate sheets)
    add("samples-space-separated", _sheets(samples=SAMPLES.replace("\t", "  ")),
        ["samples.tsv", "line 1", "space-separated"])
    add("samples-latin1", _sheets(samples=(SAMPLES + "S2-T\tP\xe92\ttumor\tILLUMINA\n").encode("latin-1")),
        ["samples.tsv", "line 4", "not UTF-8", "byte offset"])
    add("samples-utf16", _sheets(samples=SAMPLES.encode("utf-16")), ["samples.tsv", "line 1", "UTF-16"])
    add("samples-missing-column", _sheets(samples="sample_name\tpatient\nS1-T\tP1\n"),
        ["samples.tsv", "line 1", "alias"])
    add("samples-duplicate", _sheets(samples=SAMPLES + "S1-T\tP1\ttumor\tILLUMINA\n"),
        ["samples.tsv", "line 4", "duplicate sample"])
    add("samples-bad-alias", _sheets(samples=SAMPLES.replace("\ttumor\t", "\ttumour\t")),
        ["samples.tsv", "line 2", "alias"])
    add("samples-shell-metacharacters", _sheets(samples=SAMPLES.replace("S1-T\tP1", "S1;rm -rf ~\tP1")),
        ["samples.tsv", "line 2", "sample_name"])
    add("units-space-separated-line", _sheets(units=UNITS.replace("S1-N\tU1\tn1.fq.gz\tn2.fq.gz",
                                                                  "S1-N U1 n1.fq.gz n2.fq.gz")),
        ["units.tsv", "line 3", "space-separated"])
    add("units-no-fq2", _sheets(units="sample_name\tunit_name\tfq1\nS1-T\tU1\tt1.fq.gz\nS1-N\tU1\tn1.fq.gz\n"),
        ["units.tsv", "line 2", "fq2"])
    add("units-unknown-sample", _sheets(units=UNITS + "S9\tU1\tx1.fq.gz\tx2.fq.gz\n"),
        ["units.tsv", "line 4", "S9"])
    add("units-extra-field", _sheets(units=UNITS + "S1-T\tU2\ta.fq.gz\tb.fq.gz\textra\n"),
        ["units.tsv", "line 4", "fields"])
    add("sheets-clinical-latin1", _sheets(clinical=CLIN_HEAD.encode() + LATIN1),
        ["clinical.tsv", "line 2", "not UTF-8"])

    # --- clinical table (bedside clinical --table)
    add("clinical-age-250", _clin(CLIN_HEAD + CLIN_OK.replace("\t61\t", "\t250\t")),
        ["clinical.tsv", "line 2", "P1", "age"], out="out.json")
    add("clinical-lab-without-unit", _clin(CLIN_HEAD + CLIN_OK.replace("=80 mL/min", "=80")),
        ["clinical.tsv", "line 2", "unit"], out="out.json")
    add("clinical-unknown-column", _clin(CLIN_HEAD.replace("bmi", "bmii") + CLIN_OK),
        ["clinical.tsv", "line 1", "bmii"], out="out.json")
    add("clinical-latin1", _clin(CLIN_HEAD.encode() + CLIN_OK.encode() + LATIN1.replace(b"P1", b"P2")),
        ["clinical.tsv", "line 3", "not UTF-8"], out="out.json")
    add("clinical-duplicate-patient", _clin(CLIN_HEAD + CLIN_OK + CLIN_OK),
        ["clinical.tsv", "line 3", "P1"], out="out.json")
    add("clinical-space-separated", _clin((CLIN_HEAD + CLIN_OK).replace("\t", " ")),
        ["clinical.tsv", "line 1", "space-separated"], out="out.json")
    add("clinical-bmi-text", _clin(CLIN_HEAD + CLIN_OK.replace("\t24.5", "\tnormal")),
        ["clinical.tsv", "line 2", "bmi"], out="out.json")
    add("clinical-too-many-fields", _clin(CLIN_HEAD + CLIN_OK.rstrip("\n") + "\textra\n"),
        ["clinical.tsv", "line 2", "fields"], out="out.json")
    add("clinical-never-smoker-pack-years", _clin(CLIN_HEAD + CLIN_OK.replace("current", "never")),
        ["clinical.tsv", "line 2", "pack"], out="out.json")

    # --- OMOP extract (bedside clinical --omop)
    add("omop-measurement-2099", _omop(measurement=MEAS + "1,101,900021,2099-05-01,85,900041,,\n"),
        ["measurement.csv:2", "2099-05-01", "future"], out="out.json", copy_omop=True)
    add("omop-measurement-1850", _omop(measurement=MEAS + "1,101,900021,1850-05-01,85,900041,,\n"),
        ["measurement.csv:2", "1850-05-01"], out="out.json", copy_omop=True)
    add("omop-condition-date-text", _omop(condition_occurrence=COND + "1,101,900001,yesterday,\n"),
        ["condition_occurrence.csv:2", "yesterday"], out="out.json", copy_omop=True)
    add("omop-year-of-birth-text", _omop(person=PERSON + "101,8532,19x3,5,0,0\n"),
        ["person.csv:2", "year_of_birth"], out="out.json", copy_omop=True)
    add("omop-drug-end-before-start", _omop(drug_exposure=DRUG + "1,101,900011,2026-01-01,2025-01-01,\n"),
        ["drug_exposure.csv:2", "before"], out="out.json", copy_omop=True)
    add("omop-measurement-latin1", _omop(measurement=(MEAS + "1,101,900021,2026-05-01,85,900041,\xb5mol/l,\n")
                                         .encode("latin-1")),
        ["measurement.csv", "line 2", "not UTF-8"], out="out.json", copy_omop=True)
    add("omop-extra-field", _omop(person=PERSON + "101,8532,1963,5,0,0,9,9\n"),
        ["person.csv", "line 2", "fields"], out="out.json", copy_omop=True)

    # --- VCFs (bedside annotate)
    bc = [needs_bcftools]
    add("vcf-tlod-not-a-number", _annotate(_vcf(_ok_record(5200), _ok_record(5250, "TLOD=abc"))),
        ["in.vcf", "line 7", "chr1:5250", "TLOD"], out="out.vcf.gz", marks=bc)
    add("vcf-dp-not-an-integer", _annotate(_vcf(_ok_record(5200, "DP=3.5"))),
        ["in.vcf", "line 6", "chr1:5200", "DP"], out="out.vcf.gz", marks=bc)
    add("vcf-pos-not-a-number", _annotate(_vcf(_ok_record(5200).replace("5200", "abc"))),
        ["in.vcf", "line 6", "chr1:abc", "POS"], out="out.vcf.gz", marks=bc)
    add("vcf-seven-columns", _annotate(_vcf(_ok_record(5200).rsplit("\t", 1)[0])),
        ["in.vcf", "line 6", "columns"], out="out.vcf.gz", marks=bc)
    add("vcf-ref-not-bases", _annotate(_vcf("chr1\t5200\t.\tX1\tA\t.\tPASS\t.")),
        ["in.vcf", "line 6", "REF"], out="out.vcf.gz", marks=bc)
    add("vcf-space-separated", _annotate(_vcf(_ok_record(5200).replace("\t", " "))),
        ["in.vcf", "line 6", "space-separated"], out="out.vcf.gz", marks=bc)
    add("vcf-not-a-vcf", _annotate("hello world\nthis is not a VCF\n"),
        ["in.vcf", "line 1", "#CHROM"], out="out.vcf.gz", marks=bc)
    add("vcf-truncated-gzip", _annotate(_gz_truncated(_vcf(_ok_record(5200))), name="in.vcf.gz"),
        ["in.vcf.gz", "truncated"], out="out.vcf.gz", marks=bc)
    add("vcf-contig-not-in-reference", _annotate(_vcf(_ok_record(5200).replace("chr1", "chrZ"))),
        ["in.vcf", "chrZ"], out="out.vcf.gz", marks=bc)
    add("vcf-empty-file", _annotate(""), ["in.vcf", "line 1", "empty"], out="out.vcf.gz", marks=bc)

    # --- FASTA / GFF3
    files, argv = _annotate(_vcf(_ok_record(5200)), fa="{d}/bad.fa")
    add("fasta-not-a-fasta", ({**files, "bad.fa": "this is not a FASTA file\n"}, argv), ["bad.fa"],
        out="out.vcf.gz", marks=bc)
    add("gff3-eight-columns", ({"genes.gff3": "##gff-version 3\nchr1\tx\tgene\t1\t100\t.\t+\t.\n"},
                               ["validate", "gff3", "{d}/genes.gff3", "--out", "{d}/out.gff3"]),
        ["genes.gff3", "line 2", "9 tab-separated"], out="out.gff3")
    add("gff3-inverted-interval", ({"genes.gff3": "##gff-version 3\nchr1\tx\tgene\t100\t1\t.\t+\t.\tID=g\n"},
                                   ["validate", "gff3", "{d}/genes.gff3", "--out", "{d}/out.gff3"]),
        ["genes.gff3", "line 2", "interval"], out="out.gff3")
    add("gff3-latin1", ({"genes.gff3": b"##gff-version 3\nchr1\tx\tgene\t1\t100\t.\t+\t.\tName=g\xe9ne\n"},
                        ["validate", "gff3", "{d}/genes.gff3", "--out", "{d}/out.gff3"]),
        ["genes.gff3", "line 2", "UTF-8"], out="out.gff3")

    # --- knowledge TSV and tier inputs
    kb_head = ("id\tgene\talteration_type\talteration\ttumor_type\ttherapy\tdirection\tevidence_level\tsource\t"
               "pmid\tcitation\tcurated\n")
    kb_row = ("X-1\tBRAF\tprotein_change\tp.Val600Glu\tMEL\tdabrafenib\tsensitivity\tA\tFDA label\t"
              "29151359\tcitation\t2026-12-01\n")
    tier_in = "gene\thgvs_p\ttumor_type\nBRAF\tp.Val600Glu\tMEL\n"
    add("knowledge-bad-level", ({"kb.tsv": kb_head + kb_row.replace("\tA\t", "\tZ\t"), "in.tsv": tier_in},
                                ["tier", "--input", "{d}/in.tsv", "--knowledge", "{d}/kb.tsv",
                                 "--out-tsv", "{d}/out.tsv", "--out-json", "{d}/out.json"]),
        ["kb.tsv", "line 2"], out="out.tsv")
    add("knowledge-short-row", ({"kb.tsv": kb_head + kb_row.replace("\tcitation", ""), "in.tsv": tier_in},
                                ["tier", "--input", "{d}/in.tsv", "--knowledge", "{d}/kb.tsv",
                                 "--out-tsv", "{d}/out.tsv", "--out-json", "{d}/out.json"]),
        ["kb.tsv", "line 2", "fields"], out="out.tsv")
    add("knowledge-latin1", ({"kb.tsv": (kb_head + kb_row.replace("citation", "citati\xf3n")).encode("latin-1"),
                              "in.tsv": tier_in},
                             ["tier", "--input", "{d}/in.tsv", "--knowledge", "{d}/kb.tsv",
                              "--out-tsv", "{d}/out.tsv", "--out-json", "{d}/out.json"]),
        ["kb.tsv", "line 2", "UTF-8"], out="out.tsv")
    add("tier-unannotated-vcf", ({"in.vcf": _vcf(_ok_record(5200))},
                                 ["tier", "--vcf", "{d}/in.vcf", "--tumor-type", "MEL",
                                  "--out-tsv", "{d}/out.tsv", "--out-json", "{d}/out.json"]),
        ["in.vcf", "not annotated", "bedside annotate"], out="out.tsv")

    # --- case.json (bedside report)
    add("case-json-invalid", ({"case.json": '{"patient_id": "P1", "findings": [\n'},
                              ["report", "{d}/case.json", "--html", "{d}/out.html"]),
        ["case.json", "line"], out="out.html")
    return c


CASES = _cases()


def _materialise(case: Case, d: Path) -> list[str]:
    d.mkdir(parents=True, exist_ok=True)
    if case.copy_omop:
        shutil.copytree(OMOP, d / "omop")
    for name, content in case.files.items():
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    return [a.format(d=d, fa=FA, gff=GFF) for a in case.argv]


def _params():
    return [pytest.param(c, id=c.id, marks=c.marks) for c in CASES]


def test_battery_size():
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", _params())
def test_bad_input(case: Case, tmp_path, capsys):
    d = tmp_path / "case"
    argv = _materialise(case, d)
    before = set(d.rglob("*"))
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, f"exit {rc}, stderr: {err}"
    assert "Traceback" not in err
    for s in case.expect:
        assert s in err, f"{s!r} not in stderr: {err}"
    # nothing new left behind: no output, no partial or temporary file
    assert set(d.rglob("*")) == before, sorted(map(str, set(d.rglob("*")) - before))
    if case.out:
        # a previous output is kept as it was
        out = d / case.out
        out.write_bytes(b"previous result\n")
        assert main(argv) == 2
        capsys.readouterr()
        assert out.read_bytes() == b"previous result\n"


def test_bom_and_crlf_sheets_are_accepted(tmp_path, capsys):
    """Not bad inputs: a UTF-8 byte-order mark and Windows line ends are read as written."""
    d = tmp_path
    (d / "samples.tsv").write_bytes(b"\xef\xbb\xbf" + SAMPLES.replace("\n", "\r\n").encode())
    (d / "units.tsv").write_bytes(UNITS.replace("\n", "\r\n").encode())
    (d / "clinical.tsv").write_bytes(b"\xef\xbb\xbf" + (CLIN_HEAD + CLIN_OK).replace("\n", "\r\n").encode())
    assert main(["validate", "sheets", "--samples", str(d / "samples.tsv"), "--units", str(d / "units.tsv"),
                 "--clinical", str(d / "clinical.tsv"), "--no-file-check"]) == 0
    assert "2 samples, 2 units, 1 patients" in capsys.readouterr().out
    out = d / "ctx.json"
    assert main(["clinical", "--table", str(d / "clinical.tsv"), "--patient", "P1", "--out", str(out)]) == 0
    import json

    doc = json.loads(out.read_text())
    assert doc["patient_id"] == "P1" and doc["bmi"] == 24.5


def test_outputs_honour_the_umask(tmp_path):
    import os

    from bedside.tools import atomic_path

    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "a.txt") as tmp:
            tmp.write_text("x")
        os.umask(0o027)
        with atomic_path(tmp_path / "b.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.txt").stat().st_mode & 0o777 == 0o640
