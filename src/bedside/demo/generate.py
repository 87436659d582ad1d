"""``bedside demo-data DIR``: write the whole deterministic demo build.

Layout (see the README it writes): reference/ (genome.fa + .fai, genes.gff3), resources/
(population.vcf.gz, clinvar.vcf.gz, pgx/<GENE>_translation.json), truth/ (truth.vcf.gz and per-patient
somatic/germline truth), fastq/ (ART reads), samples.tsv, units.tsv, clinical.tsv, README.md,
MANIFEST.json. The build is written into a temporary folder beside DIR and moved into place at the end,
so a failed run leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bedside import __version__
from bedside.tools import run_tool
from bedside.demo.biomarkers import readme_section
from bedside.demo.biomarkers import write_truth as write_biomarker_truth
from bedside.demo.genes import GENES, X_CONTIG
from bedside.demo.patients import (
    CLINICAL,
    PATIENTS,
    PROTECTED,
    X_SNP_AF,
    DemoPlan,
    plan_variants,
    population_af,
    x_copies,
)
from bedside.demo.pgx_defs import DEFINITIONS, PHARMCAT_VERSION, dumps, translation_json
from bedside.demo.reference import Reference, build_reference, write_fasta, write_gff3
from bedside.demo.simulate import clone_shares, simulate_mixture
from bedside.demo.variants import PatientPlan, Planted
from bedside.errors import InputError

log = logging.getLogger(__name__)

DEFAULT_SEED = 20240611
GENERATOR_VERSION = "1"
# the demo genome's build name: bumped whenever the genome changes (2: a chrX segment added, 2026-12-01), so a
# cohort store or resource made on the old genome is refused instead of mixed with the new one
GENOME_BUILD = "bedside-demo-2"
#: fixed ##fileDate for the resource VCFs, so the files do not change with the clock
FILE_DATE = "20260101"
READ_LEN = 150
INSERT = 350
NORMAL_COVERAGE = 30.0
TUMOR_COVERAGE = 60.0
#: sample split over two lanes (two units)
TWO_LANE_SAMPLES = ("PT01-T",)
FASTQ_PREFIX = "fastq"


@dataclass(frozen=True)
class Unit:
    sample: str
    patient: str
    alias: str  # tumor | normal
    unit: str
    fq1: str  # relative to the demo folder
    fq2: str


def units() -> list[Unit]:
    out = []
    for p in PATIENTS:
        for alias, suffix in (("tumor", "T"), ("normal", "N")):
            sample = f"{p}-{suffix}"
            lanes = ("lane1", "lane2") if sample in TWO_LANE_SAMPLES else ("lane1",)
            for lane in lanes:
                out.append(Unit(sample, p, alias, lane, f"{FASTQ_PREFIX}/{sample}_{lane}_R1.fastq.gz",
                                f"{FASTQ_PREFIX}/{sample}_{lane}_R2.fastq.gz"))
    return out


# ---------------------------------------------------------------------------------------------------
# sheets


def samples_tsv() -> str:
    rows = ["sample_name\tpatient\talias\tplatform"]
    seen = set()
    for u in units():
        if u.sample not in seen:
            seen.add(u.sample)
            rows.append(f"{u.sample}\t{u.patient}\t{u.alias}\tILLUMINA")
    return "\n".join(rows) + "\n"


def units_tsv(prefix: str = "") -> str:
    """units.tsv with FASTQ paths under ``prefix`` (e.g. 'resources/demo/' for the committed sheet)."""
    rows = ["sample_name\tunit_name\tfq1\tfq2\tbam"]
    for u in units():
        rows.append(f"{u.sample}\t{u.unit}\t{prefix}{u.fq1}\t{prefix}{u.fq2}\t")
    return "\n".join(rows) + "\n"


def clinical_tsv() -> str:
    cols = ["patient_id", "age", "sex", "diagnosis", "medications", "labs", "smoking_status", "pack_years",
            "alcohol_units_per_week", "bmi", "diet"]
    rows = ["\t".join(cols)]
    for r in CLINICAL:
        rows.append("\t".join([r.patient_id, str(r.age), r.sex, r.diagnosis, ";".join(r.medications),
                               ";".join(r.labs), r.smoking_status, _num(r.pack_years),
                               _num(r.alcohol_units_per_week), _num(r.bmi), ";".join(r.diet)]))
    return "\n".join(rows) + "\n"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# ---------------------------------------------------------------------------------------------------
# haplotypes


def apply_variants(ref: Reference, variants: Iterable[Planted]) -> dict[str, str]:
    """Contig sequences with the given (non-overlapping) variants applied."""
    by_chrom: dict[str, list[Planted]] = {}
    for v in variants:
        by_chrom.setdefault(v.chrom, []).append(v)
    out = dict(ref.contigs)
    for chrom, vs in by_chrom.items():
        seq = out[chrom]
        last = None
        for v in sorted(vs, key=lambda x: x.pos, reverse=True):
            end = v.pos - 1 + len(v.ref)
            if last is not None and end > last:
                raise AssertionError(f"overlapping planted variants at {chrom}:{v.pos}")
            if seq[v.pos - 1:end] != v.ref:
                raise AssertionError(f"REF mismatch for {v.key} at {chrom}:{v.pos}")
            seq = seq[:v.pos - 1] + v.alt + seq[end:]
            last = v.pos - 1
        out[chrom] = seq
    return out


def _write_seqs(seqs: dict[str, str], path: Path) -> None:
    with path.open("w") as fh:
        for name, s in seqs.items():
            fh.write(f">{name}\n")
            for i in range(0, len(s), 60):
                fh.write(s[i:i + 60] + "\n")


def _haplotype_b(seqs: dict[str, str], patient: str) -> dict[str, str]:
    """Haplotype B's contigs: without X for a patient with one X (male), so X gets half the depth."""
    if x_copies(patient) == 1:
        return {c: s for c, s in seqs.items() if c != X_CONTIG}
    return seqs


