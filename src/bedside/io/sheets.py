"""Sample and unit sheets: read, validate against the JSON schemas, cross-check.

Every problem is reported with the file and the line (1-based, the header is line 1), and all problems
are collected so a user fixes a sheet in one go.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from bedside.errors import InputError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Sample:
    sample_name: str
    patient: str
    alias: str  # tumor | normal
    platform: str = "ILLUMINA"
    line: int = 0


@dataclass(frozen=True)
class Unit:
    sample_name: str
    unit_name: str
    fq1: str | None
    fq2: str | None
    bam: str | None
    line: int = 0


@dataclass
class SampleSheet:
    samples: dict[str, Sample]
    units: list[Unit]
    samples_path: str = ""
    units_path: str = ""

    def patients(self) -> list[str]:
        return sorted({s.patient for s in self.samples.values()})

    def sample_of(self, patient: str, alias: str) -> Sample | None:
        for s in self.samples.values():
            if s.patient == patient and s.alias == alias:
                return s
        return None

    def units_of(self, sample: str) -> list[Unit]:
        return [u for u in self.units if u.sample_name == sample]

    def normals(self) -> list[Sample]:
        return [s for s in self.samples.values() if s.alias == "normal"]

    def tumors(self) -> list[Sample]:
        return [s for s in self.samples.values() if s.alias == "tumor"]


@dataclass
class Problems:
    items: list[str] = field(default_factory=list)

    def add(self, path: str | Path, line: int | None, msg: str) -> None:
        where = f"{path}, line {line}" if line else str(path)
        self.items.append(f"{where}: {msg}")

    def raise_if_any(self, what: str) -> None:
        if self.items:
            raise InputError(f"{what}:\n  " + "\n  ".join(self.items))


def schema_path(name: str) -> Path:
    """Path of a workflow JSON schema shipped in the repository (workflow/schemas/NAME)."""
    repo = Path(__file__).resolve().parents[3]
    p = repo / "workflow" / "schemas" / name
    if p.exists():
        return p
    # installed without the repository: schemas are packaged as data
    return Path(str(resources.files("bedside") / "schemas" / name))


def load_schema(name: str) -> dict:
    with open(schema_path(name)) as fh:
        return yaml.safe_load(fh)


def read_text_lines(path: str | Path, what: str = "table") -> list[tuple[int, str]]:
    """(line number, text) of every line of a UTF-8 text file, line ends removed.

    Accepted as written: a UTF-8 byte-order mark, CRLF (Windows) or CR line ends. Refused with the byte
    offset and line: bytes that are not UTF-8 (e.g. a Latin-1 export); a UTF-16 file is named as such."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} does not exist", path=path)
    if path.is_dir():
        raise InputError(f"{what} is a folder, not a file", path=path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror or exc}", path=path) from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{what} is UTF-16 text; save it as UTF-8 (tab-separated)", path=path, line=1)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data[:2] == b"\x1f\x8b":
        raise InputError(f"{what} is gzip-compressed; give the plain tab-separated text", path=path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{what} is not UTF-8 text: byte 0x{data[exc.start]:02x} at byte offset {exc.start} "
                         "(save the file as UTF-8)", path=path, line=line) from exc
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputError(f"{what} contains a NUL byte (a binary file?)", path=path, line=line)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return list(enumerate(text.split("\n"), start=1))


def table_lines(path: str | Path, what: str = "table") -> tuple[int, list[str], list[tuple[int, str]]]:
    """A tab-separated table with a header: (header line number, column names, [(line number, text)] of
    the data lines). Blank lines and '#' comment lines are skipped. A sheet whose columns are separated
    by spaces instead of tabs is explained, naming the line."""
    path = Path(path)
    lines = [(i, ln) for i, ln in read_text_lines(path, what) if ln.strip() and not ln.startswith("#")]
    if not lines:
        raise InputError(f"empty {what} (no header)", path=path)
    header_line, header = lines[0]
    if "\t" not in header and len(header.split()) > 1:
        raise InputError(f"the {what} looks space-separated (no tab in the header); separate the columns "
                         "with tabs", path=path, line=header_line)
    cols = [c.strip() for c in header.split("\t")]
    if len(set(cols)) != len(cols):
        raise InputError(f"duplicate column names in header: {cols}", path=path, line=header_line)
    if "" in cols:
        raise InputError(f"empty column name in the header (column {cols.index('') + 1})", path=path,
                         line=header_line)
    for lineno, text in lines[1:]:
        if len(cols) > 1 and "\t" not in text and len(text.split()) >= len(cols):
            raise InputError(f"the line looks space-separated (no tab, {len(text.split())} space-separated "
                             f"fields); separate the columns with tabs", path=path, line=lineno)
    return header_line, cols, lines[1:]


