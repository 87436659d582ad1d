"""Property-based tests (hypothesis) of the parsers and writers that take user input: sample sheets, the
clinical table, VCF INFO editing and checking, HGVS protein changes, knowledge-base rows. Each property
says what holds for every input of its kind: a valid input round-trips, whatever its line ends, byte-order
mark, comments or blank lines; an invalid one is an InputError/KnowledgeError (never another exception)."""

from __future__ import annotations

import math
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bedside.annotate.hgvs import AA1, AA3, parse_protein_change
from bedside.annotate.vcftext import _edit_chunk, check_vcf_values
from bedside.errors import InputError, KnowledgeError
from bedside.io.clinical import read_clinical_table
from bedside.io.sheets import load_samples, read_tsv

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,11}", fullmatch=True)
line_ends = st.sampled_from(["\n", "\r\n"])


def _write(path: Path, lines: list[str], eol: str, bom: bool) -> None:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (eol.join(lines) + eol).encode())


# ------------------------------------------------------------------------------------------ sample sheets

@st.composite
def sample_sheets(draw):
    patients = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    rows = []
    used: set[str] = set()
    for p in patients:
        for alias in draw(st.lists(st.sampled_from(["tumor", "normal"]), min_size=1, max_size=2, unique=True)):
            s = draw(names.filter(lambda n: n not in used))
            used.add(s)
            rows.append((s, p, alias))
    return rows


@SETTINGS
@given(rows=sample_sheets(), eol=line_ends, bom=st.booleans(), comments=st.integers(0, 2),
       blank_after=st.integers(0, 3))
def test_sample_sheet_round_trip(tmp_path, rows, eol, bom, comments, blank_after):
    lines = ["# a comment"] * comments + ["sample_name\tpatient\talias"]
    for s, p, a in rows:
        lines.append(f"{s}\t{p}\t{a}")
    if blank_after:  # a blank line somewhere among the rows
        lines.insert(len(lines) - min(blank_after, len(rows)), "")
    path = tmp_path / "samples.tsv"
    _write(path, lines, eol, bom)
    got = load_samples(path)
    assert [(x.sample_name, x.patient, x.alias) for x in got.values()] == rows
    text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n").split("\n")
    for x in got.values():  # the line numbers point at the row in the file as a user opens it
        assert text[x.line - 1].split("\t")[0] == x.sample_name


@SETTINGS
@given(data=st.binary(max_size=300))
def test_any_bytes_as_a_sheet_is_read_or_refused(tmp_path, data):
    path = tmp_path / "sheet.tsv"
    path.write_bytes(data)
    try:
        rows = list(read_tsv(path, required=("sample_name",)))
    except InputError as exc:
        assert str(path) in str(exc)
        return
    for lineno, row in rows:
        assert lineno >= 2 and "sample_name" in row


@SETTINGS
@given(rows=sample_sheets())
def test_space_separated_sheet_is_explained(tmp_path, rows):
    path = tmp_path / "samples.tsv"
    path.write_text("sample_name  patient  alias\n" + "".join(f"{s}  {p}  {a}\n" for s, p, a in rows))
    with pytest.raises(InputError, match="space-separated") as exc:
        load_samples(path)
    assert exc.value.line == 1


# ------------------------------------------------------------------------------------------ clinical table

clinical_rows = st.fixed_dictionaries({
    "patient_id": names,
    "age": st.integers(0, 130),
    "sex": st.sampled_from(["male", "female", "M", "F", "other", "unknown"]),
    "bmi": st.floats(8, 120, allow_nan=False).map(lambda x: round(x, 1)),
    "pack_years": st.floats(0, 300, allow_nan=False).map(lambda x: round(x, 1)),
    "smoking_status": st.sampled_from(["current", "former"]),
})


@SETTINGS
@given(rows=st.lists(clinical_rows, min_size=1, max_size=6, unique_by=lambda r: r["patient_id"]), eol=line_ends,
       bom=st.booleans())