def haplotype_mixtures(ref: Reference, plan: PatientPlan, workdir: Path, biomarkers=None) -> tuple[list, list]:
    """Write the patient's haplotype FASTAs; return (normal mixture, tumor mixture) as (path, share).

    With planted biomarker events (:mod:`bedside.demo.biomarkers`), haplotype B is split into normal cells'
    B (share (1 - purity) / 2) and tumor cells' B (purity / 2), and the tumor cells' haplotypes (B and the
    clones of A that carry the somatic variants) carry the copy-number, LOH, fusion and MSI events.
    For a male (clinical sex; :func:`bedside.demo.patients.x_copies`) haplotype B has no X: his X is
    haplotype A's alone, at half the autosomes' depth in normal and tumor, with no heterozygous site."""
    hap_a = [v for v, h in plan.germline if "A" in h]
    hap_b = [v for v, h in plan.germline if "B" in h]
    if x_copies(plan.patient) == 1 and any(v.chrom == X_CONTIG for v in hap_b):
        raise AssertionError(f"{plan.patient}: an X variant on haplotype B of a patient with one X")
    pa, pb = workdir / f"{plan.patient}.hapA.fa", workdir / f"{plan.patient}.hapB.fa"
    _write_seqs(apply_variants(ref, hap_a), pa)
    _write_seqs(_haplotype_b(apply_variants(ref, hap_b), plan.patient), pb)
    normal = [(pa, 0.5), (pb, 0.5)]
    vafs = [vaf for _, vaf in plan.somatic]
    bp = biomarkers
    events = bp is not None and bool(bp.copy or bp.fusions or bp.msi_unstable)
    if events:
        from bedside.demo.biomarkers import tumor_haplotypes

        tb = workdir / f"{plan.patient}.tumorB.fa"
        _write_seqs(_haplotype_b(tumor_haplotypes(ref, hap_a, hap_b, [], bp)[1], plan.patient), tb)
        tumor: list[tuple[Path, float]] = [(pb, (1 - bp.purity) / 2), (tb, bp.purity / 2)]
    else:
        tumor = [(pb, 0.5)]
    for k, (carried, share) in enumerate(clone_shares(vafs)):
        if not carried:
            tumor.append((pa, share))
            continue
        path = workdir / f"{plan.patient}.clone{k}.fa"
        clone = [plan.somatic[i][0] for i in carried]
        if events:
            _write_seqs(tumor_haplotypes(ref, hap_a, hap_b, clone, bp)[0], path)
        else:
            _write_seqs(apply_variants(ref, hap_a + clone), path)
        tumor.append((path, share))
    return normal, tumor


