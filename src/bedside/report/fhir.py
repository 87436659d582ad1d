"""Case -> HL7 FHIR R4 Bundle following the Genomics Reporting Implementation Guide (STU3, 3.0.0).

What is emitted (profiles of http://hl7.org/fhir/uv/genomics-reporting, version 3.0.0, FHIR R4):

* ``DiagnosticReport`` (profile ``genomic-report``; LOINC 51969-4 Genetic analysis report) referencing every
  Observation below, the Patient and the tumor/normal Specimens.
* one ``variant`` Observation per somatic and germline finding (LOINC 69548-6 Genetic variant assessment,
  value LA9633-4 Present) with components gene studied 48018-6 (HGNC ID as code, symbol as display),
  c.HGVS 48004-6, p.HGVS 48005-3, transcript 51958-7, genomic source class 48002-0 (LA6684-0 Somatic /
  LA6683-2 Germline), sample VAF 81258-6, allelic read depth 82121-5, ref/alt allele 69547-8/69551-0,
  exact start 81254-5 with 1-based coordinates (92822-6, LA30102-0), molecular consequence (tbd-codes-cs).
* a ``diagnostic-implication`` Observation per finding with a classification: ClinVar clinical
  significance for germline findings (53037-8, LOINC answers LA6668-3 ... LA6675-8), the AMP/ASCO/CAP tier
  (as text) for somatic findings.
* a ``therapeutic-implication`` Observation (code tbd-codes-cs#therapeutic-implication) per therapy option
  (medication assessed 51963-7, evidence level 93044-6, associated cancer, sensitivity / resistance as the
  therapeutic-implication component) derived from the variant Observations; citations in ``note``.
* a ``genotype`` Observation (LOINC 84413-4) per PGx diplotype, and a ``therapeutic-implication``
  Observation per CPIC recommendation derived from it (the IG's STU3 form of a medication implication:
  medication assessed 51963-7, metabolizer phenotype as effect-medication-metabolism 53040-2, CPIC strength
  as evidence level 93044-6, the recommendation text and citations in ``note``).
* a failed tumor-normal identity check (``Case.identity``: mismatch or swap) opens the DiagnosticReport's
  ``conclusion`` with the warning that the findings may belong to another patient.
* a ``molecular-biomarker`` Observation for TMB (LOINC 94076-7, UCUM 1/1000000{Base}, interpretation H/L);
  a TMB that is not assessable carries no value, a dataAbsentReason and the reason in ``note``.
* a ``molecular-biomarker`` Observation for MSI (LOINC 81695-9; LA14122-8 "Stable" for MSS, the class as
  text otherwise), not assessable as for TMB;
* ``variant`` Observations (LOINC 69548-6, Present) for tiered gene-level copy-number calls (copy number as
  LOINC 82155-3), relevant fusions (both genes studied) and MET exon 14 skipping events; therapeutic
  implications derive from them.

Codes without a verified code-system mapping (phenotype names, AMP levels, OncoTree codes, drug names) are
sent as CodeableConcept.text rather than invented codings. Resource ids are UUID v5 of the patient and the
item, so the same case record gives the same bytes. Every resource's status is ``preliminary``: Bedside
output is for research use and has not been reviewed by a clinician.
"""

from __future__ import annotations

import uuid
from typing import Any

from bedside import biomarkers as bm
from bedside.model import Case, Citation, Finding, Origin

IG = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"
IG_VERSION = "3.0.0"
LOINC = "http://loinc.org"
TBD = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
HGNC = "http://www.genenames.org/geneId"
HGVS = "http://varnomen.hgvs.org"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
NAMESPACE = uuid.UUID("6f1c3d52-8a7e-5b0e-9c3e-0b5ede5f4a11")  # fixed: ids are stable across runs

