"""OMOP CDM extract -> :class:`bedside.model.PatientContext` per person.

Reads ``person``, ``condition_occurrence``, ``drug_exposure``, ``measurement``, ``observation`` and, if
present, ``concept`` from a folder of CSV files (``<table>.csv``), an SQLite database, or a DuckDB
database (needs the optional ``duckdb`` package). The concepts used are listed in
``bedside/clinical/data/omop_map.yaml`` (docs/clinical.md): gender 8507/8532; measurements by LOINC;
smoking status by SNOMED (ONC value set) under LOINC 72166-2; drugs by RxNorm code or name through the
drug vocabulary; conditions by ICD-O-3 morphology+topography -> OncoTree. Anything that cannot be mapped
is listed in the patient's ``not_evaluated``; values that are impossible raise :class:`InputError`.
"""

from __future__ import annotations

import csv
import datetime as dt
import sqlite3
from functools import lru_cache
from pathlib import Path

import yaml

from bedside.errors import InputError
from bedside.model import LabValue, PatientContext

TABLES = ["person", "condition_occurrence", "drug_exposure", "measurement", "observation", "concept"]
MAP_PATH = Path(__file__).resolve().parents[1] / "clinical/data/omop_map.yaml"


@lru_cache(maxsize=2)
def omop_map(path: str | None = None) -> dict:
    return yaml.safe_load(Path(path or MAP_PATH).read_text())


# what is not evaluated when a table is absent from the extract
_ABSENT = {
    "condition_occurrence": "diagnosis (no condition_occurrence table in the OMOP extract)",
    "drug_exposure": "current medications and their interactions (no drug_exposure table in the OMOP extract)",
    "measurement": "labs and BMI (no measurement table in the OMOP extract)",
    "observation": "smoking status (no observation table in the OMOP extract)",
}
EARLIEST = dt.date(1900, 1, 1)
# a drug exposure ending more than this after the reference date has a placeholder end (e.g. 2099-12-31)
FAR_END = dt.timedelta(days=5 * 366)


def _read_csv(p: Path) -> list[dict[str, str]]:
    """Rows of one CSV/TSV table (UTF-8, BOM and CRLF accepted), each with ``__where__`` = file:line."""
    from bedside.io.sheets import read_text_lines

    lines = read_text_lines(p, "OMOP table")
    delim = "\t" if p.suffix.lower() == ".tsv" else ","
    text = [ln for _, ln in lines]
    try:
        reader = csv.reader(text, delimiter=delim, strict=True)
        rows = list(reader)
    except csv.Error as exc:
        raise InputError(f"not a well-formed {'TSV' if delim == chr(9) else 'CSV'} table: {exc}", path=p,
                         line=reader.line_num) from exc
    if not rows or not any(c.strip() for c in rows[0]):
        raise InputError("empty OMOP table (no header)", path=p, line=1)
    header = [c.strip().lower() for c in rows[0]]
    out = []
    for i, r in enumerate(rows[1:], 2):
        if not any(c.strip() for c in r):
            continue
        if len(r) > len(header):
            raise InputError(f"{len(r)} fields but the header has {len(header)}", path=p, line=i)
        row = {k: (v or "").strip() for k, v in zip(header, r) if k}
        row["__where__"] = f"{p.name}:{i}"
        out.append(row)
    return out