# ---------------------------------------------------------------------------------------------------
# VCFs


def _vcf_header(contigs: dict[str, str], extra: list[str], samples: list[str] = ()) -> list[str]:
    lines = ["##fileformat=VCFv4.2"]
    lines += extra
    lines += [f"##contig=<ID={c},length={len(s)},assembly={GENOME_BUILD}>" for c, s in contigs.items()]
    lines.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
                           + (["FORMAT", *samples] if samples else [])))
    return lines


def _sort_key(ref: Reference):
    order = {c: i for i, c in enumerate(ref.contigs)}
    return lambda row: (order[row[0]], row[1], row[3], row[4])


def _write_vcf_gz(lines: list[str], rows: list[list], ref: Reference, path: Path) -> None:
    rows = sorted(rows, key=_sort_key(ref))
    plain = path.with_suffix("")  # foo.vcf
    with plain.open("w") as fh:
        fh.write("\n".join(lines) + "\n")
        for r in rows:
            fh.write("\t".join(str(x) for x in r) + "\n")
    with path.open("wb") as out:
        run_tool(["bgzip", "-c", plain], stdout=out, capture_output=False, text=False,
                 stderr=subprocess.PIPE)
    plain.unlink()
    run_tool(["tabix", "-f", "-p", "vcf", path])


def _info(d: dict) -> str:
    parts = []
    for k, v in d.items():
        if v is None or v == "":
            continue
        parts.append(k if v is True else f"{k}={v}")
    return ";".join(parts) or "."


def _esc(s: str | None) -> str | None:
    # VCF INFO values may not hold ';', '=', spaces or commas
    return None if s is None else s.replace(" ", "_").replace(";", "%3B").replace("=", "%3D").replace(",", "%2C")


TRUTH_INFO = [
    '##INFO=<ID=ORIGIN,Number=1,Type=String,Description="germline or somatic">',
    '##INFO=<ID=PATIENT,Number=1,Type=String,Description="Patient carrying the variant">',
    ('##INFO=<ID=VAF,Number=1,Type=Float,Description="Expected allele fraction in the patient '
     '(somatic: tumor sample; germline: 0.5 het, 1.0 hom or hemizygous)">'),
    '##INFO=<ID=GENE,Number=1,Type=String,Description="Demo gene">',
    '##INFO=<ID=HGVSC,Number=1,Type=String,Description="HGVS c. on the demo canonical transcript">',
    ('##INFO=<ID=HGVSP,Number=1,Type=String,Description="HGVS p. (3-letter) on the demo canonical transcript; '
     '= is written %3D (VCF percent-encoding)">'),
    ('##INFO=<ID=CATEGORY,Number=1,Type=String,Description="hotspot, pgx, pathogenic, common, rare, passenger '
     'or background (heterozygous intergenic SNPs for B-allele frequencies)">'),
    '##INFO=<ID=CONSEQUENCE,Number=1,Type=String,Description="Expected consequence class">',
    '##INFO=<ID=RSID,Number=1,Type=String,Description="dbSNP id of the real variant this one models">',
    ('##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype: haplotype A|B; somatic variants lie '
     'on A; haploid (0 or 1) on chrX of a male (one X: haplotype A)">'),
    '##FORMAT=<ID=VAF,Number=1,Type=Float,Description="Expected allele fraction in this sample">',
]


