"""Tumor-normal identity per patient: genotype concordance at common SNPs (scikit-allel, on one node).

Input: a VCF with the tumor and normal samples genotyped at common SNPs (``genotype_sites`` makes one from
the BAMs with bcftools, restricted to population SNPs with AF >= ``MIN_AF``). For every tumor the
concordance with every normal is computed over sites called with depth >= ``min_depth`` in both; a tumor
whose own normal is discordant (< ``min_concordance``), or that matches another patient's normal better,
is flagged. Loss of heterozygosity in tumors turns heterozygous normal calls homozygous; it lowers the
concordance a little but never makes opposite homozygotes, so the opposite-homozygote rate is reported too
(near the genotyping error rate for one individual, several percent for two people at common SNPs).

VCF reading uses cyvcf2 (measured faster than pysam for this: benchmarks/cohort_scale.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bedside.errors import InputError

MIN_AF = 0.05
MIN_DEPTH = 8
MIN_SITES = 20
MIN_CONCORDANCE = 0.8


def read_genotypes(vcf: str | Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(samples, genotypes variants x samples x 2 (-1 missing), depth variants x samples (-1 missing));
    biallelic SNPs and reference-only sites."""
    from cyvcf2 import VCF

    try:
        reader = VCF(str(vcf), gts012=False, lazy=True)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read VCF: {exc}", path=vcf) from exc
    samples = list(reader.samples)
    gts, dps = [], []
    has_dp = "DP" in [h["ID"] for h in reader.header_iter() if h["HeaderType"] == "FORMAT"]
    for v in reader:
        if len(v.ALT) > 1 or len(v.REF) != 1 or any(len(a) != 1 for a in v.ALT):
            continue  # SNPs only; ALT '.' (every sample homozygous reference) is kept
        g = v.genotype.array()[:, :2].astype(np.int8)  # ploidy-2 view; haploid calls pad with -2
        g[g < 0] = -1
        gts.append(g)
        if has_dp:
            d = v.format("DP")
            dps.append(d[:, 0] if d is not None else np.full(len(samples), -1))
        else:
            dps.append(np.full(len(samples), -1))
    reader.close()
    if not gts:
        return samples, np.empty((0, len(samples), 2), np.int8), np.empty((0, len(samples)), np.int32)
    return samples, np.stack(gts), np.stack(dps).astype(np.int32)