def test_clinical_table_round_trip(tmp_path, rows, eol, bom):
    cols = ["patient_id", "age", "sex", "bmi", "pack_years", "smoking_status"]
    lines = ["\t".join(cols)] + ["\t".join(str(r[c]) for c in cols) for r in rows]
    path = tmp_path / "clinical.tsv"
    _write(path, lines, eol, bom)
    got = read_clinical_table(path)
    assert list(got) == [r["patient_id"] for r in rows]
    for r in rows:
        ctx = got[r["patient_id"]]
        assert ctx.age == r["age"] and math.isclose(ctx.bmi, r["bmi"])
        assert math.isclose(ctx.pack_years, r["pack_years"])
        assert ctx.sex in ("male", "female", "other", "unknown")


@SETTINGS
@given(cell=st.text(alphabet=string.printable.replace("\t", "").replace("\n", "").replace("\r", "")
                    .replace("\x0b", "").replace("\x0c", ""), max_size=12),
       column=st.sampled_from(["age", "bmi", "pack_years", "sex", "labs", "smoking_status"]))
def test_any_clinical_cell_is_read_or_refused_with_its_line(tmp_path, cell, column):
    path = tmp_path / "clinical.tsv"
    path.write_text(f"patient_id\t{column}\nP1\t{cell}\n")
    try:
        read_clinical_table(path)
    except InputError as exc:
        assert exc.path == str(path) and exc.line in (1, 2)


# ------------------------------------------------------------------------------------------ VCF INFO

info_keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,8}", fullmatch=True)
info_values = st.text(alphabet=string.ascii_letters + string.digits + ".,-+|:/", min_size=1, max_size=10)
info_fields = st.lists(st.tuples(info_keys, st.one_of(st.none(), info_values)), min_size=0, max_size=5)


def _info_text(fields) -> str:
    return ";".join(k if v is None else f"{k}={v}" for k, v in fields) or "."


@SETTINGS
@given(infos=st.lists(info_fields, min_size=1, max_size=6), csq=st.lists(info_values, min_size=1, max_size=6),
       pick=st.data())
def test_info_editing_only_appends(infos, csq, pick):
    """Adding BEDSIDE_CSQ keeps every INFO byte of every record as it was (unknown keys included)."""
    lines = [f"chr1\t{i + 1}\t.\tA\tG\t.\tPASS\t{_info_text(f)}\tGT\t0/1\n" for i, f in enumerate(infos)]
    text = "".join(lines)
    chosen = sorted(pick.draw(st.sets(st.integers(0, len(lines) - 1))))
    xs, ys, keys, texts = [], [], [], []
    offset = 0
    starts = []
    for ln in lines:
        starts.append(offset)
        offset += len(ln)
    for n, i in enumerate(chosen):
        info_a = starts[i] + lines[i].index("\tPASS\t") + 6
        info_b = starts[i] + lines[i].index("\tGT\t")
        dot = text[info_a:info_b] == "."
        xs.append(info_a if dot else info_b)
        ys.append(info_b)
        keys.append("BEDSIDE_CSQ=" if dot else ";BEDSIDE_CSQ=")
        texts.append(csq[n % len(csq)])
    out = _edit_chunk(text, xs, ys, keys, texts).split("\n")[:-1]
    for i, (ln, f) in enumerate(zip(out, infos)):
        info = ln.split("\t")[7]
        if i in chosen:
            before, _, added = info.rpartition("BEDSIDE_CSQ=")
            original = _info_text(f)
            assert before in ((original + ";") if original != "." else "",)
            assert added
        else:
            assert info == _info_text(f)
        assert ln.split("\t")[:7] + ln.split("\t")[8:] == lines[i].rstrip("\n").split("\t")[:7] + ["GT", "0/1"]


HEADER = ('##fileformat=VCFv4.2\n##INFO=<ID=TLOD,Number=A,Type=Float,Description="t">\n'
          '##INFO=<ID=DP,Number=1,Type=Integer,Description="d">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n')
floats = st.one_of(st.floats(allow_nan=False, allow_infinity=False).map(repr), st.integers().map(str),
                   st.just("."), st.just("1e-5"), st.just("-0.5"))