def write_truth(ref: Reference, plan: DemoPlan, outdir: Path, seed: int) -> None:
    samples = [f"{p}-{s}" for p in PATIENTS for s in ("N", "T")]
    carriers: dict[str, list[tuple[str, str, float, Planted]]] = {}
    phase: dict[tuple[str, str], str] = {}  # (patient, key) -> phased GT ('1|0' = haplotype A)
    for patient, pp in plan.plans.items():
        for v, hap in pp.germline:
            gt, vaf = germline_genotype(patient, v, hap)
            carriers.setdefault(v.key, []).append((patient, "germline", vaf, v))
            phase[(patient, v.key)] = gt
        for v, vaf in pp.somatic:
            carriers.setdefault(v.key, []).append((patient, "somatic", vaf, v))
            phase[(patient, v.key)] = "1|0"  # somatic clones descend from haplotype A
    head = [f"##source=bedside demo-data {__version__} (generator {GENERATOR_VERSION}, seed {seed})",
            "##reference=reference/genome.fa",
            ("##bedside_note=One record per patient and variant: a variant several patients carry (common "
             "germline) appears once per patient, each record with that patient's PATIENT and VAF.")] + TRUTH_INFO
    rows = []
    for key, cs in carriers.items():
        if len({c[1] for c in cs}) != 1:
            raise AssertionError(f"{key} is both germline and somatic")
        for c in cs:
            patient, origin, vaf, v = c
            fmt = []
            for s in samples:
                if s[:-2] != patient or (origin == "somatic" and s[-1] == "N"):
                    fmt.append(("0" if _hemizygous(s[:-2], v.chrom) else "0|0") + ":0")
                else:
                    fmt.append(f"{phase[(patient, key)]}:{vaf:g}")
            rows.append([v.chrom, v.pos, v.rsid or ".", v.ref, v.alt, ".", "PASS", _truth_info(v, origin, patient, vaf),
                         "GT:VAF", *fmt])
    _write_vcf_gz(_vcf_header(ref.contigs, head, samples), rows, ref, outdir / "truth.vcf.gz")
    for patient, pp in plan.plans.items():
        for origin, items, sample in (("somatic", pp.somatic, f"{patient}-T"), ("germline", pp.germline, f"{patient}-N")):
            prow = []
            for v, x in items:
                vaf = x if origin == "somatic" else germline_genotype(patient, v, x)[1]
                gt = phase[(patient, v.key)]
                prow.append([v.chrom, v.pos, v.rsid or ".", v.ref, v.alt, ".", "PASS",
                             _truth_info(v, origin, patient, vaf), "GT:VAF", f"{gt}:{vaf:g}"])
            _write_vcf_gz(_vcf_header(ref.contigs, head, [sample]), prow, ref,
                          outdir / f"{patient}.{origin}.vcf.gz")


def _hemizygous(patient: str, chrom: str) -> bool:
    return chrom == X_CONTIG and x_copies(patient) == 1


def germline_genotype(patient: str, v: Planted, hap: str) -> tuple[str, float]:
    """(phased GT, expected allele fraction) of a germline variant on haplotype ``hap`` ('A', 'B', 'AB'):
    '1|0' (A), '0|1' (B), '1|1' (both); on the X of a patient with one X, haploid '1' at fraction 1."""
    if _hemizygous(patient, v.chrom):
        if hap != "A":
            raise AssertionError(f"{patient}: hemizygous {v.key} on haplotype {hap}")
        return "1", 1.0
    return {"A": "1|0", "B": "0|1", "AB": "1|1"}[hap], 1.0 if hap == "AB" else 0.5


def _truth_info(v: Planted, origin: str, patient: str, vaf: float) -> str:
    return _info({"ORIGIN": origin, "PATIENT": patient, "VAF": f"{vaf:g}", "GENE": v.gene, "HGVSC": _esc(v.hgvs_c),
                  "HGVSP": _esc(v.hgvs_p), "CATEGORY": v.category, "CONSEQUENCE": v.consequence,
                  "RSID": v.rsid})


def write_population(ref: Reference, plan: DemoPlan, path: Path) -> None:
    af = population_af(plan)
    every = {v.key: v for pp in plan.plans.values() for v, _ in pp.germline}
    every.update({p.key: p for p, _ in plan.unrelated})
    every.update({p.key: p for p, _ in plan.x_snps})
    head = ["##source=bedside demo-data: gnomAD-like sites VCF with synthetic allele frequencies",
            '##INFO=<ID=AF,Number=A,Type=Float,Description="Alternate allele frequency (demo population)">',
            '##INFO=<ID=AC,Number=A,Type=Integer,Description="Alternate allele count (of AN)">',
            '##INFO=<ID=AN,Number=1,Type=Integer,Description="Total number of alleles (demo population)">']
    an = 152_312
    rows = []
    for key, a in af.items():
        v = every.get(key)
        if v is None:
            continue
        rows.append([v.chrom, v.pos, v.rsid or ".", v.ref, v.alt, ".", "PASS",
                     _info({"AF": f"{a:g}", "AC": max(1, round(a * an)), "AN": an})])
    _write_vcf_gz(_vcf_header(ref.contigs, head), rows, ref, path)