def _read_tables(path: Path) -> dict[str, list[dict[str, str]]]:
    """Rows per table; the key ``__absent__`` lists the tables the extract does not have."""
    out: dict[str, list[dict[str, str]]] = {t: [] for t in TABLES}
    absent: list[str] = []
    if path.is_dir():
        files = {p.stem.lower(): p for p in path.iterdir() if p.suffix.lower() in (".csv", ".tsv")}
        if "person" not in files:
            raise InputError("OMOP folder has no person.csv", path=path)
        for t in TABLES:
            if t in files:
                out[t] = _read_csv(files[t])
            else:
                absent.append(t)
        out["__absent__"] = [{"table": t} for t in absent]
        return out
    if not path.is_file():
        raise InputError("OMOP extract not found (expected a folder of CSV files or a database)", path=path)
    if path.suffix.lower() == ".duckdb":
        try:
            import duckdb  # type: ignore
        except ImportError as exc:
            raise InputError("reading a DuckDB file needs the optional 'duckdb' package "
                             "(pip install bedside[omop])", path=path) from exc
        con = duckdb.connect(str(path), read_only=True)
        names = {r[0].lower() for r in con.execute("select table_name from information_schema.tables").fetchall()}
        fetch = lambda t: con.execute(f"select * from {t}")
    else:
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            names = {r[0].lower() for r in con.execute("select name from sqlite_master where type='table'")}
        except sqlite3.DatabaseError as exc:
            raise InputError(f"not an SQLite database: {exc}", path=path) from exc
        fetch = lambda t: con.execute(f"select * from {t}")
    if "person" not in names:
        raise InputError("OMOP database has no person table", path=path)
    try:
        for t in TABLES:
            if t in names:
                try:
                    cur = fetch(t)
                    cols = [d[0].lower() for d in cur.description]
                    rows = cur.fetchall()
                except Exception as exc:  # sqlite3 / duckdb errors on a damaged database
                    raise InputError(f"cannot read table {t}: {exc}", path=path) from exc
                out[t] = [{c: ("" if v is None else str(v)).strip() for c, v in zip(cols, row)} for row in rows]
                for i, r in enumerate(out[t], 1):
                    r["__where__"] = f"{path.name}:{t} row {i}"
            else:
                absent.append(t)
    finally:
        con.close()
    out["__absent__"] = [{"table": t} for t in absent]
    return out


def _date(s: str, *, path: Path | None = None, where: str | None = None, column: str = "date",
          latest: dt.date | None = None) -> dt.date | None:
    """A YYYY-MM-DD (optionally with a time) date cell; empty -> None. A date that does not parse, lies
    before 1900 or after ``latest`` (the reference date: an event cannot be in the future) is refused
    naming the record: it would silently decide what is current or latest."""
    if not s:
        return None
    try:
        d = dt.date.fromisoformat(s[:10])
    except ValueError:
        raise InputError(f"column {column}: {s!r} is not a date (YYYY-MM-DD)", path=path, record=where) from None
    if d < EARLIEST:
        raise InputError(f"column {column}: {d} is before {EARLIEST} (implausible)", path=path, record=where)
    if latest is not None and d > latest:
        raise InputError(f"column {column}: {d} is after the reference date {latest} (an event in the "
                         "future; pass --as-of if the extract was taken later)", path=path, record=where)
    return d