# HGNC IDs of the genes Bedside's knowledge base, PGx bundle and demo use (checked against public HGNC
# listings 2026-12-01). A gene not listed is sent with its symbol only (no invented ID).
HGNC_IDS = {
    "BRAF": "HGNC:1097",
    "BRCA1": "HGNC:1100",
    "BRCA2": "HGNC:1101",
    "EGFR": "HGNC:3236",
    "KRAS": "HGNC:6407",
    "NRAS": "HGNC:7989",
    "PIK3CA": "HGNC:8975",
    "TP53": "HGNC:11998",
    "CYP2C19": "HGNC:2621",
    "CYP2C9": "HGNC:2623",
    "CYP2D6": "HGNC:2625",
    "CYP3A5": "HGNC:2638",
    "DPYD": "HGNC:3012",
    "NUDT15": "HGNC:23063",
    "SLCO1B1": "HGNC:10959",
    "TPMT": "HGNC:12014",
    "UGT1A1": "HGNC:12530",
    "VKORC1": "HGNC:23663",
}
CLINSIG = {
    "pathogenic": ("LA6668-3", "Pathogenic"),
    "likely pathogenic": ("LA26332-9", "Likely pathogenic"),
    "uncertain significance": ("LA26333-7", "Uncertain significance"),
    "likely benign": ("LA26334-5", "Likely benign"),
    "benign": ("LA6675-8", "Benign"),
}
TIER_TEXT = {
    "I": "Tier I - strong clinical significance",
    "II": "Tier II - potential clinical significance",
    "III": "Tier III - unknown clinical significance",
    "IV": "Tier IV - benign or likely benign",
}


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    c = {"system": system, "code": code}
    if display:
        c["display"] = display
    return c


def _cc(system: str, code: str, display: str | None = None, text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [_coding(system, code, display)]}
    if text:
        out["text"] = text
    return out


def _text(text: str) -> dict[str, Any]:
    return {"text": text}


def _component(code: dict[str, Any], **value: Any) -> dict[str, Any]:
    return {"code": code, **value}


def gene_concept(symbol: str) -> dict[str, Any]:
    hgnc = HGNC_IDS.get(symbol)
    if hgnc:
        return {"coding": [_coding(HGNC, hgnc, symbol)], "text": symbol}
    return {"coding": [{"system": HGNC, "display": symbol}], "text": symbol}


def _cite_notes(citations: list[Citation]) -> list[dict[str, str]]:
    notes = []
    for c in citations:
        parts = [c.source]
        if c.version:
            parts.append(c.version)
        if c.pmid:
            parts.append(f"PMID {c.pmid}")
        if c.url:
            parts.append(c.url)
        notes.append({"text": "Source: " + ", ".join(parts)})
    return notes


def finding_label(f: Finding) -> str:
    csq = f.consequence
    if csq and csq.gene:
        return f"{csq.gene} {csq.hgvs_p or csq.hgvs_c or f.variant.key}"
    return f.variant.key


class _Builder:
    def __init__(self, case: Case):
        self.case = case
        self.entries: list[dict[str, Any]] = []
        self.results: list[dict[str, str]] = []
        self.patient_ref = self.ref("Patient", "patient")
        self.effective = case.generated

    def uid(self, *key: str) -> str:
        return "urn:uuid:" + str(uuid.uuid5(NAMESPACE, "|".join((self.case.patient_id, *key))))

    def ref(self, rtype: str, *key: str) -> str:
        return self.uid(rtype, *key)

    def add(self, url: str, resource: dict[str, Any], result: bool = True) -> str:
        resource["id"] = url.rsplit(":", 1)[1]
        self.entries.append({"fullUrl": url, "resource": resource})
        if result and resource["resourceType"] == "Observation":
            self.results.append({"reference": url})
        return url

    def observation(self, profile: str, code: dict[str, Any], **fields: Any) -> dict[str, Any]:
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "meta": {"profile": [IG + profile]},
            "status": "preliminary",
            "category": [_cc(OBS_CATEGORY, "laboratory", "Laboratory"), _cc(V2_0074, "GE", "Genetics")],
            "code": code,
            "subject": {"reference": self.patient_ref},
        }
        if self.effective:
            obs["effectiveDateTime"] = self.effective
        obs.update({k: v for k, v in fields.items() if v not in (None, [], {})})
        return obs