#: ClinVar classifications of the real variants the demo plants, spelled as ClinVar's VCF does.
#: BRCA1 c.68_69del (Pathogenic, expert panel: ENIGMA) and DPYD c.1905+1G>A (drug response, expert panel)
#: were checked against ClinVar variant pages; for the four somatic hotspots CLNSIG Pathogenic is what
#: ClinVar lists, but their CLNREVSTAT is the generator's assumption (not verified) - see the VCF header.
#: EGFR c.2573T>G (L858R) is left out: its ClinVar classification could not be confirmed.
CLINVAR_REAL = {
    "BRAF:c.1799T>A": ("Pathogenic", "criteria_provided,_multiple_submitters,_no_conflicts"),
    "KRAS:c.35G>A": ("Pathogenic", "criteria_provided,_multiple_submitters,_no_conflicts"),
    "TP53:c.818G>A": ("Pathogenic", "criteria_provided,_multiple_submitters,_no_conflicts"),
    "PIK3CA:c.3140A>G": ("Pathogenic", "criteria_provided,_multiple_submitters,_no_conflicts"),
    "BRCA1:c.68_69delAG": ("Pathogenic", "reviewed_by_expert_panel"),
    "DPYD:c.1905+1G>A": ("drug_response", "reviewed_by_expert_panel"),
}


def write_clinvar(ref: Reference, plan: DemoPlan, path: Path) -> None:
    head = [f"##fileDate={FILE_DATE}", "##source=ClinVar-style demo",
            ("##bedside_note=Demo coordinates. IDs (variation) and ALLELEID are demo identifiers, not ClinVar "
             "accessions. Real variants keep ClinVar's classification (CLNREVSTAT of the somatic hotspots not "
             "verified); demo background variants are labelled Benign for the demo only."),
            '##INFO=<ID=ALLELEID,Number=1,Type=Integer,Description="the ClinVar Allele ID (demo)">',
            '##INFO=<ID=CLNSIG,Number=.,Type=String,Description="Aggregate germline classification for this single variant">',
            '##INFO=<ID=CLNREVSTAT,Number=.,Type=String,Description="ClinVar review status for the Variation ID">',
            '##INFO=<ID=CLNHGVS,Number=.,Type=String,Description="Top-level (primary assembly, alt, or patch) HGVS expression.">',
            '##INFO=<ID=GENEINFO,Number=1,Type=String,Description="Gene(s) for the variant reported as gene symbol:gene id.">',
            '##INFO=<ID=RS,Number=.,Type=String,Description="dbSNP ID (i.e. rs number)">',
            '##INFO=<ID=CLNDN,Number=.,Type=String,Description="ClinVar\'s preferred disease name">']
    gene_ids = {g.name: g.ncbi_gene_id for g in GENES}
    entries: list[tuple[Planted, str, str, str]] = []
    for key, (sig, rev) in CLINVAR_REAL.items():
        entries.append((plan.named[key], sig, rev, "not_provided"))
    for p, _ in plan.common:
        if p.consequence == "synonymous":
            entries.append((p, "Benign", "criteria_provided,_single_submitter", "not_specified"))
    rows = []
    for n, (v, sig, rev, dn) in enumerate(sorted(entries, key=lambda e: (e[0].chrom, e[0].pos)), 1):
        hg = f"{v.chrom}:g.{v.pos}{v.ref}>{v.alt}" if len(v.ref) == len(v.alt) == 1 else \
            f"{v.chrom}:g.{v.pos + 1}_{v.pos + len(v.ref) - 1}del"
        rows.append([v.chrom, v.pos, 900000 + n, v.ref, v.alt, ".", ".",
                     _info({"ALLELEID": 1900000 + n, "CLNDN": dn, "CLNHGVS": hg, "CLNREVSTAT": rev, "CLNSIG": sig,
                            "GENEINFO": f"{v.gene}:{gene_ids[v.gene]}" if v.gene else None,
                            "RS": v.rsid[2:] if v.rsid else None})])
    _write_vcf_gz(_vcf_header(ref.contigs, head), rows, ref, path)