def read_omop(path: str | Path, *, as_of: dt.date | str | None = None,
              persons: list[str] | None = None) -> dict[str, PatientContext]:
    """PatientContext per person_id (as a string). ``as_of``: reference date for age and for current
    medications (exposures without end date, or ending on/after it); default today."""
    from bedside.clinical.vocab import load_vocabulary
    from bedside.io.clinical import LABS, oncotree_codes, parse_lab

    path = Path(path)
    try:
        as_of = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else (as_of or dt.date.today())
    except ValueError:
        raise InputError(f"reference date (--as-of) {as_of!r} is not YYYY-MM-DD") from None
    m = omop_map()
    tables = _read_tables(path)
    concept = {r.get("concept_id"): r for r in tables["concept"]}
    vocab = load_vocabulary()
    codes, _release = oncotree_codes()

    def code_of(cid: str, source_value: str, vocabularies: tuple[str, ...]) -> tuple[str, str]:
        c = concept.get(cid)
        if c and c.get("vocabulary_id", "").upper() in vocabularies:
            return c.get("concept_code", ""), c.get("concept_name", "")
        return source_value, (c or {}).get("concept_name", "")

    out: dict[str, PatientContext] = {}
    for r in tables["person"]:
        pid = r.get("person_id", "")
        if not pid:
            raise InputError("person row without person_id", path=path, record=r["__where__"])
        if persons and pid not in persons:
            continue
        ctx = PatientContext(patient_id=pid)
        g = r.get("gender_concept_id", "")
        ctx.sex = m["gender_concept_id"].get(int(g)) if g.isdigit() else None
        if ctx.sex is None:
            ctx.not_evaluated.append(f"gender_concept_id {g or '(empty)'} not mapped (8507 male, 8532 female)")
        yob = r.get("year_of_birth", "")
        if yob and not yob.isdigit():
            raise InputError(f"year_of_birth {yob!r} is not a year", path=path, record=r["__where__"])
        if yob.isdigit():
            ctx.age = as_of.year - int(yob)
            if not 0 <= ctx.age <= 130:
                raise InputError(f"year_of_birth {yob} gives an impossible age {ctx.age}", path=path,
                                 record=r["__where__"])
        out[pid] = ctx

    # conditions -> OncoTree (most recent mapped condition wins)
    diag: dict[str, tuple[dt.date, str]] = {}
    unmapped: dict[str, list[str]] = {}
    for r in tables["condition_occurrence"]:
        ctx = out.get(r.get("person_id", ""))
        if ctx is None:
            continue
        code, name = code_of(r.get("condition_concept_id", ""), r.get("condition_source_value", ""), ("ICDO3",))
        morph, _, topo = code.partition("-")
        hit = next((x["oncotree"] for x in m["icdo3_to_oncotree"]
                    if x["morphology"] == morph and topo.startswith(x["topography"])), None)
        if hit and (not codes or hit in codes):
            d = _date(r.get("condition_start_date", ""), path=path, where=r["__where__"],
                      column="condition_start_date", latest=as_of) or dt.date.min
            if ctx.patient_id not in diag or d >= diag[ctx.patient_id][0]:
                diag[ctx.patient_id] = (d, hit)
        else:
            unmapped.setdefault(ctx.patient_id, []).append(
                f"{code or r.get('condition_concept_id', '?')}" + (f" ({name})" if name else ""))
    for pid, ctx in out.items():
        if pid in diag:
            ctx.diagnosis = diag[pid][1]
            ctx.diagnosis_name = codes.get(ctx.diagnosis)
        if pid in unmapped:
            ctx.not_evaluated.append("condition(s) not mapped to OncoTree (ICD-O-3 mapping): "
                                     + ", ".join(unmapped[pid]))
        if pid not in diag:
            ctx.not_evaluated.append("no condition mapped to an OncoTree diagnosis")

    # current drug exposures
    for r in tables["drug_exposure"]:
        ctx = out.get(r.get("person_id", ""))
        if ctx is None:
            continue
        start = _date(r.get("drug_exposure_start_date", ""), path=path, where=r["__where__"],
                      column="drug_exposure_start_date")
        end = _date(r.get("drug_exposure_end_date", ""), path=path, where=r["__where__"],
                    column="drug_exposure_end_date")
        if start and end and end < start:
            raise InputError(f"drug_exposure_end_date {end} is before drug_exposure_start_date {start}",
                             path=path, record=r["__where__"])
        if end and end > as_of + FAR_END:
            # a placeholder such as 2099-12-31 is no end date: reported, not used
            ctx.not_evaluated.append(f"drug_exposure_end_date {end} ({r['__where__']}) is implausibly far in "
                                     "the future; treated as no end date")
            end = None
        if (start and start > as_of) or (end and end < as_of):
            continue
        code, cname = code_of(r.get("drug_concept_id", ""), "", ("RXNORM",))
        name = (vocab.resolve(code) if code else None) or (vocab.resolve(cname) if cname else None) \
            or vocab.resolve(r.get("drug_source_value", ""))
        if name is None:
            label = cname or r.get("drug_source_value") or r.get("drug_concept_id", "?")
            ctx.not_evaluated.append(f"medication {label!r} ({r['__where__']}) is not in the drug vocabulary; "
                                     f"its interactions were not evaluated")
            ctx.medications.append(label.lower())
        elif name not in ctx.medications:
            ctx.medications.append(name)

    # measurements: latest value per lab
    latest: dict[tuple[str, str], tuple[dt.date, LabValue]] = {}
    for r in tables["measurement"]:
        ctx = out.get(r.get("person_id", ""))
        if ctx is None:
            continue
        code, _ = code_of(r.get("measurement_concept_id", ""), r.get("measurement_source_value", ""), ("LOINC",))
        unit_c = concept.get(r.get("unit_concept_id", ""))
        unit = (unit_c or {}).get("concept_code") or r.get("unit_source_value", "")
        value = r.get("value_as_number", "")
        d = _date(r.get("measurement_date", ""), path=path, where=r["__where__"], column="measurement_date",
                  latest=as_of) or dt.date.min
        if code in m["measurement_bmi_loinc"]:
            try:
                bmi = float(value)
            except ValueError:
                ctx.not_evaluated.append(f"BMI without a numeric value ({r['__where__']})")
                continue
            if not 8 <= bmi <= 120:
                raise InputError(f"BMI {value} is impossible", path=path, record=r["__where__"])
            ctx.bmi = bmi
            continue
        lab = m["measurement_loinc"].get(code)
        if lab is None:
            continue  # measurements Bedside does not use are ignored (documented)
        if not value:
            ctx.not_evaluated.append(f"{lab} measurement without value_as_number ({r['__where__']})")
            continue
        lv = parse_lab(f"{lab}={value} {unit}", path=path, line=None, pid=f"{ctx.patient_id} {r['__where__']}")
        if isinstance(lv, LabValue):
            key = (ctx.patient_id, lab)
            if key not in latest or d >= latest[key][0]:
                latest[key] = (d, lv)
    for (pid, _), (_, lv) in sorted(latest.items()):
        out[pid].labs.append(lv)
    assert set(LABS) >= set(m["measurement_loinc"].values())

    # smoking status: latest observation
    sm = m["smoking"]
    smoke: dict[str, tuple[dt.date, str]] = {}
    for r in tables["observation"]:
        ctx = out.get(r.get("person_id", ""))
        if ctx is None:
            continue
        code, _ = code_of(r.get("observation_concept_id", ""), r.get("observation_source_value", ""),
                          ("SNOMED", "LOINC"))
        value_code, _ = code_of(r.get("value_as_concept_id", ""), r.get("value_source_value", ""), ("SNOMED",))
        status = sm["snomed"].get(code) or (sm["snomed"].get(value_code) if code in sm["question_loinc"] else None)
        if status is None:
            if code in sm["question_loinc"]:
                ctx.not_evaluated.append(f"smoking answer {value_code or '(none)'} not mapped ({r['__where__']})")
            continue
        d = _date(r.get("observation_date", ""), path=path, where=r["__where__"], column="observation_date",
                  latest=as_of) or dt.date.min
        if ctx.patient_id not in smoke or d >= smoke[ctx.patient_id][0]:
            smoke[ctx.patient_id] = (d, status)
    absent = [t["table"] for t in tables.get("__absent__", [])]
    for pid, ctx in out.items():
        for t in absent:
            if t in _ABSENT:
                ctx.not_evaluated.append("not evaluated: " + _ABSENT[t])
        if pid in smoke:
            ctx.smoking_status = None if smoke[pid][1] == "unknown" else smoke[pid][1]
        ctx.not_evaluated.append("diet not recorded")
    if persons:
        missing = [p for p in persons if p not in out]
        if missing:
            raise InputError(f"person(s) {', '.join(missing)} not in the OMOP person table", path=path)
    return out