def _variant(b: _Builder, f: Finding, key: str, specimen: str | None) -> str:
    csq = f.consequence
    comps = []
    if csq and csq.gene:
        comps.append(
            _component(
                _cc(LOINC, "48018-6", "Gene studied [ID]"), valueCodeableConcept=gene_concept(csq.gene)
            )
        )
    if csq and csq.transcript:
        comps.append(
            _component(
                _cc(LOINC, "51958-7", "Transcript reference sequence [ID]"),
                valueCodeableConcept=_text(csq.transcript),
            )
        )
    if csq and csq.hgvs_c:
        hgvs_c = csq.hgvs_c if ":" in csq.hgvs_c or not csq.transcript else f"{csq.transcript}:{csq.hgvs_c}"
        comps.append(
            _component(
                _cc(LOINC, "48004-6", "DNA change (c.HGVS)"),
                valueCodeableConcept=_cc(HGVS, hgvs_c, text=hgvs_c),
            )
        )
    if csq and csq.hgvs_p:
        comps.append(
            _component(
                _cc(LOINC, "48005-3", "Amino acid change (pHGVS)"),
                valueCodeableConcept=_cc(HGVS, csq.hgvs_p, text=csq.hgvs_p),
            )
        )
    if csq and csq.consequence:
        comps.append(
            _component(
                _cc(TBD, "molecular-consequence", "Molecular Consequence"),
                valueCodeableConcept=_text(csq.consequence.replace("&", ", ")),
            )
        )
    source = ("LA6684-0", "Somatic") if f.origin == Origin.SOMATIC else ("LA6683-2", "Germline")
    comps.append(
        _component(
            _cc(LOINC, "48002-0", "Genomic source class [Type]"), valueCodeableConcept=_cc(LOINC, *source)
        )
    )
    if f.vaf is not None:
        comps.append(
            _component(
                _cc(LOINC, "81258-6", "Sample variant allelic frequency [NFr]"),
                valueQuantity={"value": round(float(f.vaf), 4), "system": UCUM, "code": "1"},
            )
        )
    if f.alt_reads is not None:
        comps.append(
            _component(
                _cc(LOINC, "82121-5", "Allelic read depth"),
                valueQuantity={"value": int(f.alt_reads), "system": UCUM, "code": "1"},
            )
        )
    comps += [
        _component(
            _cc(LOINC, "92822-6", "Genomic coordinate system [Type]"),
            valueCodeableConcept=_cc(LOINC, "LA30102-0", "1-based character counting"),
        ),
        _component(
            _cc(LOINC, "81254-5", "Genomic allele start-end"),
            valueRange={
                "low": {"value": f.variant.pos},
                "high": {"value": f.variant.pos + len(f.variant.ref) - 1},
            },
        ),
        _component(_cc(LOINC, "69547-8", "Genomic reference allele [ID]"), valueString=f.variant.ref),
        _component(_cc(LOINC, "69551-0", "Genomic alternate allele [ID]"), valueString=f.variant.alt),
    ]
    notes = [
        {
            "text": f"{f.variant.chrom}:{f.variant.pos} {f.variant.ref}>{f.variant.alt}"
            + (
                f" (reference build {b.case.versions['reference build']})"
                if b.case.versions.get("reference build")
                else ""
            )
        }
    ]
    if f.tumor_only:
        notes.append({"text": "tumor-only call: germline origin not excluded by a matched normal"})
    if f.filters and f.filters != ["PASS"]:
        notes.append({"text": "filters: " + ", ".join(f.filters)})
    obs = b.observation(
        "variant",
        _cc(LOINC, "69548-6", "Genetic variant assessment"),
        valueCodeableConcept=_cc(LOINC, "LA9633-4", "Present"),
        component=comps,
        note=notes,
        specimen={"reference": specimen} if specimen else None,
    )
    url = b.add(b.ref("Observation", "variant", key), obs)
    # classification: ClinVar significance (germline) / AMP tier (somatic)
    comp = None
    sig = (f.clinvar.clnsig or "").replace("_", " ").lower() if f.clinvar else ""
    if f.origin == Origin.GERMLINE and sig:
        code = CLINSIG.get(sig)
        value = _cc(LOINC, code[0], code[1], text=f.clinvar.clnsig) if code else _text(f.clinvar.clnsig or "")
        comp = _component(
            _cc(LOINC, "53037-8", "Genetic variation clinical significance [Imp]"), valueCodeableConcept=value
        )
        note = [
            {
                "text": f"ClinVar {f.clinvar.clnsig}, review status {f.clinvar.review_status or 'not given'}"
                + (f" ({f.clinvar.stars} stars)" if f.clinvar.stars is not None else "")
                + (f", version {f.clinvar.version}" if f.clinvar.version else "")
            }
        ]
    elif f.tier is not None:
        tier = f.tier.value if hasattr(f.tier, "value") else str(f.tier)
        comp = _component(
            _cc(LOINC, "53037-8", "Genetic variation clinical significance [Imp]"),
            valueCodeableConcept=_text(f"AMP/ASCO/CAP 2017 {TIER_TEXT.get(tier, tier)}"),
        )
        note = [{"text": "Somatic tier per Li et al., J Mol Diagn 2017 (PMID 27993330)"}]
    if comp is not None:
        impl = b.observation(
            "diagnostic-implication",
            _cc(TBD, "diagnostic-implication", "Diagnostic Implication"),
            derivedFrom=[{"reference": url}],
            component=[comp],
            note=note,
        )
        b.add(b.ref("Observation", "dx", key), impl)
    return url


