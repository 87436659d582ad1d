"""The four demo patients: clinical context and the variants each one carries.

The clinical stories pair real tumor hotspots with the tumor types they are known in (BRAF V600E in
cutaneous melanoma, EGFR L858R in lung adenocarcinoma, KRAS G12D in colorectal adenocarcinoma, PIK3CA
H1047R in breast carcinoma) and germline pharmacogenomic/pathogenic variants with medications or
lifestyle items that make the clinical join matter. Ages, labs and lifestyle values are invented.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from bedside.demo.genes import X_CONTIG
from bedside.demo.pgx_defs import DEFINITIONS
from bedside.demo.reference import Reference
from bedside.demo.variants import (
    PatientPlan,
    Picker,
    Planted,
    coding_deletion,
    coding_snv,
)


@dataclass(frozen=True)
class ClinicalRow:
    patient_id: str
    age: int
    sex: str
    diagnosis: str  # OncoTree code
    medications: tuple[str, ...]
    labs: tuple[str, ...]  # "name=value unit"
    smoking_status: str
    pack_years: float
    alcohol_units_per_week: float
    bmi: float
    diet: tuple[str, ...]


CLINICAL: tuple[ClinicalRow, ...] = (
    ClinicalRow("PT01", 58, "male", "SKCM", ("omeprazole", "lisinopril"),
                ("creatinine_clearance=92 mL/min", "egfr=88 mL/min/1.73m2", "bilirubin=0.7 mg/dL", "alt=24 U/L"),
                "never", 0, 6, 27.1, ("mediterranean",)),
    ClinicalRow("PT02", 64, "female", "LUAD", ("itraconazole", "metformin"),
                ("creatinine_clearance=78 mL/min", "egfr=75 mL/min/1.73m2", "bilirubin=0.6 mg/dL", "alt=31 U/L"),
                "current", 30, 4, 23.4, ("omnivore", "coffee")),
    ClinicalRow("PT03", 71, "male", "COAD", ("capecitabine", "warfarin", "amlodipine"),
                ("creatinine_clearance=45 mL/min", "egfr=47 mL/min/1.73m2", "bilirubin=0.9 mg/dL", "alt=19 U/L"),
                "former", 15, 10, 29.3, ("omnivore",)),
    ClinicalRow("PT04", 49, "female", "IDC", ("levothyroxine",),
                ("creatinine_clearance=104 mL/min", "egfr=96 mL/min/1.73m2", "bilirubin=1.1 mg/dL", "alt=22 U/L"),
                "never", 0, 3, 22.0, ("vegetarian", "grapefruit")),
)

PATIENTS = tuple(r.patient_id for r in CLINICAL)


def x_copies(patient: str, clinical: tuple[ClinicalRow, ...] = CLINICAL) -> int:
    """Copies of X in the patient's cells, by the clinical record: 1 for ``male`` (hemizygous: haplotype A
    only), 2 otherwise (``female``; ``other``/``unknown`` are simulated with two X)."""
    row = next((r for r in clinical if r.patient_id == patient), None)
    if row is None:
        raise KeyError(patient)
    return 1 if row.sex == "male" else 2


#: c. positions of the named variants, kept away from exon edges when the gene models are drawn
PROTECTED: dict[str, list[int]] = {
    "BRAF": [1799], "KRAS": [35, 38], "EGFR": [2369, 2573], "PIK3CA": [1633, 3140],
    "TP53": [524, 818], "BRCA1": [67, 68, 69, 70], "DPYD": [1679, 2846], "CYP2C19": [636, 681],
    "TPMT": [238, 460, 719], "UGT1A1": [211, 686], "CYP2C9": [430, 1075], "NUDT15": [415],
}


def named_variants(ref: Reference) -> dict[str, Planted]:
    """Every named variant of the demo, by key."""
    v = [
        # somatic hotspots
        coding_snv(ref, "BRAF", 1799, "T", "A", category="hotspot", rsid="rs113488022"),
        coding_snv(ref, "EGFR", 2573, "T", "G", category="hotspot", rsid="rs121434568"),
        coding_snv(ref, "TP53", 818, "G", "A", category="hotspot", rsid="rs28934576"),
        coding_snv(ref, "KRAS", 35, "G", "A", category="hotspot", rsid="rs121913529"),
        coding_snv(ref, "PIK3CA", 3140, "A", "G", category="hotspot", rsid="rs121913279"),
        # germline pharmacogenomic (PharmCAT definitions) and pathogenic
        coding_snv(ref, "CYP2C19", 332, "A", "G", offset=-23, category="pgx", rsid="rs12769205"),
        coding_snv(ref, "CYP2C19", 681, "G", "A", category="pgx", rsid="rs4244285"),
        coding_snv(ref, "DPYD", 1905, "G", "A", offset=1, category="pgx", rsid="rs3918290"),
        coding_snv(ref, "UGT1A1", 211, "G", "A", category="pgx", rsid="rs4148323"),
        coding_deletion(ref, "BRCA1", 68, 69, "AG", category="pathogenic", hgvs_p="p.Glu23ValfsTer17"),
    ]
    return {p.key: p for p in v}


#: patient -> (somatic named variant key, expected VAF) and (germline named key, haplotype)
STORY: dict[str, tuple[list[tuple[str, float]], list[tuple[str, str]]]] = {
    "PT01": ([("BRAF:c.1799T>A", 0.45)], [("CYP2C19:c.332-23A>G", "A"), ("CYP2C19:c.681G>A", "A")]),
    "PT02": ([("EGFR:c.2573T>G", 0.4), ("TP53:c.818G>A", 0.3)], []),
    "PT03": ([("KRAS:c.35G>A", 0.4)], [("DPYD:c.1905+1G>A", "B")]),
    "PT04": ([("PIK3CA:c.3140A>G", 0.35)], [("BRCA1:c.68_69delAG", "A"), ("UGT1A1:c.211G>A", "B")]),
}

PASSENGER_VAFS = (0.3, 0.2, 0.3, 0.2, 0.15)
N_COMMON = 18
N_UNRELATED = 40
#: common SNPs on the X segment (population AF uniform in X_SNP_AF), for the cohort sex check: with the 4
#: patients (2 XX, 2 XY) ~68 X sites vary in the cohort and the X inbreeding coefficient separates the sexes
#: (default seed: XX F -0.47 / -0.28, XY F 1.0; seeds 0-299: XX F <= 0.30, >= 58 sites; Hail impute_sex
#: cut-offs 0.4 / 0.8, >= 20 sites)
N_X_SNPS = 72
X_SNP_AF = (0.2, 0.6)
X_EDGE = 1500


@dataclass
class DemoPlan:
    named: dict[str, Planted]
    plans: dict[str, PatientPlan]
    common: list[tuple[Planted, float]]  # common germline sites with their population AF
    unrelated: list[tuple[Planted, float]]  # population sites no patient carries
    #: patient -> planted tumor biomarker events (bedside.demo.biomarkers.BiomarkerPlan)
    biomarkers: dict = field(default_factory=dict)
    #: common SNPs on the X segment with their population AF (carriers: in each patient's germline)
    x_snps: list[tuple[Planted, float]] = field(default_factory=list)


def plan_variants(ref: Reference, seed: int) -> DemoPlan:
    rng = random.Random(f"bedside-demo-variants-{seed}")
    named = named_variants(ref)
    # keep random variants off the named variants and every PharmCAT-defined position
    reserved = [(p.chrom, p.pos) for p in named.values()]
    for gene, (defs, _alleles, _date) in DEFINITIONS.items():
        g = ref.gene(gene)
        reserved += [(g.contig, g.c_to_genomic(d.c, d.offset)) for d in defs]
    picker = Picker(ref, rng, reserved)
    # common germline pool: synonymous (ClinVar Benign in the demo), intronic SNVs and deletions, intergenic
    common: list[tuple[Planted, float]] = []
    for i in range(N_COMMON):
        if i < 6:
            p = picker.coding("synonymous", "common")
        elif i < 12:
            p = picker.intronic_snv("common")
        elif i < 14:
            p = picker.intronic_indel("common", "deletion")
        else:
            p = picker.intergenic_snv("common")
        common.append((p, round(rng.uniform(0.05, 0.6), 4)))
    plans: dict[str, PatientPlan] = {}
    for patient in PATIENTS:
        somatic_named, germline_named = STORY[patient]
        plan = PatientPlan(patient)
        for key, hap in germline_named:
            plan.germline.append((named[key], hap))
        for p, af in rng.sample(common, 7):
            hom = rng.random() < af
            plan.germline.append((p, "AB" if hom else rng.choice("AB")))
        # rare private germline variants: one intronic, one missense
        plan.germline.append((picker.intronic_snv("rare"), rng.choice("AB")))
        plan.germline.append((picker.coding("missense", "rare"), rng.choice("AB")))
        for key, vaf in somatic_named:
            plan.somatic.append((named[key], vaf))
        passengers = [
            picker.coding("synonymous", "passenger"),
            picker.coding("missense", "passenger"),
            picker.intronic_snv("passenger"),
            picker.intronic_indel("passenger", "deletion"),
            picker.intronic_indel("passenger", "insertion"),
        ]
        plan.somatic.extend(zip(passengers, PASSENGER_VAFS))
        plan.germline.sort(key=lambda t: (t[0].chrom, t[0].pos))
        plans[patient] = plan
    unrelated = []
    for i in range(N_UNRELATED):
        p = picker.intronic_snv("unrelated") if i % 2 else picker.intergenic_snv("unrelated")
        unrelated.append((p, round(10 ** rng.uniform(-4, -0.5), 6)))
    # biomarkers and heterozygous background SNPs: their own random streams, after everything above
    from bedside.demo.biomarkers import background_snps, plan_biomarkers

    taken = {(p.chrom, p.pos) for p, _ in unrelated} | {(p.chrom, p.pos) for p, _ in common}
    for patient, extra in background_snps(ref, plans, seed, taken).items():
        plans[patient].germline.extend(extra)
        plans[patient].germline.sort(key=lambda t: (t[0].chrom, t[0].pos))
    biomarkers = plan_biomarkers(ref, plans, seed)
    x_snps = plan_x_snps(ref, plans, seed)
    return DemoPlan(named, plans, common, unrelated, biomarkers, x_snps)


def plan_x_snps(ref: Reference, plans: dict[str, PatientPlan], seed: int,
                clinical: tuple[ClinicalRow, ...] = CLINICAL) -> list[tuple[Planted, float]]:
    """Common SNPs on the X segment (evenly spread, one per ~400 bp) and each patient's alleles there, drawn
    from the population AF under Hardy-Weinberg: haplotype A and B each carry the ALT with probability AF,
    and a patient with one X (``x_copies`` 1, male) keeps only A's allele (hemizygous). Both alleles are
    drawn for every patient whatever the sex, so changing a patient's sex changes nothing else. Their own
    random stream: the rest of the plan does not depend on them. Adds the carried ones to ``plans``."""
    rng = random.Random(f"bedside-demo-chrx-snps-{seed}")
    seq = ref.contigs[X_CONTIG]
    # >= 1.5 kb from the contig ends, where read depth ramps up (a male's 15x would fall below calling depth)
    step = (len(seq) - 2 * X_EDGE) // N_X_SNPS
    out: list[tuple[Planted, float]] = []
    for i in range(N_X_SNPS):
        pos = X_EDGE + i * step + rng.randrange(20, step - 20)
        r = seq[pos - 1]
        a = rng.choice([b for b in "ACGT" if b != r])
        af = round(rng.uniform(*X_SNP_AF), 4)
        p = Planted(f"x:{X_CONTIG}:{pos}:{r}>{a}", X_CONTIG, pos, r, a, None, None, None, None, "common",
                    "intergenic")
        out.append((p, af))
        for patient, plan in plans.items():
            on_a, on_b = rng.random() < af, rng.random() < af
            if x_copies(patient, clinical) == 1:
                on_b = False
            hap = ("A" if on_a else "") + ("B" if on_b else "")
            if hap:
                plan.germline.append((p, hap))
    for plan in plans.values():
        plan.germline.sort(key=lambda t: (t[0].chrom, t[0].pos))
    return out


def population_af(plan: DemoPlan) -> dict[str, float]:
    """Demo population allele frequencies (synthetic, gnomAD-like) per variant key."""
    af = {p.key: a for p, a in plan.common}
    af.update({p.key: a for p, a in plan.unrelated})
    af.update({p.key: a for p, a in plan.x_snps})
    # named germline variants: DPYD c.1905+1G>A ≈ 0.005 as in gnomAD (v4, 1.6 M alleles); others synthetic
    af.update({"CYP2C19:c.332-23A>G": 0.16, "CYP2C19:c.681G>A": 0.15, "DPYD:c.1905+1G>A": 0.0051,
               "UGT1A1:c.211G>A": 0.021, "BRCA1:c.68_69delAG": 0.00021})
    # heterozygous background SNPs (bedside.demo.biomarkers) are common polymorphisms: AF 5-50 %, drawn
    # from a stream seeded by the site, so every patient carrying one sees the same AF
    for plan_ in plan.plans.values():
        for p, _ in plan_.germline:
            if p.category == "background":
                af[p.key] = round(random.Random(p.key).uniform(0.05, 0.5), 4)
    # one rare germline variant per patient is in the population file at a very low AF, the other absent
    for plan_ in plan.plans.values():
        rare = [p for p, _ in plan_.germline if p.category == "rare"]
        if rare:
            af[rare[0].key] = 0.00012
    return af