def write_pgx(ref: Reference, outdir: Path) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    for gene, (variants, _named, _mod) in DEFINITIONS.items():
        g = ref.gene(gene)
        positions = [g.c_to_genomic(v.c, v.offset) for v in variants]
        for v, pos in zip(variants, positions):
            if ref.base(g.contig, pos) != v.ref:
                raise AssertionError(f"{gene} {v.rsid}: demo genome has {ref.base(g.contig, pos)}, PharmCAT ref {v.ref}")
        (outdir / f"{gene}_translation.json").write_text(dumps(translation_json(gene, g.contig, positions, GENOME_BUILD)))


# ---------------------------------------------------------------------------------------------------
# reads


@dataclass(frozen=True)
class ReadJob:
    """One ART mixture simulation: a unit's two FASTQ files (paths relative to the demo folder)."""

    sample: str
    unit: str
    mixture: tuple[tuple[Path, float], ...]
    coverage: float
    fq1: str
    fq2: str
    seed: int


def read_jobs(ref: Reference, plan: DemoPlan, workdir: Path, seed: int,
              patients: Iterable[str] = PATIENTS) -> list[ReadJob]:
    """Write the haplotype FASTAs of ``patients`` to ``workdir``; return the simulations to run."""
    jobs = []
    for i, patient in enumerate(PATIENTS):
        if patient not in patients:
            continue
        normal, tumor = haplotype_mixtures(ref, plan.plans[patient], workdir, plan.biomarkers.get(patient))
        for alias, mix, cov in (("N", normal, NORMAL_COVERAGE), ("T", tumor, TUMOR_COVERAGE)):
            sample = f"{patient}-{alias}"
            lanes = [u for u in units() if u.sample == sample]
            for j, u in enumerate(lanes):
                s = seed % 1_000_000 * 100 + i * 20 + (0 if alias == "N" else 10) + j * 5
                jobs.append(ReadJob(sample, u.unit, tuple(mix), cov / len(lanes), u.fq1, u.fq2, s))
    return jobs


def run_read_job(job: ReadJob, outdir: Path) -> dict[str, int]:
    return simulate_mixture(list(job.mixture), job.coverage, READ_LEN, INSERT, outdir / job.fq1, outdir / job.fq2,
                            job.seed, read_prefix=f"{job.sample}.{job.unit}.")


def simulate_reads(ref: Reference, plan: DemoPlan, outdir: Path, workdir: Path, seed: int, threads: int) -> None:
    """Simulate every unit's reads into ``outdir`` (the demo folder), ``threads`` ART runs at a time."""
    jobs = read_jobs(ref, plan, workdir, seed)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for f in [pool.submit(run_read_job, job, outdir) for job in jobs]:
            f.result()


# ---------------------------------------------------------------------------------------------------
# orchestration


def _tool_version(cmd: list[str]) -> str:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    text = (p.stdout + p.stderr).strip().splitlines()
    for line in text:
        line = " ".join(line.split())
        if "Version" in line or "version" in line or line.startswith(("samtools", "bcftools", "tabix", "bgzip")):
            return line.strip()
    return text[0].strip() if text else "unknown"