def _events(case: Case) -> list:
    """Tiered copy-number calls, relevant fusions and MET exon 14 events (what the report lists with a tier)."""
    cn = [c for c in (case.copy_number.calls if case.copy_number else []) if c.tier is not None]
    return cn + [f for f in case.fusions if f.tier is not None] + [m for m in case.met_exon14]


def _event(b: _Builder, ev, specimen: str | None) -> str:
    """A variant Observation for a copy-number call, fusion or MET exon 14 event: genes studied, the
    copy number (LOINC 82155-3) where called, the alteration in words and its AMP tier."""
    from bedside.model import CopyNumberCall, FusionCall

    genes = [ev.gene5, ev.gene3] if isinstance(ev, FusionCall) else (
        [ev.gene] if isinstance(ev, CopyNumberCall) else ["MET"])
    comps = [_component(_cc(LOINC, "48018-6", "Gene studied [ID]"), valueCodeableConcept=gene_concept(g))
             for g in genes]
    comps.append(_component(_cc(LOINC, "48002-0", "Genomic source class [Type]"),
                            valueCodeableConcept=_cc(LOINC, "LA6684-0", "Somatic")))
    notes = [{"text": ev.label}]
    if isinstance(ev, CopyNumberCall):
        if ev.copy_number is not None:
            comps.append(_component(_cc(LOINC, "82155-3", "Genomic structural variant copy number"),
                                    valueQuantity={"value": ev.copy_number, "system": UCUM, "code": "1"}))
        notes.append({"text": f"{ev.chrom}:{ev.start}-{ev.end} (0-based), total copies {ev.copy_number}, "
                              f"minor copies {ev.minor_cn}, log2 {ev.log2}, basis {ev.basis}"})
    elif isinstance(ev, FusionCall):
        notes.append({"text": f"breakpoints {ev.breakpoint5} ({ev.region5}) -> {ev.breakpoint3} ({ev.region3}), "
                              f"frame {ev.frame}, {ev.tumor_pairs} read pairs / {ev.tumor_split} split reads"})
    else:
        notes.append({"text": f"{ev.record}: {ev.mechanism}"})
    if ev.tier is not None:
        comps.append(_component(_cc(LOINC, "53037-8", "Genetic variation clinical significance [Imp]"),
                                valueCodeableConcept=_text(f"AMP/ASCO/CAP 2017 {TIER_TEXT[ev.tier.value]}")))
    obs = b.observation("variant", _cc(LOINC, "69548-6", "Genetic variant assessment"),
                        valueCodeableConcept=_cc(LOINC, "LA9633-4", "Present"), component=comps, note=notes,
                        specimen={"reference": specimen} if specimen else None)
    return b.add(b.ref("Observation", "event", ev.label), obs)


