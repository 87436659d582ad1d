"""Plain dataclasses shared by every stage. They know nothing of files or tools.

Everything here serialises to JSON with :func:`to_dict` (dataclasses.asdict plus enum handling), and the
per-patient :class:`Case` is what ``case.json`` holds and the report renders.
Add fields with defaults only; never rename existing ones (other modules and case.json depend on them).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any


class Origin(str, enum.Enum):
    SOMATIC = "somatic"
    GERMLINE = "germline"


class Tier(str, enum.Enum):
    """AMP/ASCO/CAP 2017 tiers (Li et al., J Mol Diagn 2017;19:4-23, PMID 27993330)."""

    I = "I"
    II = "II"
    III = "III"
    IV = "IV"


class TumorMatch(str, enum.Enum):
    """How a knowledge statement's tumor type relates to the patient's (decided in bedside.knowledge.match)."""

    SAME = "same"  # evidence is for the patient's OncoTree code itself
    ANCESTOR = "ancestor"  # evidence is for an OncoTree ancestor (LUAD patient, NSCLC evidence)
    AGNOSTIC = "agnostic"  # tumor-agnostic approval; the patient's type is not among its exclusions
    OTHER = "other"  # evidence is for another tumor type (an approval there is AMP level C here)
    EXCLUDED = "excluded"  # tumor-agnostic approval whose exclusions cover the patient's tumor type


@dataclass(frozen=True)
class Citation:
    """Where a clinical statement comes from: guideline, drug label, PMID, or database + version."""

    source: str  # e.g. "FDA label (Tafinlar)", "CPIC", "CIViC", "NCCN"
    pmid: str | None = None
    url: str | None = None
    version: str | None = None  # database release or label revision date
    date: str | None = None  # date the entry was curated or the source published (ISO)
    note: str | None = None


@dataclass(frozen=True)
class Variant:
    chrom: str
    pos: int  # 1-based, as in VCF
    ref: str
    alt: str
    id: str | None = None

    @property
    def key(self) -> str:
        return f"{self.chrom}:{self.pos}:{self.ref}>{self.alt}"

    @property
    def kind(self) -> str:
        if len(self.ref) == 1 and len(self.alt) == 1:
            return "SNV"
        if len(self.ref) == len(self.alt):
            return "MNV"
        return "indel"


@dataclass
class Consequence:
    gene: str
    transcript: str | None = None
    consequence: str = ""  # Sequence Ontology term(s), '&'-joined, e.g. missense_variant
    hgvs_c: str | None = None  # e.g. ENST00000288602:c.1799T>A or c.1799T>A
    hgvs_p: str | None = None  # e.g. p.Val600Glu (3-letter)
    protein_position: int | None = None
    impact: str | None = None  # HIGH / MODERATE / LOW / MODIFIER


@dataclass
class ClinVarRecord:
    clnsig: str | None = None
    review_status: str | None = None
    stars: int | None = None
    gene_info: str | None = None
    variation_id: str | None = None
    version: str | None = None


@dataclass
class Evidence:
    """One knowledge-base statement: biomarker + tumor type -> therapy, with level and citation."""

    gene: str
    alteration: str  # e.g. p.V600E, codon G12, exon19del, truncating
    tumor_type: str  # OncoTree code the evidence is about
    therapy: str
    direction: str  # "sensitivity" | "resistance" | "prognostic"
    level: str  # A | B | C | D (AMP/ASCO/CAP evidence levels)
    citations: list[Citation] = field(default_factory=list)
    matched_tumor_type: str | None = None  # how the patient's tumor type matched (self/ancestor)
    source_id: str | None = None  # knowledge-base row id, CIViC EID, ...
    match: TumorMatch | None = None  # typed relation of tumor_type to the patient's (set when matched)
    patient_level: str | None = None  # AMP level re-graded for this patient (other-tumor approval -> C)
    eligibility: str | None = None  # e.g. "HR+/HER2- advanced breast cancer after endocrine therapy"
    preference: int | None = None  # order within a level where the source gives one (1 = preferred)
    origin: str = "either"  # somatic | germline | either: which variant origin the statement applies to
    biomarker_type: str = "small_variant"  # small_variant | amplification | deletion | fusion | msi | tmb
    exclusions: list[str] = field(default_factory=list)  # OncoTree codes a tumor-agnostic row excludes


@dataclass
class Oncogenicity:
    """ClinGen/CGC/VICC oncogenicity SOP (Horak et al., Genet Med 2022, PMID 35101336) for one variant."""

    classification: str  # Oncogenic | Likely Oncogenic | VUS | Likely Benign | Benign
    points: int
    criteria: list[str] = field(default_factory=list)  # e.g. ["OS3 (+4): hotspot ...", "SBVS1 (-8): ..."]
    citations: list[Citation] = field(default_factory=list)


@dataclass
class Finding:
    variant: Variant
    origin: Origin
    consequence: Consequence | None = None
    tier: Tier | None = None
    vaf: float | None = None
    depth: int | None = None
    alt_reads: int | None = None
    normal_vaf: float | None = None
    population_af: float | None = None
    clinvar: ClinVarRecord | None = None
    evidence: list[Evidence] = field(default_factory=list)
    filters: list[str] = field(default_factory=list)
    tumor_only: bool = False
    notes: list[str] = field(default_factory=list)
    oncogenicity: Oncogenicity | None = None
    tumor_zygosity: str | None = None  # germline variant in the tumor: LOH / retained (from copy number)


@dataclass
class TherapyOption:
    """One therapy in play for the patient, decided once (bedside.knowledge) and read by every output."""

    therapy: str
    category: str  # "this_tumor_type" (A/B here) | "other_tumor_type" (C) | "resistance"
    level: str  # AMP level as graded for this patient
    findings: list[str] = field(default_factory=list)  # finding labels, e.g. "BRAF p.Val600Glu"
    evidence: list[Evidence] = field(default_factory=list)
    eligibility: str | None = None
    preference: int | None = None
    excluded_by_resistance: bool = False  # sensitivity evidence overruled by A/B resistance in this tumor
    eligibility_conflict: str | None = None  # the patient's own results contradict the stated eligibility


@dataclass
class Biomarker:
    """A genome-wide biomarker (TMB, MSI, ...) with an honest assessability verdict."""

    name: str  # "TMB", "MSI"
    status: str  # "assessable" | "not_assessable"
    value: float | None = None
    unit: str | None = None  # e.g. "mut/Mb"
    classification: str | None = None  # e.g. "High" / "Low"; None when not assessable
    ci_low: float | None = None
    ci_high: float | None = None
    threshold: float | None = None
    territory_mb: float | None = None
    min_territory_mb: float | None = None
    count: int | None = None
    reason: str | None = None  # why not assessable, or caveats
    definition: str | None = None  # which variant classes count, over which territory
    citations: list[Citation] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)  # knowledge rows matched (MSI-H, TMB-H)
    tier: Tier | None = None

    @property
    def label(self) -> str:
        cls = self.classification or self.status
        return cls if cls.upper().startswith(self.name.upper()) else f"{self.name} {cls}"  # "MSI-H", "TMB High"


@dataclass
class CopyNumberCall:
    """A gene-level copy-number call (bedside.calling.cnv genes.tsv), tiered like a finding."""

    gene: str
    call: str  # amplification | gain | loss | homozygous_deletion | cn_loh
    chrom: str | None = None
    start: int | None = None  # 0-based
    end: int | None = None
    copy_number: int | None = None
    minor_cn: int | None = None
    log2: float | None = None
    n_bins: int | None = None
    basis: str | None = None  # purity fit | log2 thresholds
    tier: Tier | None = None
    evidence: list[Evidence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.gene} {self.call.replace('_', ' ')}"


@dataclass
class CopyNumberProfile:
    """Purity / ploidy fit and the non-neutral gene-level calls of one tumor."""

    status: str  # assessable | not_assessable (purity fit)
    purity: float | None = None
    ploidy: float | None = None
    reason: str | None = None
    purity_from_vafs: float | None = None
    vaf_agreement: str | None = None
    method: str | None = None
    n_segments: int | None = None
    calls: list[CopyNumberCall] = field(default_factory=list)
    plot: str | None = None  # path of the genome-wide plot (PNG) the report embeds
    # genetic sex from the germline sample's X depth (cnv.json fit.sex), e.g. "male (one X)"; None: no X bins
    sex: str | None = None
    # the clinical record's sex when it contradicts ``sex`` (a possible sample mix-up); None: agrees / unknown
    sex_mismatch: str | None = None


@dataclass
class FusionCall:
    """A gene fusion annotated from somatic SV breakpoints (bedside.calling.sv fusions.json)."""

    gene5: str
    gene3: str
    frame: str = "unknown"  # in-frame | out-of-frame | unknown | not coding
    transcript5: str | None = None
    transcript3: str | None = None
    breakpoint5: str | None = None
    breakpoint3: str | None = None
    region5: str | None = None
    region3: str | None = None
    svtype: str | None = None
    tumor_pairs: int | None = None
    tumor_split: int | None = None
    normal_alt: int | None = None
    known_partner: str | None = None
    relevant: bool = False
    junction: str = "observed"
    filter: str | None = None
    sv_id: str | None = None
    tier: Tier | None = None
    evidence: list[Evidence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.gene5}::{self.gene3} fusion"


@dataclass
class MetExon14Event:
    """A somatic event predicted to skip MET exon 14."""

    record: str
    mechanism: str
    source: str | None = None  # sv | small_variant
    chrom: str | None = None
    start: int | None = None
    end: int | None = None
    tumor_support: int | None = None
    tier: Tier | None = None
    evidence: list[Evidence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return "MET exon 14 skipping"


@dataclass
class DrugModifier:
    """One thing that changes how a drug in play is prescribed: PGx, drug-drug, organ function, lifestyle."""

    category: str  # gene-drug | drug-drug | drug-lifestyle | organ-function
    rule_id: str
    action: str
    effect: str  # dose_decrease | dose_increase | avoid | monitor | alternative | info
    strength: str | None = None  # CPIC classification or label wording (e.g. "Strong", "label")
    reason: str = ""
    citations: list[Citation] = field(default_factory=list)


@dataclass
class DrugView:
    """Everything known about prescribing one drug in play, reconciled in one place."""

    drug: str
    in_play: list[str] = field(default_factory=list)  # "current medication", "recommended therapy"
    modifiers: list[DrugModifier] = field(default_factory=list)
    conflict: str | None = None  # modifiers pulling different ways: for clinician review
    urgency: str = "none"  # alert | caution | info | none
    checked: list[str] = field(default_factory=list)  # rule sets evaluated for this drug
    not_available: list[str] = field(default_factory=list)  # rule sets not curated / inputs missing


@dataclass
class Diplotype:
    """Pharmacogene call for one sample."""

    gene: str
    diplotypes: list[str]  # more than one when ambiguous, e.g. ["*1/*2"]
    phenotype: str | None = None
    activity_score: float | None = None
    missing_positions: list[str] = field(default_factory=list)
    source: str = "called"  # "called" from the VCF, or "outside" call (e.g. CYP2D6)
    notes: list[str] = field(default_factory=list)
    phenotypes: list[str] = field(default_factory=list)  # every phenotype the diplotypes allow
    status: str = "called"  # called | ambiguous | indeterminate | not_called


@dataclass
class Recommendation:
    drug: str
    text: str
    gene: str | None = None
    phenotype: str | None = None
    classification: str | None = None  # CPIC strength, or evidence level
    citations: list[Citation] = field(default_factory=list)
    kind: str = "pgx"  # pgx | therapy | interaction
    actionable: bool | None = None  # CPIC: dosing change, alternative drug or other guidance (pgx)


@dataclass
class RuleResult:
    """One interaction / tailoring rule applied to this patient's context."""

    rule_id: str
    category: str  # gene-drug | drug-drug | drug-lifestyle | organ-function
    drug: str
    status: str  # "fired" | "not_fired" | "not_evaluated"
    reason: str
    action: str | None = None  # what changes in the recommendation when it fires
    citations: list[Citation] = field(default_factory=list)