def read_tsv(path: str | Path, what: str = "sheet",
             required: list[str] | tuple[str, ...] = ()) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) for a TSV with a header; '#' lines before the header are skipped. Columns
    in ``required`` missing from the header are one error naming the header line."""
    path = Path(path)
    header_line, cols, lines = table_lines(path, what)
    missing = [c for c in required if c not in cols]
    if missing:
        raise InputError(f"the header lacks the required column(s) {', '.join(missing)} (it has: "
                         f"{', '.join(cols)})", path=path, line=header_line)
    for lineno, text in lines:
        try:
            values = next(csv.reader([text], delimiter="\t", strict=True))
        except csv.Error as exc:
            raise InputError(f"cannot split the line into columns: {exc}", path=path, line=lineno) from exc
        if len(values) > len(cols):
            raise InputError(f"{len(values)} fields but the header has {len(cols)}", path=path,
                             line=lineno)
        values += [""] * (len(cols) - len(values))
        yield lineno, {c: v.strip() for c, v in zip(cols, values, strict=True)}


def _schema_check(row: dict, schema: dict, path: Path, line: int, problems: Problems) -> dict:
    clean = {k: v for k, v in row.items() if v != ""}
    validator = jsonschema.Draft202012Validator(schema)
    for err in sorted(validator.iter_errors(clean), key=lambda e: list(e.path)):
        col = ".".join(str(p) for p in err.path) or "row"
        problems.add(path, line, f"column '{col}': {err.message}")
    return clean


def load_samples(path: str | Path, problems: Problems | None = None) -> dict[str, Sample]:
    path = Path(path)
    own = problems is None
    problems = problems or Problems()
    schema = load_schema("samples.schema.yaml")
    samples: dict[str, Sample] = {}
    first_line: dict[str, int] = {}
    for line, row in read_tsv(path, "sample sheet", schema.get("required", ())):
        clean = _schema_check(row, schema, path, line, problems)
        name = clean.get("sample_name", "")
        if name in samples:
            problems.add(path, line, f"duplicate sample '{name}' (first defined on line "
                                     f"{first_line[name]})")
            continue
        if not name or "patient" not in clean or "alias" not in clean:
            continue
        samples[name] = Sample(name, clean["patient"], clean["alias"],
                               clean.get("platform", "ILLUMINA"), line)
        first_line[name] = line
    # one tumor and at most one normal per patient
    seen: dict[tuple[str, str], Sample] = {}
    for s in samples.values():
        key = (s.patient, s.alias)
        if key in seen:
            problems.add(path, s.line, f"patient '{s.patient}' already has a {s.alias} sample "
                                       f"'{seen[key].sample_name}' (line {seen[key].line})")
        seen[key] = s
    if own:
        problems.raise_if_any("invalid sample sheet")
    return samples


def load_units(path: str | Path, samples: dict[str, Sample], base: str | Path = ".",
               problems: Problems | None = None, check_files: bool = True) -> list[Unit]:
    path = Path(path)
    own = problems is None
    problems = problems or Problems()
    schema = load_schema("units.schema.yaml")
    units: list[Unit] = []
    seen: dict[tuple[str, str], int] = {}
    for line, row in read_tsv(path, "units sheet", schema.get("required", ())):
        clean = _schema_check(row, schema, path, line, problems)
        sample, unit = clean.get("sample_name", ""), clean.get("unit_name", "")
        if not sample or not unit:
            continue
        if sample not in samples:
            problems.add(path, line, f"sample '{sample}' is not in the sample sheet")
        if (sample, unit) in seen:
            problems.add(path, line, f"duplicate unit '{sample}/{unit}' (first on line "
                                     f"{seen[(sample, unit)]})")
        seen[(sample, unit)] = line
        fq1, fq2, bam = clean.get("fq1"), clean.get("fq2"), clean.get("bam")
        if bam and (fq1 or fq2):
            problems.add(path, line, "give either fq1/fq2 or bam, not both")
        if not bam and not fq1:
            problems.add(path, line, "neither fq1 nor bam is given")
        if fq1 and not fq2:
            problems.add(path, line, "fq2 is missing: Bedside aligns paired-end reads only")
        if check_files:
            for col, f in (("fq1", fq1), ("fq2", fq2), ("bam", bam)):
                if f and not (Path(base) / f).exists():
                    problems.add(path, line, f"{col} file not found: {f}")
        units.append(Unit(sample, unit, fq1, fq2, bam, line))
    for name, s in samples.items():
        if not any(u.sample_name == name for u in units):
            problems.add(path, None, f"sample '{name}' (samples sheet line {s.line}) has no unit")
    if own:
        problems.raise_if_any("invalid units sheet")
    return units


def load_sheets(samples_path: str | Path, units_path: str | Path, base: str | Path = ".",
                check_files: bool = True) -> SampleSheet:
    """Read and cross-check both sheets; raise one InputError listing every problem found."""
    problems = Problems()
    samples = load_samples(samples_path, problems)
    units = load_units(units_path, samples, base, problems, check_files=check_files)
    problems.raise_if_any("invalid sample sheets")
    return SampleSheet(samples, units, str(samples_path), str(units_path))


def check_patients_in_clinical(sheet: SampleSheet, clinical_ids: dict[str, int],
                               clinical_path: str | Path) -> None:
    """Every patient of the sample sheet must have a row in the clinical table."""
    problems = Problems()
    for s in sorted(sheet.samples.values(), key=lambda s: s.line):
        if s.patient not in clinical_ids:
            problems.add(sheet.samples_path, s.line,
                         f"patient '{s.patient}' of sample '{s.sample_name}' is absent from the "
                         f"clinical table {clinical_path}")
    problems.raise_if_any("sample sheet and clinical table disagree")


def clinical_patient_ids(path: str | Path) -> dict[str, int]:
    """patient_id -> line of the clinical table (no semantic validation; see bedside.io.clinical)."""
    ids: dict[str, int] = {}
    for line, row in read_tsv(path, "clinical table", ("patient_id",)):
        pid = row.get("patient_id", "")
        if not pid:
            raise InputError("missing patient_id", path=path, line=line)
        if pid in ids:
            raise InputError(f"duplicate patient_id '{pid}' (first on line {ids[pid]})", path=path,
                             line=line)
        ids[pid] = line
    return ids
