"""The clinical & lifestyle patient table (TSV) -> :class:`bedside.model.PatientContext`.

Format (docs/clinical.md): tab-separated, header ``patient_id age sex diagnosis medications labs
smoking_status pack_years alcohol_units_per_week bmi diet`` (only ``patient_id`` required; '#' lines are
comments). Each row is validated against ``workflow/schemas/clinical.schema.yaml`` (bundled copy in
``bedside/clinical/data``), then checked semantically:

* structural errors, impossible values (negative, out of plausible range), labs without a unit or with
  an unknown unit, duplicate patients -> :class:`InputError` naming file, line, patient and column;
* unknown drug names / CUIs and unknown lab names, and OncoTree codes absent from the OncoTree table ->
  an explicit ``not_evaluated`` entry on the patient (or an InputError with ``strict=True``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml

from bedside.errors import InputError
from bedside.model import LabValue, PatientContext

COLUMNS = ["patient_id", "age", "sex", "diagnosis", "medications", "labs", "smoking_status", "pack_years",
           "alcohol_units_per_week", "bmi", "diet"]
SCHEMA_PATHS = [Path(__file__).resolve().parents[3] / "workflow/schemas/clinical.schema.yaml",
                Path(__file__).resolve().parents[1] / "clinical/data/clinical.schema.yaml"]
ONCOTREE = Path(__file__).resolve().parents[1] / "knowledge/data/oncotree.tsv"


@dataclass(frozen=True)
class LabSpec:
    unit: str  # canonical unit
    low: float  # plausible range in the canonical unit (outside -> impossible)
    high: float
    conversions: dict[str, float]  # accepted unit (lower-case) -> factor to the canonical unit


# Conversion factors are the standard SI <-> conventional ones: creatinine 1 mg/dL = 88.4 umol/L,
# bilirubin 1 mg/dL = 17.1 umol/L; 1 mL/s = 60 mL/min; U/L = IU/L.
LABS: dict[str, LabSpec] = {
    "creatinine_clearance": LabSpec("mL/min", 0, 300, {"ml/min": 1.0, "ml/s": 60.0}),
    "egfr": LabSpec("mL/min/1.73m2", 0, 250, {"ml/min/1.73m2": 1.0, "ml/min/1.73 m2": 1.0,
                                               "ml/min/1.73m^2": 1.0, "ml/min/{1.73_m2}": 1.0}),
    "creatinine": LabSpec("mg/dL", 0.05, 30, {"mg/dl": 1.0, "umol/l": 1 / 88.4, "µmol/l": 1 / 88.4,
                                              "μmol/l": 1 / 88.4}),
    "bilirubin": LabSpec("mg/dL", 0, 50, {"mg/dl": 1.0, "umol/l": 1 / 17.1, "µmol/l": 1 / 17.1,
                                          "μmol/l": 1 / 17.1}),
    "alt": LabSpec("U/L", 0, 10000, {"u/l": 1.0, "iu/l": 1.0}),
}
RANGES = {"age": (0, 130), "pack_years": (0, 300), "alcohol_units_per_week": (0, 500), "bmi": (8, 120)}
SEX = {"f": "female", "female": "female", "m": "male", "male": "male", "other": "other", "unknown": "unknown"}


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    for p in SCHEMA_PATHS:
        if p.is_file():
            return jsonschema.Draft202012Validator(yaml.safe_load(p.read_text()))
    raise InputError("clinical table schema not found")  # pragma: no cover - packaging error


@lru_cache(maxsize=4)
def oncotree_codes(path: Path = ONCOTREE) -> tuple[dict[str, str], str | None]:
    """OncoTree code -> name from the knowledge table, and its release line (empty if unavailable)."""
    if not path.is_file():
        return {}, None
    release = None
    codes = {}
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            m = re.search(r"release:\s*(\S+)", line)
            release = m.group(1) if m else release
        elif line.strip():
            lines.append(line)
    for row in csv.DictReader(lines, delimiter="\t"):
        code = (row.get("code") or "").strip()
        if code:
            codes[code] = (row.get("name") or "").strip()
    return codes, release


def parse_lab(token: str, *, path, line, pid) -> LabValue | str:
    """``name=value unit`` -> LabValue in the canonical unit, or a not-evaluated message."""
    m = re.fullmatch(r"\s*([A-Za-z_]+)\s*=\s*(-?[0-9.]+(?:e-?[0-9]+)?)\s*(.*?)\s*", token)
    if not m:
        raise InputError(f"column labs: {token!r} is not 'name=value unit'", path=path, line=line, record=pid)
    name, raw, unit = m.group(1).lower(), m.group(2), m.group(3)
    try:
        value = float(raw)
    except ValueError as exc:
        raise InputError(f"column labs: value {raw!r} of {name} is not a number", path=path, line=line,
                         record=pid) from exc
    spec = LABS.get(name)
    if spec is None:
        return f"lab {name!r} not used: unknown lab name (known: {', '.join(LABS)})"
    if not unit:
        raise InputError(f"column labs: {name}={raw} has no unit (expected {spec.unit} or "
                         f"{', '.join(k for k in spec.conversions if k != spec.unit.lower())})",
                         path=path, line=line, record=pid)
    factor = spec.conversions.get(unit.lower())
    if factor is None:
        raise InputError(f"column labs: unit {unit!r} not accepted for {name} (accepted: "
                         f"{', '.join(spec.conversions)})", path=path, line=line, record=pid)
    v = value * factor
    if value < 0 or not (spec.low <= v <= spec.high):
        raise InputError(f"column labs: {name}={raw} {unit} is impossible (plausible range "
                         f"{spec.low:g}-{spec.high:g} {spec.unit})", path=path, line=line, record=pid)
    return LabValue(name=name, value=round(v, 4), unit=spec.unit)


def _split(cell: str | None) -> list[str]:
    return [x.strip() for x in (cell or "").split(";") if x.strip()]


def context_from_row(row: dict[str, str], *, path: str | Path = "<table>", line: int | None = None,
                     strict: bool = False) -> PatientContext:
    """Validate one row (string cells; empty cells absent) and build its PatientContext."""
    from bedside.clinical.vocab import load_vocabulary

    row = {k: v.strip() for k, v in row.items() if k is not None and v is not None and v.strip() != ""}
    pid = row.get("patient_id")
    errors = sorted(_validator().iter_errors(row), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        col = e.path[0] if e.path else None
        desc = (e.schema or {}).get("description") if isinstance(e.schema, dict) else None
        why = (f"expected {desc}" if desc else
               "expected a number" if e.validator == "pattern" and "[0-9]" in str(e.validator_value) else
               f"does not match {e.validator_value}" if e.validator == "pattern" else e.message)
        msg = f"column {col}: value {e.instance!r} is invalid ({why})" if col else e.message
        if e.validator == "additionalProperties":
            msg = f"unknown column(s): {e.message}"
        raise InputError(msg, path=path, line=line, record=pid)
    ctx = PatientContext(patient_id=pid)
    for col, (lo, hi) in RANGES.items():
        if col in row:
            v = float(row[col])
            if not lo <= v <= hi:
                raise InputError(f"column {col}: {row[col]} is impossible (plausible range {lo}-{hi})",
                                 path=path, line=line, record=pid)
            setattr(ctx, col, int(v) if col == "age" else v)
    if "sex" in row:
        ctx.sex = SEX[row["sex"].lower()]
    if "smoking_status" in row:
        s = row["smoking_status"].lower()
        ctx.smoking_status = None if s == "unknown" else s
        if s == "never" and ctx.pack_years:
            raise InputError(f"column pack_years: {ctx.pack_years} pack-years for a never-smoker",
                             path=path, line=line, record=pid)
    if "diagnosis" in row:
        codes, release = oncotree_codes()
        code = row["diagnosis"]
        if codes and code not in codes:
            msg = f"diagnosis {code!r} is not an OncoTree code in the OncoTree table ({release})"
            if strict:
                raise InputError("column diagnosis: " + msg, path=path, line=line, record=pid)
            ctx.not_evaluated.append(msg + "; tumor-type matching not evaluated")
        else:
            ctx.diagnosis = code
            ctx.diagnosis_name = codes.get(code)
    vocab = load_vocabulary()
    for token in _split(row.get("medications")):
        name = vocab.resolve(token)
        if name is None:
            msg = f"medication {token!r} is not in the drug vocabulary (name, brand or RxNorm CUI)"
            if strict:
                raise InputError("column medications: " + msg, path=path, line=line, record=pid)
            ctx.not_evaluated.append(msg + "; its interactions were not evaluated")
            ctx.medications.append(token.lower())
        elif name not in ctx.medications:
            ctx.medications.append(name)
    seen_labs: set[str] = set()
    for token in _split(row.get("labs")):
        lab = parse_lab(token, path=path, line=line, pid=pid)
        if isinstance(lab, str):
            if strict:
                raise InputError("column labs: " + lab, path=path, line=line, record=pid)
            ctx.not_evaluated.append(lab)
            continue
        if lab.name in seen_labs:
            raise InputError(f"column labs: {lab.name} given twice", path=path, line=line, record=pid)
        seen_labs.add(lab.name)
        ctx.labs.append(lab)
    diet = [d.lower() for d in _split(row.get("diet"))]
    if diet == ["none"]:
        ctx.diet = []
    elif diet:
        ctx.diet = diet
    else:
        ctx.diet = []
        ctx.not_evaluated.append("diet not recorded")
    return ctx


def read_clinical_table(path: str | Path, *, strict: bool = False) -> dict[str, PatientContext]:
    """All patients of a clinical TSV, in file order."""
    from bedside.io.sheets import table_lines

    path = Path(path)
    header_line, cols, data = table_lines(path, "clinical table")
    if "patient_id" not in cols:
        raise InputError(f"header lacks the patient_id column (it has: {', '.join(cols)})", path=path,
                         line=header_line)
    unknown = [c for c in cols if c not in COLUMNS]
    if unknown:
        raise InputError(f"unknown column(s) {', '.join(unknown)} (expected {' '.join(COLUMNS)})",
                         path=path, line=header_line)
    out: dict[str, PatientContext] = {}
    for n, ln in data:
        cells = ln.split("\t")
        if len(cells) > len(cols):
            raise InputError(f"{len(cells)} fields for {len(cols)} columns", path=path, line=n)
        row = dict(zip(cols, cells))
        ctx = context_from_row(row, path=path, line=n, strict=strict)
        if ctx.patient_id in out:
            raise InputError(f"patient {ctx.patient_id} appears twice", path=path, line=n, record=ctx.patient_id)
        out[ctx.patient_id] = ctx
    return out