@dataclass
class LabValue:
    name: str
    value: float
    unit: str


@dataclass
class PatientContext:
    patient_id: str
    age: int | None = None
    sex: str | None = None
    diagnosis: str | None = None  # OncoTree code
    diagnosis_name: str | None = None
    medications: list[str] = field(default_factory=list)
    labs: list[LabValue] = field(default_factory=list)
    smoking_status: str | None = None
    pack_years: float | None = None
    alcohol_units_per_week: float | None = None
    bmi: float | None = None
    diet: list[str] = field(default_factory=list)
    not_evaluated: list[str] = field(default_factory=list)  # inputs that could not be used, and why


@dataclass
class QCMetric:
    sample: str
    metric: str
    value: float | None
    threshold: float | None = None
    comparison: str = ">="  # value must be <comparison> threshold to pass
    passed: bool | None = None
    source: str | None = None  # which tool/file produced it


@dataclass
class IdentityCheck:
    """Tumor-normal identity of the patient's specimens: genotype concordance of the tumor with its own normal
    (and every other normal of the cohort) at common SNPs, from ``bedside cohort identity``
    (bedside.cohort.identity). A problem means the findings may belong to another patient."""

    status: str  # ok | mismatch | swapped_with:<patient> | not_assessable | not_run
    tumor_sample: str | None = None
    normal_sample: str | None = None
    sites: int | None = None  # informative common SNPs (called at depth in both)
    concordance: float | None = None  # exact-genotype concordance of the tumor with its own normal
    opposite_homozygous: float | None = None
    best_normal: str | None = None  # the cohort normal the tumor matches best
    best_concordance: float | None = None
    swapped_with: str | None = None  # the patient whose normal matches this tumor (status swapped_with:)
    reason: str | None = None  # why not run / not assessable
    source: str | None = None  # the identity table it was read from

    @property
    def problem(self) -> bool:
        return self.status == "mismatch" or self.status.startswith("swapped_with")