@SETTINGS
@given(tlod=st.lists(floats, min_size=1, max_size=3), dp=st.one_of(st.integers(0, 10**6).map(str), st.just(".")))
def test_numeric_info_values_are_accepted(tmp_path, tlod, dp):
    path = tmp_path / "ok.vcf"
    path.write_text(HEADER + f"chr1\t10\t.\tA\tG\t50\tPASS\tFOO=x;TLOD={','.join(tlod)};DP={dp}\n")
    check_vcf_values(path)


@SETTINGS
@given(bad=st.text(alphabet=string.ascii_letters + "#%&_", min_size=1, max_size=8), line=st.integers(0, 4))
def test_non_numeric_info_values_are_refused_with_the_record(tmp_path, bad, line):
    assume(bad.lower() not in ("nan", "inf", "infinity"))
    recs = [f"chr1\t{10 + i}\t.\tA\tG\t.\tPASS\tTLOD=1.5\n" for i in range(5)]
    recs[line] = f"chr1\t{10 + line}\t.\tA\tG\t.\tPASS\tDP=3;TLOD={bad}\n"
    path = tmp_path / "bad.vcf"
    path.write_text(HEADER + "".join(recs))
    with pytest.raises(InputError) as exc:
        check_vcf_values(path)
    assert exc.value.record == f"chr1:{10 + line}" and exc.value.line == 5 + line
    assert "TLOD" in exc.value.message


# ------------------------------------------------------------------------------------------ HGVS

aa1 = st.sampled_from(sorted(a for a in AA3 if len(a) == 1 and a != "*"))


@SETTINGS
@given(ref=aa1, alt=aa1, pos=st.integers(1, 100000), paren=st.booleans(), prefix=st.booleans())
def test_hgvs_one_and_three_letter_forms_agree(ref, alt, pos, paren, prefix):
    one = f"{ref}{pos}{alt}"
    three = f"{AA3[ref]}{pos}{AA3[alt]}"
    wrap = (lambda s: f"({s})") if paren else (lambda s: s)
    p = "p." if prefix else ""
    a, b = parse_protein_change(p + wrap(one)), parse_protein_change("p." + wrap(three))
    assert a == b and a.pos == pos and a.hgvs == f"p.{three}"
    assert parse_protein_change(a.hgvs) == a  # the written form parses back to itself


@SETTINGS
@given(text=st.text(max_size=20))
def test_hgvs_parse_is_a_change_or_a_value_error(text):
    try:
        pc = parse_protein_change(text)
    except ValueError:
        return
    assert pc.pos >= 0 and pc.ref in AA1


# ------------------------------------------------------------------------------------------ knowledge rows

KB_COLS = ["id", "gene", "alteration_type", "alteration", "tumor_type", "therapy", "direction", "evidence_level",
           "source", "pmid", "citation", "curated"]
KB_ROW = {"id": "X-1", "gene": "BRAF", "alteration_type": "protein_change", "alteration": "p.Val600Glu",
          "tumor_type": "MEL", "therapy": "dabrafenib", "direction": "sensitivity", "evidence_level": "A",
          "source": "FDA label (test)", "pmid": "29151359", "citation": "a citation", "curated": "2026-12-01"}


@SETTINGS
@given(column=st.sampled_from(KB_COLS), value=st.text(alphabet=string.printable.replace("\t", "")
                                                       .replace("\n", "").replace("\r", ""), max_size=15))
def test_knowledge_row_loads_or_names_its_line(tmp_path, column, value):
    from bedside.knowledge.kb import load_knowledge

    row = dict(KB_ROW, **{column: value})
    path = tmp_path / "kb.tsv"
    path.write_text("\t".join(KB_COLS) + "\n" + "\t".join(row[c] for c in KB_COLS) + "\n")
    try:
        kb = load_knowledge([path])
    except KnowledgeError as exc:
        assert exc.path == str(path) and exc.line == 2
        return
    if column == "id" and value.startswith("#"):  # the line is a comment
        assert kb.entries == []
        return
    assert len(kb.entries) == 1 and kb.entries[0].evidence.gene == row["gene"].strip()