def concordance_matrix(gt_a, gt_b, ok_a, ok_b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact-genotype concordance, opposite-homozygote rate and informative site count for every
    (a, b) pair; gt_* are allel GenotypeArrays, ok_* boolean (variants x samples) usable masks."""
    na = np.where(ok_a, gt_a.to_n_alt(fill=-1), -1)
    nb = np.where(ok_b, gt_b.to_n_alt(fill=-1), -1)
    va, vb = (na >= 0).astype(np.float64), (nb >= 0).astype(np.float64)
    n = va.T @ vb
    same = sum(((na == k).astype(np.float64).T @ (nb == k).astype(np.float64)) for k in (0, 1, 2))
    opp = ((na == 0).astype(np.float64).T @ (nb == 2).astype(np.float64)
           + (na == 2).astype(np.float64).T @ (nb == 0).astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        return same / n, opp / n, n


def tumor_normal_identity(vcf: str | Path, pairs: dict[str, tuple[str, str]], *, min_depth: int = MIN_DEPTH,
                          min_sites: int = MIN_SITES, min_concordance: float = MIN_CONCORDANCE) -> pd.DataFrame:
    """One row per patient: concordance of its tumor with its normal, the best-matching normal and a
    status (ok / mismatch / swapped_with:<patient> / not_assessable)."""
    import allel

    samples, g, dp = read_genotypes(vcf)
    idx = {s: i for i, s in enumerate(samples)}
    for pid, (t, n) in pairs.items():
        for s in (t, n):
            if s not in idx:
                raise InputError(f"sample {s!r} of patient {pid} is not in the VCF (it has: "
                                 f"{', '.join(samples[:10])}{' ...' if len(samples) > 10 else ''})", path=vcf)
    pids = list(pairs)
    ti = [idx[pairs[p][0]] for p in pids]
    ni = [idx[pairs[p][1]] for p in pids]
    ga = allel.GenotypeArray(g)
    ok = ga.is_called() & ((dp >= min_depth) | (dp < 0))
    conc, opp, n = concordance_matrix(ga.take(ti, axis=1), ga.take(ni, axis=1), ok[:, ti], ok[:, ni])
    rows = []
    for k, pid in enumerate(pids):
        own, own_n = conc[k, k], int(n[k, k])
        scores = np.where(n[k] >= min_sites, conc[k], -1.0)
        best = int(np.argmax(scores)) if len(pids) else k
        if own_n < min_sites:
            status = "not_assessable"
        elif own >= min_concordance and (best == k or scores[best] <= own):
            status = "ok"
        elif best != k and scores[best] >= min_concordance:
            status = f"swapped_with:{pids[best]}"
        else:
            status = "mismatch"
        rows.append({"patient_id": pid, "tumor_sample": pairs[pid][0], "normal_sample": pairs[pid][1],
                     "sites": own_n, "concordance": round(float(own), 4) if own_n else None,
                     "opposite_homozygous": round(float(opp[k, k]), 4) if own_n else None,
                     "best_normal": pairs[pids[best]][1] if scores[best] >= 0 else None,
                     "best_concordance": round(float(scores[best]), 4) if scores[best] >= 0 else None,
                     "status": status})
    return pd.DataFrame(rows)


def common_sites(population_vcf: str | Path, out: str | Path, min_af: float = MIN_AF) -> Path:
    """Biallelic SNPs with INFO/AF in [min_af, 1 - min_af] of a population VCF (bgzipped + indexed)."""
    from bedside.tools import atomic_indexed, run_tool

    with atomic_indexed(out, ".tbi") as tmp:
        run_tool(["bcftools", "view", "-m2", "-M2", "-v", "snps", "-i", f"INFO/AF>={min_af} && INFO/AF<={1 - min_af}",
                  "-Oz", "-o", tmp, population_vcf], inputs=[population_vcf])
        run_tool(["tabix", "-f", "-p", "vcf", tmp])
    return Path(out)


def genotype_sites(bams: list[str | Path], ref: str | Path, sites_vcf: str | Path, out: str | Path) -> Path:
    """Genotype ``bams`` at the SNPs of ``sites_vcf`` (bcftools mpileup | call -C alleles, so homozygous
    reference calls keep the site's ALT allele; FORMAT/DP kept) -> bgzipped VCF, one column per BAM's
    read-group sample."""
    import tempfile

    import pysam

    from bedside.tools import atomic_indexed, pipe, run_tool

    with tempfile.TemporaryDirectory(prefix="bedside-identity-") as td:
        alleles = Path(td) / "alleles.tsv"
        text = run_tool(["bcftools", "query", "-f", "%CHROM\t%POS\t%REF,%ALT\n", sites_vcf],
                        inputs=[sites_vcf]).stdout
        alleles.write_text(text)
        pysam.tabix_compress(str(alleles), str(alleles) + ".gz")
        pysam.tabix_index(str(alleles) + ".gz", seq_col=0, start_col=1, end_col=1, force=True)
        targets = str(alleles) + ".gz"
        with atomic_indexed(out, ".tbi") as tmp:
            pipe([["bcftools", "mpileup", "-f", ref, "-T", sites_vcf, "-a", "FORMAT/AD,FORMAT/DP", "-q", "20",
                   "-Q", "20", "-Ou", *bams],
                  ["bcftools", "call", "-m", "-C", "alleles", "-T", targets, "-Oz", "-o", tmp]],
                 inputs=[*bams, ref, sites_vcf])
            run_tool(["tabix", "-f", "-p", "vcf", tmp])
    return Path(out)


# ------------------------------------------------------------------ one patient's row, for the case record

IDENTITY_COLUMNS = ("patient_id", "tumor_sample", "normal_sample", "sites", "concordance", "opposite_homozygous",
                    "best_normal", "best_concordance", "status")


def not_run(reason: str, tumor_sample: str | None = None, normal_sample: str | None = None):
    """The case record's identity check when none was run (the reason is shown in the report)."""
    from bedside.model import IdentityCheck

    return IdentityCheck(status="not_run", tumor_sample=tumor_sample, normal_sample=normal_sample, reason=reason)


def problem_notice(check) -> str:
    """The case notice for a failed identity check (the report's first page shows it as a warning)."""
    if check.swapped_with:
        what = (f"tumor {check.tumor_sample} matches the normal of patient {check.swapped_with} "
                f"({check.best_normal}, concordance {check.best_concordance}) better than its own normal "
                f"{check.normal_sample} (concordance {check.concordance})")
    else:
        what = (f"tumor {check.tumor_sample} and normal {check.normal_sample} do not come from the same person "
                f"(genotype concordance {check.concordance} at {check.sites} common SNPs)")
    return (f"SPECIMEN IDENTITY PROBLEM: {what}. The findings in this report may belong to another patient; "
            "do not act on them until the sample identity is resolved.")


def case_identity(path: str | Path, patient: str, tumor_sample: str | None, normal_sample: str | None):
    """The patient's row of an identity table (``bedside cohort identity`` output) as an
    :class:`~bedside.model.IdentityCheck`. A patient without a row gets ``not_run`` with the reason; a row
    whose samples are not the case's, a malformed row or an unknown status stop with the file and line."""
    import csv

    from bedside.model import IdentityCheck

    def num(value: str, conv, col: str, lineno: int):
        if value in ("", "NA", "nan", "None"):
            return None
        try:
            return conv(value)
        except ValueError:
            raise InputError(f"column {col}: {value!r} is not a number", path=path, line=lineno) from None

    try:
        with open(path, newline="") as fh:
            lines = [(i, ln) for i, ln in enumerate(fh, 1) if ln.strip() and not ln.startswith("#")]
    except OSError as exc:
        raise InputError(f"cannot read identity table ({exc})", path=path) from exc
    if not lines:
        raise InputError("identity table has no header line", path=path)
    header = next(csv.reader([lines[0][1]], delimiter="\t"))
    missing = [c for c in IDENTITY_COLUMNS if c not in header]
    if missing:
        raise InputError(f"not a bedside identity table: column(s) {', '.join(missing)} missing",
                         path=path, line=lines[0][0])
    for lineno, text in lines[1:]:
        values = next(csv.reader([text.rstrip("\r\n")], delimiter="\t"))
        if len(values) != len(header):
            raise InputError(f"{len(values)} fields, the header has {len(header)}", path=path, line=lineno)
        row = dict(zip(header, values, strict=True))
        if row["patient_id"] != patient:
            continue
        status = row["status"]
        if status not in ("ok", "mismatch", "not_assessable") and not (
                status.startswith("swapped_with:") and len(status) > len("swapped_with:")):
            raise InputError(f"patient {patient}: unknown identity status {status!r} (expected ok, mismatch, "
                             "swapped_with:<patient> or not_assessable)", path=path, line=lineno)
        for role, mine in (("tumor_sample", tumor_sample), ("normal_sample", normal_sample)):
            if mine and row[role] != mine:
                raise InputError(f"patient {patient}: {role} is {row[role]!r} here but {mine!r} in the case "
                                 "record (identity table from another sample sheet?)", path=path, line=lineno)
        sites = num(row["sites"], int, "sites", lineno)
        check = IdentityCheck(
            status=status, tumor_sample=row["tumor_sample"], normal_sample=row["normal_sample"], sites=sites,
            concordance=num(row["concordance"], float, "concordance", lineno),
            opposite_homozygous=num(row["opposite_homozygous"], float, "opposite_homozygous", lineno),
            best_normal=row["best_normal"] or None,
            best_concordance=num(row["best_concordance"], float, "best_concordance", lineno),
            swapped_with=status.split(":", 1)[1] if status.startswith("swapped_with:") else None,
            source=str(path))
        if status == "not_assessable":
            check.reason = (f"too few informative common SNPs ({sites or 0}) called at depth in both the "
                            "tumor and the normal")
        return check
    reason = ("no matched tumor-normal pair" if not (tumor_sample and normal_sample)
              else f"patient {patient} has no row in the identity table")
    return not_run(reason, tumor_sample, normal_sample)
