"""Per-patient column records of the cohort store: clinical/lifestyle context, somatic findings, germline
findings and PGx, from each patient's ``case.json`` and/or the clinical table. Pure Python (no Hail), so
the query filters and the report pieces can be tested without a JVM."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
from pathlib import Path

from bedside.errors import InputError

SCHEMA_VERSION = 1


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def vcf_samples(vcf: str | Path) -> list[str]:
    """Sample names of a VCF's #CHROM line; duplicate names are an InputError naming them and the file."""
    opener = gzip.open if str(vcf).endswith((".gz", ".bgz")) else open
    try:
        with opener(vcf, "rt") as fh:
            for n, line in enumerate(fh, 1):
                if line.startswith("#CHROM"):
                    names = line.rstrip("\n").split("\t")[9:]
                    seen: dict[str, int] = {}
                    for i, s in enumerate(names, 1):
                        if s in seen:
                            raise InputError(f"duplicate sample ID {s!r} (columns {seen[s]} and {i} of the "
                                             "samples)", path=vcf, line=n)
                        seen[s] = i
                    return names
                if not line.startswith("##"):
                    break
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read VCF: {exc}", path=vcf) from exc
    raise InputError("no #CHROM header line", path=vcf)


def _generic(meds: list[str]) -> list[str]:
    """Medication names as the drug vocabulary's generic names (brands, synonyms, RxNorm CUIs resolved);
    unknown names kept, lower-cased."""
    from bedside.clinical.vocab import load_vocabulary

    vocab = load_vocabulary()
    return [vocab.resolve(m) or m.lower() for m in meds]


def _drug_classes(meds: list[str]) -> list[str]:
    from bedside.clinical.vocab import load_vocabulary

    vocab = load_vocabulary()
    out = []
    for name in meds:
        for c in vocab.classes_of(name):
            if c not in out:
                out.append(c)
    return out


def _lineage(code: str | None) -> list[str]:
    if not code:
        return []
    from bedside.knowledge.oncotree import default_oncotree

    tree = default_oncotree()
    return tree.ancestors(code) if code.upper() in tree else [code.upper()]


def clinical_record(ctx) -> dict:
    """A PatientContext (dataclass or its JSON dict) -> the ``clinical`` column struct."""
    d = dataclasses.asdict(ctx) if dataclasses.is_dataclass(ctx) else dict(ctx)
    meds = _generic(d.get("medications") or [])
    return {
        "age": d.get("age"), "sex": d.get("sex"), "diagnosis": d.get("diagnosis"),
        "diagnosis_name": d.get("diagnosis_name"), "diagnosis_lineage": _lineage(d.get("diagnosis")),
        "medications": meds, "drug_classes": _drug_classes(meds),
        "labs": [{"name": x["name"], "value": float(x["value"]), "unit": x["unit"]} for x in d.get("labs") or []],
        "smoking_status": d.get("smoking_status"),
        "pack_years": _f(d.get("pack_years")), "alcohol_units_per_week": _f(d.get("alcohol_units_per_week")),
        "bmi": _f(d.get("bmi")), "diet": list(d.get("diet") or []),
    }


def _f(x) -> float | None:
    return None if x is None else float(x)


def _finding(f: dict) -> dict:
    v, c, cv = f.get("variant") or {}, f.get("consequence") or {}, f.get("clinvar") or {}
    ev = f.get("evidence") or []
    return {
        "chrom": v.get("chrom"), "pos": v.get("pos"), "ref": v.get("ref"), "alt": v.get("alt"),
        "gene": c.get("gene"), "consequence": c.get("consequence"), "hgvs_c": c.get("hgvs_c"),
        "hgvs_p": c.get("hgvs_p"), "tier": f.get("tier"), "vaf": _f(f.get("vaf")),
        "clnsig": cv.get("clnsig"), "clinvar_stars": cv.get("stars"),
        "acmg_sf": any(str(n).startswith("secondary finding:") for n in f.get("notes") or []),
        "therapies": sorted({e.get("therapy") for e in ev if e.get("therapy")}),
        "evidence_levels": sorted({e.get("patient_level") or e.get("level") for e in ev
                                   if e.get("patient_level") or e.get("level")}),
    }


def _pgx(d: dict) -> dict:
    return {"gene": d.get("gene"), "diplotype": " or ".join(d.get("diplotypes") or []) or None,
            "phenotype": d.get("phenotype"), "activity_score": _f(d.get("activity_score")),
            "status": d.get("status")}


def empty_record(sample: str, patient: str) -> dict:
    return {"s": sample, "patient_id": patient, "tumor_sample": None, "clinical": None, "somatic": [],
            "germline_findings": [], "pgx": [], "tmb": None, "case_path": None, "report_path": None,
            "case_sha256": None}


def load_case(path: str | Path) -> dict:
    try:
        with open(path) as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from exc


def case_record(path: str | Path, sample: str | None = None) -> dict:
    """The column record of one patient's case.json (the normal sample is the column key)."""
    d = load_case(path)
    pid = d.get("patient_id")
    if not pid:
        raise InputError("case record has no patient_id", path=path)
    s = sample or d.get("normal_sample")
    if not s:
        raise InputError(f"case of patient {pid} has no normal sample (tumor-only patients have no germline "
                         "genotypes in the cohort store)", path=path)
    rec = empty_record(s, pid)
    report = Path(path).with_name("report.html")
    rec.update({
        "tumor_sample": d.get("tumor_sample"),
        "clinical": clinical_record(d["context"]) if d.get("context") else None,
        "somatic": [_finding(f) for f in d.get("somatic") or []],
        "germline_findings": [_finding(f) for f in d.get("germline") or []],
        "pgx": [_pgx(x) for x in d.get("pgx") or []],
        "tmb": _f(d.get("tmb")), "case_path": str(path),
        "report_path": str(report) if report.exists() else None, "case_sha256": sha256(path),
    })
    return rec


def sample_patients(samples: list[str], *, sheet: str | Path | None = None,
                    cases: dict[str, dict] | None = None, clinical_ids=None,
                    vcf: str | Path = "<vcf>", clinical_path: str | Path | None = None) -> dict[str, str]:
    """VCF sample -> patient id: from the sample sheet (sample_name -> patient), the case records
    (normal_sample), else the sample name itself when it is a patient id of the clinical table. A sample
    with no patient is an InputError naming the sample, the VCF and the clinical table."""
    mapping: dict[str, str] = {}
    if sheet:
        from bedside.io.sheets import load_samples

        mapping.update({k: v.patient for k, v in load_samples(sheet).items()})
    for rec in (cases or {}).values():
        mapping.setdefault(rec["s"], rec["patient_id"])
    out = {}
    known = set(clinical_ids or ()) | {r["patient_id"] for r in (cases or {}).values()}
    for s in samples:
        pid = mapping.get(s) or (s if s in known else None)
        if pid is None or (known and pid not in known):
            where = f"the clinical table {clinical_path}" if clinical_path else "the case records"
            raise InputError(f"sample {s!r} has no patient record in {where}"
                             + (f" (sample sheet maps it to {pid!r})" if pid else
                                " (give --samples to map sample names to patient ids)"), path=vcf, record=s)
        out[s] = pid
    return out
