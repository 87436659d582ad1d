from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bedside.errors import InputError
from bedside.io import sheets


def _write(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("\n".join("\t".join(r) for r in rows) + "\n")
    return path


@pytest.fixture
def sheet_dir(tmp_path: Path) -> Path:
    for name in ("a_R1.fq.gz", "a_R2.fq.gz", "b_R1.fq.gz", "b_R2.fq.gz"):
        with gzip.open(tmp_path / name, "wt") as fh:
            fh.write("@r\nACGT\n+\nIIII\n")
    _write(tmp_path / "samples.tsv", [["sample_name", "patient", "alias", "platform"],
                                       ["P1-T", "P1", "tumor", "ILLUMINA"],
                                       ["P1-N", "P1", "normal", "ILLUMINA"]])
    _write(tmp_path / "units.tsv", [["sample_name", "unit_name", "fq1", "fq2", "bam"],
                                     ["P1-T", "lane1", "a_R1.fq.gz", "a_R2.fq.gz", ""],
                                     ["P1-N", "lane1", "b_R1.fq.gz", "b_R2.fq.gz", ""]])
    _write(tmp_path / "clinical.tsv", [["patient_id", "age"], ["P1", "50"]])
    return tmp_path


def test_valid_sheets(sheet_dir: Path) -> None:
    s = sheets.load_sheets(sheet_dir / "samples.tsv", sheet_dir / "units.tsv", base=sheet_dir)
    assert s.patients() == ["P1"]
    assert s.sample_of("P1", "tumor").sample_name == "P1-T"
    assert [u.unit_name for u in s.units_of("P1-N")] == ["lane1"]
    sheets.check_patients_in_clinical(s, sheets.clinical_patient_ids(sheet_dir / "clinical.tsv"),
                                      sheet_dir / "clinical.tsv")


def test_missing_fastq_names_file_and_line(sheet_dir: Path) -> None:
    (sheet_dir / "b_R2.fq.gz").unlink()
    with pytest.raises(InputError) as err:
        sheets.load_sheets(sheet_dir / "samples.tsv", sheet_dir / "units.tsv", base=sheet_dir)
    msg = str(err.value)
    assert "units.tsv, line 3" in msg and "fq2 file not found: b_R2.fq.gz" in msg


def test_duplicate_sample(sheet_dir: Path) -> None:
    with open(sheet_dir / "samples.tsv", "a") as fh:
        fh.write("P1-T\tP1\ttumor\tILLUMINA\n")
    with pytest.raises(InputError) as err:
        sheets.load_sheets(sheet_dir / "samples.tsv", sheet_dir / "units.tsv", base=sheet_dir)
    assert "samples.tsv, line 4: duplicate sample 'P1-T' (first defined on line 2)" in str(err.value)


def test_bad_alias_is_schema_error(sheet_dir: Path) -> None:
    _write(sheet_dir / "samples.tsv", [["sample_name", "patient", "alias"], ["P1-T", "P1", "tumour"],
                                       ["P1-N", "P1", "normal"]])
    with pytest.raises(InputError) as err:
        sheets.load_sheets(sheet_dir / "samples.tsv", sheet_dir / "units.tsv", base=sheet_dir)
    assert "line 2" in str(err.value) and "alias" in str(err.value)


def test_patient_absent_from_clinical(sheet_dir: Path) -> None:
    _write(sheet_dir / "clinical.tsv", [["patient_id", "age"], ["P2", "50"]])
    s = sheets.load_sheets(sheet_dir / "samples.tsv", sheet_dir / "units.tsv", base=sheet_dir)
    with pytest.raises(InputError) as err:
        sheets.check_patients_in_clinical(
            s, sheets.clinical_patient_ids(sheet_dir / "clinical.tsv"), sheet_dir / "clinical.tsv")
    assert "samples.tsv, line 2: patient 'P1'" in str(err.value)
    assert "absent from the clinical table" in str(err.value)


def test_unit_for_unknown_sample(sheet_dir: Path) -> None:
    with open(sheet_dir / "units.tsv", "a") as fh:
        fh.write("P9-T\tlane1\ta_R1.fq.gz\ta_R2.fq.gz\t\n")
    with pytest.raises(InputError, match=r"line 4: sample 'P9-T' is not in the sample sheet"):
        sheets.load_sheets(sheet_dir / "samples.tsv", sheet_dir / "units.tsv", base=sheet_dir)