def _therapy_rows(case: Case) -> list[dict[str, Any]]:
    """Therapy implications from the stored Case.therapy_options (decided once by bedside.knowledge)."""
    rows = []
    for opt in case.therapy_options:
        rows.append(
            {
                "therapy": opt.therapy,
                "category": opt.category,
                "level": opt.level,
                "findings": list(opt.findings),
                "direction": "resistance" if opt.category == "resistance" else "sensitivity",
                "tumor_types": sorted({e.tumor_type for e in opt.evidence if e.tumor_type}),
                "eligibility": opt.eligibility,
                "citations": [c for e in opt.evidence for c in e.citations],
            }
        )
    return rows


CATEGORY_TEXT = {
    "this_tumor_type": "evidence in the patient's tumor type",
    "other_tumor_type": "evidence in another tumor type (AMP level C here)",
    "resistance": "resistance",
}


def build_bundle(case: Case) -> dict[str, Any]:
    """The FHIR R4 Bundle (type collection) for one case record, as a JSON-ready dict."""
    b = _Builder(case)
    ctx = case.context
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:bedside:patient", "value": case.patient_id}],
    }
    if ctx.sex and ctx.sex.lower() in ("male", "female", "other", "unknown"):
        patient["gender"] = ctx.sex.lower()
    b.add(b.patient_ref, patient)
    specimens: dict[str, str] = {}
    for role, sample in (("tumor", case.tumor_sample), ("normal", case.normal_sample)):
        if sample:
            spec = {
                "resourceType": "Specimen",
                "identifier": [{"system": "urn:bedside:sample", "value": sample}],
                "type": _text(f"{role} DNA"),
                "subject": {"reference": b.patient_ref},
            }
            specimens[role] = b.add(b.ref("Specimen", sample), spec)
    # variants, keyed by finding label for implications
    by_label: dict[str, list[str]] = {}
    for origin, findings, spec in (
        ("somatic", case.somatic, specimens.get("tumor")),
        ("germline", case.germline, specimens.get("normal")),
    ):
        for f in findings:
            url = _variant(b, f, f"{origin}:{f.variant.key}", spec)
            by_label.setdefault(finding_label(f), []).append(url)
    for ev in _events(case):
        by_label.setdefault(ev.label, []).append(_event(b, ev, specimens.get("tumor")))
    # therapeutic implications of the therapy options
    for i, row in enumerate(_therapy_rows(case)):
        derived = [{"reference": u} for label in row["findings"] for u in by_label.get(label, [])]
        comps = [
            _component(
                _cc(TBD, "therapeutic-implication", "Therapeutic Implication"),
                valueCodeableConcept=_text(
                    f"{row['direction']} ({CATEGORY_TEXT.get(row['category'], row['category'])})"
                ),
            ),
            _component(
                _cc(LOINC, "51963-7", "Medication assessed [Identifier]"),
                valueCodeableConcept=_text(row["therapy"]),
            ),
            _component(
                _cc(LOINC, "93044-6", "Level of evidence"),
                valueCodeableConcept=_text(f"AMP/ASCO/CAP level {row['level']}"),
            ),
        ]
        for tt in row["tumor_types"]:
            comps.append(
                _component(
                    _cc(TBD, "associated-cancer", "Associated Cancer"),
                    valueCodeableConcept=_text(f"OncoTree {tt}"),
                )
            )
        notes = [{"text": f"Findings: {', '.join(row['findings'])}"}] if row["findings"] else []
        if row["eligibility"]:
            notes.append({"text": f"Eligibility: {row['eligibility']}"})
        obs = b.observation(
            "therapeutic-implication",
            _cc(TBD, "therapeutic-implication", "Therapeutic Implication"),
            derivedFrom=derived or [{"reference": b.patient_ref}],
            component=comps,
            note=notes + _cite_notes(row["citations"]),
        )
        if not derived:
            obs.pop("derivedFrom")
        b.add(b.ref("Observation", "therapy", str(i), row["therapy"]), obs)
    # PGx: genotype + medication implications
    genotype_url: dict[str, str] = {}
    for d in case.pgx:
        value = " or ".join(f"{d.gene} {x}" for x in d.diplotypes) if d.diplotypes else f"{d.gene} not called"
        notes = [{"text": f"phenotype: {d.phenotype}"}] if d.phenotype else []
        if d.missing_positions:
            notes.append({"text": f"{len(d.missing_positions)} defining positions not genotyped"})
        if d.source != "called":
            notes.append({"text": f"source: {d.source} call"})
        obs = b.observation(
            "genotype",
            _cc(LOINC, "84413-4", "Genotype display name"),
            valueCodeableConcept=_text(value),
            component=[
                _component(
                    _cc(LOINC, "48018-6", "Gene studied [ID]"), valueCodeableConcept=gene_concept(d.gene)
                )
            ],
            note=notes,
            specimen={"reference": specimens["normal"]} if "normal" in specimens else None,
        )
        genotype_url[d.gene] = b.add(b.ref("Observation", "genotype", d.gene), obs)
    for i, r in enumerate(case.recommendations):
        genes = [g.strip() for g in (r.gene or "").replace(";", ",").split(",") if g.strip()]
        derived = [{"reference": genotype_url[g]} for g in genes if g in genotype_url]
        comps = [
            _component(
                _cc(LOINC, "51963-7", "Medication assessed [Identifier]"), valueCodeableConcept=_text(r.drug)
            )
        ]
        if r.phenotype:
            comps.append(
                _component(
                    _cc(LOINC, "53040-2", "Genetic variation's effect on drug metabolism"),
                    valueCodeableConcept=_text(r.phenotype),
                )
            )
        if r.classification:
            comps.append(
                _component(
                    _cc(LOINC, "93044-6", "Level of evidence"),
                    valueCodeableConcept=_text(f"CPIC recommendation strength: {r.classification}"),
                )
            )
        notes = [{"text": r.text}]
        if r.actionable is False:
            notes.append({"text": "No change to standard prescribing for this phenotype (not actionable)."})
        obs = b.observation(
            "therapeutic-implication",
            _cc(TBD, "therapeutic-implication", "Therapeutic Implication"),
            derivedFrom=derived,
            component=comps,
            note=notes + _cite_notes(r.citations),
        )
        b.add(b.ref("Observation", "pgx", str(i), r.drug, r.gene or ""), obs)
    # biomarkers
    tmb = bm.iter_codes(case.biomarkers, "TMB")
    if tmb is not None:
        fields: dict[str, Any] = {}
        notes = [{"text": f"Definition: {tmb.definition}"}] if tmb.definition else []
        if tmb.status == "assessable" and tmb.value is not None:
            fields["valueQuantity"] = {
                "value": tmb.value,
                "unit": "mutations/megabase",
                "system": UCUM,
                "code": "1/1000000{Base}",
            }
            if tmb.classification in ("High", "Low"):
                code = "H" if tmb.classification == "High" else "L"
                fields["interpretation"] = [_cc(INTERPRETATION, code, tmb.classification)]
            if tmb.ci_low is not None:
                notes.append(
                    {
                        "text": f"95 % CI {tmb.ci_low}-{tmb.ci_high} mut/Mb (exact Poisson); "
                        f"{tmb.count} mutations over {tmb.territory_mb} Mb; "
                        f"High at >= {tmb.threshold:g} mut/Mb"
                    }
                )
        else:
            fields["dataAbsentReason"] = _cc(DATA_ABSENT, "unsupported", "Unsupported")
            notes.append({"text": f"Not assessable: {tmb.reason}"})
        if tmb.reason and tmb.status == "assessable":
            notes.append({"text": tmb.reason})
        obs = b.observation(
            "molecular-biomarker",
            _cc(LOINC, "94076-7", "Mutations/Megabase [# Ratio] in Tumor"),
            note=notes + _cite_notes(tmb.citations),
            **fields,
            specimen={"reference": specimens["tumor"]} if "tumor" in specimens else None,
        )
        b.add(b.ref("Observation", "biomarker", "TMB"), obs)
    msi = bm.iter_codes(case.biomarkers, "MSI")
    if msi is not None:
        # LOINC 81695-9 (the genomics-reporting IG's MSI profile code); answer LA14122-8 "Stable" for MSS,
        # the classification as text otherwise (no LOINC answer code is asserted that was not checked)
        fields = {}
        notes = [{"text": f"Definition: {msi.definition}"}] if msi.definition else []
        if msi.status == "assessable" and msi.classification:
            fields["valueCodeableConcept"] = (_cc(LOINC, "LA14122-8", "Stable", text="MSS")
                                              if msi.classification == "MSS" else _text(msi.classification))
            if msi.value is not None:
                notes.append({"text": f"MSI score {msi.value:g} {msi.unit or ''}".rstrip()
                              + (f"; MSI-H at >= {msi.threshold:g}" if msi.threshold is not None else "")})
            if msi.reason:
                notes.append({"text": msi.reason})
        else:
            fields["dataAbsentReason"] = _cc(DATA_ABSENT, "unsupported", "Unsupported")
            notes.append({"text": f"Not assessable: {msi.reason}"})
        obs = b.observation(
            "molecular-biomarker",
            _cc(LOINC, "81695-9", "Microsatellite instability [Interpretation] in Cancer specimen Qualitative"),
            note=notes + _cite_notes(msi.citations),
            **fields,
            specimen={"reference": specimens["tumor"]} if "tumor" in specimens else None,
        )
        b.add(b.ref("Observation", "biomarker", "MSI"), obs)
    # the report
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "meta": {"profile": [IG + "genomic-report"]},
        "status": "preliminary",
        "category": [_cc(V2_0074, "GE", "Genetics")],
        "code": _cc(LOINC, "51969-4", "Genetic analysis report"),
        "subject": {"reference": b.patient_ref},
        "specimen": [{"reference": u} for u in specimens.values()],
        "result": list(b.results),
        "conclusion": conclusion(case),
    }
    if case.generated:
        report["effectiveDateTime"] = case.generated
        report["issued"] = case.generated
    if not report["specimen"]:
        report.pop("specimen")
    b.entries.insert(
        0,
        {
            "fullUrl": b.ref("DiagnosticReport", "report"),
            "resource": {**report, "id": b.ref("DiagnosticReport", "report").rsplit(":", 1)[1]},
        },
    )
    bundle = {
        "resourceType": "Bundle",
        "id": b.ref("Bundle", "bundle").rsplit(":", 1)[1],
        "meta": {
            "tag": [
                {
                    "system": "urn:bedside",
                    "code": "research-use-only",
                    "display": "For research use only; not reviewed by a clinician",
                }
            ]
        },
        "identifier": {"system": "urn:bedside:report", "value": f"{case.patient_id}-{case.generated or ''}"},
        "type": "collection",
        "entry": b.entries,
    }
    if case.generated:
        bundle["timestamp"] = case.generated
    return bundle