@dataclass
class Case:
    patient_id: str
    context: PatientContext
    tumor_sample: str | None = None
    normal_sample: str | None = None
    somatic: list[Finding] = field(default_factory=list)
    germline: list[Finding] = field(default_factory=list)
    pgx: list[Diplotype] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    rules: list[RuleResult] = field(default_factory=list)
    qc: list[QCMetric] = field(default_factory=list)
    tmb: float | None = None  # somatic mutations per Mb of callable territory
    callable_mb: float | None = None
    versions: dict[str, str] = field(default_factory=dict)  # tool / knowledge-base versions used
    notices: list[str] = field(default_factory=list)
    generated: str | None = None
    biomarkers: list[Biomarker] = field(default_factory=list)
    therapy_options: list[TherapyOption] = field(default_factory=list)
    prescribing: list[DrugView] = field(default_factory=list)
    assay: dict[str, Any] = field(default_factory=dict)  # scope: targets, genes, callable Mb, depth
    copy_number: CopyNumberProfile | None = None
    fusions: list[FusionCall] = field(default_factory=list)
    met_exon14: list[MetExon14Event] = field(default_factory=list)
    identity: IdentityCheck | None = None  # tumor-normal identity check (None: not recorded, older records)


def to_dict(obj: Any) -> Any:
    """JSON-ready representation of a model object (enums become their values)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (list, tuple)):
        return [to_dict(x) for x in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def from_dict(cls: type, data: Any) -> Any:
    """Inverse of :func:`to_dict` for the dataclasses above (used to read case.json back)."""
    import types
    import typing

    if data is None:
        return None
    origin = typing.get_origin(cls)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(cls) if a is not type(None)]
        return from_dict(args[0], data) if len(args) == 1 else data
    if origin is list:
        (item,) = typing.get_args(cls)
        return [from_dict(item, x) for x in data]
    if origin is dict:
        return dict(data)
    if isinstance(cls, type) and issubclass(cls, enum.Enum):
        return cls(data)
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        kwargs = {f.name: from_dict(hints[f.name], data[f.name])
                  for f in dataclasses.fields(cls) if f.name in data}
        return cls(**kwargs)
    return data