def md5(path: Path) -> str:
    h = hashlib.md5()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def generate(outdir: str | Path, seed: int = DEFAULT_SEED, *, threads: int = 2, reads: bool = True) -> dict:
    """Write the demo build to ``outdir``; return the manifest. Deterministic for a seed.

    ``reads=False`` skips the FASTQ simulation (reference, resources, truth and sheets only). An existing
    ``outdir`` is replaced only if it is empty or a previous demo build (holds MANIFEST.json).
    """
    outdir = Path(outdir)
    if outdir.exists() and (not outdir.is_dir() or (any(outdir.iterdir()) and not (outdir / "MANIFEST.json").exists())):
        raise InputError("output folder exists and is not a previous demo build (no MANIFEST.json); "
                         "choose a new or empty folder", path=outdir)
    started = time.monotonic()
    outdir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.partial.", dir=outdir.parent))
    try:
        ref = build_reference(seed, PROTECTED)
        plan = plan_variants(ref, seed)
        for sub in ("reference", "resources/pgx", "truth", FASTQ_PREFIX):
            (tmp / sub).mkdir(parents=True, exist_ok=True)
        write_fasta(ref, tmp / "reference/genome.fa")
        run_tool(["samtools", "faidx", tmp / "reference/genome.fa"])
        write_gff3(ref, tmp / "reference/genes.gff3")
        write_population(ref, plan, tmp / "resources/population.vcf.gz")
        write_clinvar(ref, plan, tmp / "resources/clinvar.vcf.gz")
        write_pgx(ref, tmp / "resources/pgx")
        write_truth(ref, plan, tmp / "truth", seed)
        write_biomarker_truth(plan.biomarkers, ref, tmp / "truth/biomarkers.json")
        (tmp / "samples.tsv").write_text(samples_tsv())
        (tmp / "units.tsv").write_text(units_tsv())
        (tmp / "clinical.tsv").write_text(clinical_tsv())
        if reads:
            work = Path(tempfile.mkdtemp(prefix="haplotypes.", dir=tmp))
            try:
                simulate_reads(ref, plan, tmp, work, seed, threads)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        tools = {t: _tool_version(c) for t, c in {
            "art_illumina": ["art_illumina", "--help"], "samtools": ["samtools", "--version"],
            "bgzip": ["bgzip", "--version"], "tabix": ["tabix", "--version"]}.items()}
        (tmp / "README.md").write_text(readme(ref, plan, seed, tools, reads))
        manifest = {
            "generator": "bedside demo-data",
            "generator_version": GENERATOR_VERSION,
            "bedside_version": __version__,
            "seed": seed,
            "genome_build": GENOME_BUILD,
            "reads": reads,
            "files": [{"path": str(p.relative_to(tmp)), "size": p.stat().st_size, "md5": md5(p)}
                      for p in sorted(tmp.rglob("*")) if p.is_file()],
        }
        (tmp / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
        # move into place: replace a previous demo build only now, when the new one is complete
        if outdir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.old.", dir=outdir.parent))
            os.replace(outdir, old / "d")
            os.replace(tmp, outdir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, outdir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("demo data written to %s in %.1f s", outdir, time.monotonic() - started)
    return manifest


def readme(ref: Reference, plan: DemoPlan, seed: int, tools: dict[str, str], reads: bool) -> str:
    gene_rows = "\n".join(
        f"| {g.name} | {g.contig}:{g.genomic_start}-{g.genomic_end} | {g.strand} | {g.transcript_id} | "
        f"{len(g.exons)} | {g.spec.protein_len} |" for g in ref.genes)
    pat_rows = []
    for r in CLINICAL:
        pp = plan.plans[r.patient_id]
        som = ", ".join(f"{v.gene} {v.hgvs_p or v.hgvs_c} ({vaf:g})" for v, vaf in pp.somatic if v.category == "hotspot")
        ger = ", ".join(f"{v.gene} {v.hgvs_c} ({'hom' if h == 'AB' else 'het'})" for v, h in pp.germline
                        if v.category in ("pgx", "pathogenic"))
        pat_rows.append(f"| {r.patient_id} | {r.diagnosis} | {som} | {ger or '-'} | {', '.join(r.medications)} |")
    tool_rows = "\n".join(f"- {k}: {v}" for k, v in tools.items())
    patient_table = "\n".join(pat_rows)
    return f"""# Bedside demo data (synthetic)

Generated by `bedside demo-data` (bedside {__version__}, generator version {GENERATOR_VERSION}) with seed
{seed}. Everything here is synthetic and deterministic: the same seed gives byte-identical files
(MANIFEST.json lists every file with its md5). Research and testing only; no real person's data.

## Reference (`reference/`)
Random sequence (GC ≈ 41 %, no N) of {ref.size:,} bp over {len(ref.contigs)} contigs named after the
chromosomes the real genes lie on, and `{X_CONTIG}` (see below). Each gene model keeps the real gene's strand, protein length, the
codons of well-known hotspot residues at their real protein positions (e.g. BRAF V600 = GTG, so
c.1799T>A reads p.Val600Glu), and the exon boundaries named splice variants need (DPYD exon ends at
c.1905). All other codons are random sense codons; introns start with GT and end with AG. Gene and
transcript ids (ENSG9…/ENST9…) are demo ids. `genes.gff3` is Ensembl-style (gene/mRNA/exon/CDS/UTR;
one transcript per gene tagged `Ensembl_canonical,MANE_Select`) and is read by `bcftools csq -g`.

| gene | location | strand | canonical transcript | exons | protein (aa) |
|---|---|---|---|---|---|
{gene_rows}

## Patients
| patient | OncoTree | somatic driver (expected VAF) | germline of note | medications |
|---|---|---|---|---|
{patient_table}

Each patient also carries common germline background variants (population AF 5–60 %), two rare
germline variants, and somatic passengers (synonymous, missense, intronic SNV, an intronic deletion and
insertion) at VAF 0.15–0.3. `truth/truth.vcf.gz` lists every planted variant (INFO ORIGIN, PATIENT,
VAF, GENE, HGVSC, HGVSP; FORMAT GT/VAF per sample); `truth/<patient>.somatic.vcf.gz` and
`.germline.vcf.gz` split it per patient. No germline variant is in any somatic truth. About 260
heterozygous intergenic "background" SNPs per patient (CATEGORY=background) give the copy-number caller
B-allele frequencies.

## X chromosome and sex
`{X_CONTIG}` is a {len(ref.contigs[X_CONTIG]):,} bp stretch of the non-pseudoautosomal X (random sequence, no
genes; the demo build has no PAR, so all of it is hemizygous in males), built from its own random stream.
It carries {len(plan.x_snps)} common SNPs (population AF {X_SNP_AF[0]:g}-{X_SNP_AF[1]:g}, in
`population.vcf.gz`); each patient's alleles are drawn from the AF, two X haplotypes for a female and one
(haplotype A) for a male, by the `sex` of `clinical.tsv`. A male's reads on X come from haplotype A only
(half the autosomal depth, no heterozygous site); his truth genotypes there are haploid (`GT` 1, VAF 1).
The cohort sex check (X inbreeding coefficient, Hail `impute_sex`) reads them: females F < 0.4, males
F > 0.8, matching the clinical record.

## Tumor biomarkers (`truth/biomarkers.json`)
Each contig ends in an appendix built after the core genome from its own random stream: the biomarker
genes ERBB2, CDKN2A, EML4 and ALK (real chromosome, strand, exon count and protein length; evenly spaced
demo exon boundaries) and {len(ref.microsatellites)} planted microsatellites (homopolymers of 11-18 bp, dinucleotide
repeats of 7-11 units). No random variant is planted in the biomarker genes. The tumor cells (purity =
2 x the founding clone's VAF) carry:

{readme_section(plan.biomarkers, ref)}

EGFR L858R and an ALK fusion rarely co-occur in real lung adenocarcinoma; PT02 carries both so the demo
shows both. `truth/biomarkers.json` lists every event (regions, breakpoints, unstable sites with their
tumor repeat counts).

## Reads (`fastq/`){'' if reads else ' — not generated (reads=False)'}
ART (`art_illumina -ss HS25 -p -l {READ_LEN} -m {INSERT} -s 30`, fixed `-rs` seeds) over the whole
genome: normals at {NORMAL_COVERAGE:g}x from two germline haplotypes (share 0.5 each; a male's X from one); tumors at
{TUMOR_COVERAGE:g}x as a mixture of haplotype B (0.5), haplotype A and nested clones of haplotype A that
carry the somatic variants, each at the coverage share that gives its expected VAF
(`bedside.demo.simulate.clone_shares`); the tumor cells also carry the biomarker events below. {', '.join(TWO_LANE_SAMPLES)} is split over two lanes.

## Resources (`resources/`)
- `population.vcf.gz`: gnomAD-like sites with INFO/AF (synthetic frequencies; DPYD c.1905+1G>A at
  0.0051 as in gnomAD) for the planted germline variants and unrelated sites.
- `clinvar.vcf.gz`: ClinVar-style (CLNSIG, CLNREVSTAT, GENEINFO, ALLELEID; demo ids). Real variants
  keep ClinVar's classification (hotspots Pathogenic, their review status not verified; EGFR L858R
  left out as unconfirmed; BRCA1 c.68_69del Pathogenic, reviewed by expert panel; DPYD c.1905+1G>A
  drug response, reviewed by expert panel); synonymous background variants are labelled Benign for
  the demo only.
- `pgx/<GENE>_translation.json`: a subset of PharmCAT's allele definitions (version
  {PHARMCAT_VERSION}; real rsids, bases and named alleles) at demo positions. Simplified:
  CYP2C19*2 keeps rs12769205 + rs4244285 only; CYP2C19*1 is the reference (PharmCAT uses *38, equal to
  *1 at these positions); UGT1A1*28 (TA repeat) is left out.

## Tools
{tool_rows}
"""