def conclusion(case: Case) -> str:
    parts = [
        f"Research use only. Patient {case.patient_id}"
        + (f", {case.context.diagnosis_name or case.context.diagnosis}" if case.context.diagnosis else "")
        + "."
    ]
    if case.identity is not None and case.identity.problem:
        from bedside.cohort.identity import problem_notice

        parts.insert(0, problem_notice(case.identity))
    tier1 = [
        finding_label(f)
        for f in case.somatic
        if f.tier is not None and getattr(f.tier, "value", f.tier) == "I"
    ]
    if tier1:
        parts.append("Tier I: " + "; ".join(tier1) + ".")
    tmb = bm.iter_codes(case.biomarkers, "TMB")
    if tmb is not None:
        parts.append("TMB: " + bm.display(tmb) + ".")
    msi = bm.iter_codes(case.biomarkers, "MSI")
    if msi is not None:
        parts.append("MSI: " + (msi.classification if msi.status == "assessable" and msi.classification
                                else "not assessable") + ".")
    alerts = [v.drug for v in case.prescribing if v.urgency == "alert"]
    if alerts:
        parts.append("Prescribing alerts: " + ", ".join(alerts) + ".")
    return " ".join(parts)


def validate(bundle: dict[str, Any]) -> None:
    """Validate the bundle and every resource with fhir.resources (R4B models, R4-compatible for these
    resources); raises pydantic.ValidationError naming the field."""
    from fhir.resources.R4B import get_fhir_model_class

    get_fhir_model_class("Bundle").model_validate(bundle)
    for entry in bundle.get("entry", []):
        res = entry["resource"]
        get_fhir_model_class(res["resourceType"]).model_validate(res)
