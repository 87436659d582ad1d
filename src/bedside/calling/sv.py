"""Somatic structural variants (delly) and gene-fusion annotation of their breakpoints.

Calling: ``delly call`` over the tumor and normal BAMs together (paired-end and split-read evidence,
precise breakpoints from split-read consensus), then ``delly filter -f somatic`` (tumor ALT support,
none in the normal: ``-c 0``), written as a bgzipped, indexed VCF.

Fusion annotation (:func:`annotate_fusions`): each SV joins two breakpoint sides. delly's ``INFO/CT``
says which side of each breakpoint is kept (``3to5``: sequence left of the first breakpoint joined to
sequence right of the second; ``5to3``, ``3to3``, ``5to5`` likewise). On a gene on the ``+`` strand the
left side is its 5' part, on ``-`` its 3' part. A breakpoint pair whose one side keeps a gene's 5' part and
the other a (different) gene's 3' part makes a fusion transcript 5'gene::3'gene. With both breakpoints
in introns, the fused transcript joins the 5' gene's exons up to the breakpoint to the 3' gene's exons
after it; it is **in frame** when the coding bases before the junction in the 5' gene and the coding
bases skipped in the 3' gene are congruent modulo 3. Breakpoints in exons (or outside coding
sequence) give frame "unknown"/"not coding": a DNA breakpoint in an exon does not fix the RNA junction.

Therapy-relevant partners (the kinase and its expected side): ALK, ROS1, RET, NTRK1, NTRK2, NTRK3, BRAF
and NRG1 as the 3' partner (kinase/EGF domain retained 3'), FGFR2 and FGFR3 as the 5' partner
(FGFR2-BICC1, FGFR3-TACC3 keep the FGFR kinase 5'). MET exon 14 skipping is reported from somatic
deletions (SVs, or small variants from the somatic VCF) that remove an exon 14 splice site or the 3'
end of intron 13 (polypyrimidine tract region), and from substitutions at the canonical ±1/±2 intronic
splice-site positions of exon 14.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import pysam

from bedside import tools
from bedside.errors import BedsideError, InputError

log = logging.getLogger(__name__)

#: gene -> side the driver keeps in a therapy-relevant fusion ("3" = 3' partner)
KNOWN_PARTNERS = {"ALK": "3", "ROS1": "3", "RET": "3", "NTRK1": "3", "NTRK2": "3", "NTRK3": "3", "BRAF": "3",
                  "NRG1": "3", "FGFR2": "5", "FGFR3": "5"}
MET_EXON = 14
ACCEPTOR_REGION = 25  # intronic bases before MET exon 14 whose deletion is reported as ex14 skipping


@dataclass
class Breakend:
    chrom: str
    pos: int  # 1-based; the break lies right after pos for a left side, right before it for a right side
    side: str  # "left" (sequence up to pos kept) or "right" (sequence from pos kept)


@dataclass
class Fusion:
    gene5: str
    gene3: str
    transcript5: str
    transcript3: str
    breakpoint5: str  # chrom:pos
    breakpoint3: str
    region5: str  # "intron 5" / "exon 6"
    region3: str
    last_exon5: int | None
    first_exon3: int | None
    frame: str  # in-frame | out-of-frame | unknown (exonic breakpoint) | not coding
    sv_id: str
    svtype: str
    filter: str
    tumor_pairs: int
    tumor_split: int
    normal_alt: int
    precise: bool
    known_partner: str | None  # the therapy-relevant gene, when one is in its expected orientation
    relevant: bool
    junction: str = "observed"  # observed | reciprocal (inferred from a balanced rearrangement)


@dataclass
class Met14:
    source: str  # sv | small_variant
    record: str
    chrom: str
    start: int
    end: int
    mechanism: str
    tumor_support: int | None


# ------------------------------------------------------------------------------------------ gene models

class Genes:
    """Canonical transcripts per gene (the annotation's selection rule) with a position lookup."""

    def __init__(self, gff3: str | Path):
        from bedside.annotate.transcripts import load_gff3, select_transcripts

        self.tx = select_transcripts(load_gff3(gff3))
        self.by_chrom: dict[str, list] = {}
        for t in self.tx.values():
            self.by_chrom.setdefault(t.chrom, []).append(t)

    def at(self, chrom: str, pos: int) -> list:
        return [t for t in self.by_chrom.get(chrom, []) if t.start <= pos <= t.end]


def exons_5to3(t) -> list[tuple[int, int]]:
    return sorted(t.exons) if t.strand == "+" else sorted(t.exons, reverse=True)


def locate(t, pos: int) -> tuple[str, int, int]:
    """(kind, number, index) of a position in transcript ``t``: ('exon', n, i) or ('intron', n, i) where
    intron n lies between exons n and n+1 (transcript order); i = index of the exon (or the exon before
    the intron) in 5'->3' order."""
    ex = exons_5to3(t)
    for i, (a, b) in enumerate(ex):
        if a <= pos <= b:
            return "exon", i + 1, i
    for i in range(len(ex) - 1):
        (a1, b1), (a2, b2) = ex[i], ex[i + 1]
        lo, hi = (b1, a2) if t.strand == "+" else (b2, a1)
        if lo < pos < hi:
            return "intron", i + 1, i
    return "outside", 0, -1


def cds_before(t, n_exons: int) -> int:
    """Coding bases in the first ``n_exons`` exons (transcript order) of ``t``."""
    done = 0
    for a, b in exons_5to3(t)[:n_exons]:
        for ca, cb in t.cds:
            lo, hi = max(a, ca), min(b, cb)
            if lo <= hi:
                done += hi - lo + 1
    return done


def keeps_5prime(strand: str, side: str) -> bool:
    return (strand == "+") == (side == "left")


def fusion_of(t5, bp5: int, t3, bp3: int) -> tuple[str, str, int | None, int | None, str]:
    """Regions, exons at the junction and frame for 5' transcript t5 (break at bp5) and 3' transcript t3."""
    k5, n5, i5 = locate(t5, bp5)
    k3, n3, i3 = locate(t3, bp3)
    region5, region3 = f"{k5} {n5}" if n5 else k5, f"{k3} {n3}" if n3 else k3
    if k5 != "intron" or k3 != "intron":
        return region5, region3, (n5 if k5 == "intron" else None), (n3 + 1 if k3 == "intron" else None), \
            "unknown (breakpoint not intronic)"
    last5, first3 = n5, n3 + 1  # intron n lies after exon n
    c5 = cds_before(t5, last5)
    c3_skipped = cds_before(t3, n3)
    total3 = cds_before(t3, len(t3.exons))
    if not t5.cds or not t3.cds or c5 == 0 or c3_skipped >= total3:
        return region5, region3, last5, first3, "not coding"
    frame = "in-frame" if (c5 - c3_skipped) % 3 == 0 else "out-of-frame"
    return region5, region3, last5, first3, frame


# ------------------------------------------------------------------------------------------- SV records

def breakends(rec: pysam.VariantRecord) -> tuple[Breakend, Breakend] | None:
    info = rec.info
    svtype = info.get("SVTYPE")
    ct = info.get("CT")
    chr2 = info.get("CHR2", rec.chrom)
    pos2 = info.get("POS2") if "POS2" in info else rec.stop
    if svtype == "INS" or ct is None:
        if svtype == "DEL":
            ct = "3to5"
        elif svtype == "DUP":
            ct = "5to3"
        else:
            return None
    a_side = "left" if ct.startswith("3") else "right"
    b_side = "left" if ct.endswith("3") else "right"
    return Breakend(rec.chrom, rec.pos, a_side), Breakend(chr2, int(pos2), b_side)


def _support(rec: pysam.VariantRecord, sample: str) -> tuple[int, int]:
    s = rec.samples[sample]
    dv = s.get("DV") or 0
    rv = s.get("RV") or 0
    return int(dv), int(rv)


def annotate_fusions(vcf: str | Path, gff3: str | Path, tumor: str | None = None,
                     normal: str | None = None) -> list[Fusion]:
    genes = Genes(gff3)
    out: list[Fusion] = []
    with pysam.VariantFile(str(vcf)) as vf:
        samples = list(vf.header.samples)
        tumor = tumor or (samples[0] if samples else None)
        normal = normal or (samples[1] if len(samples) > 1 else None)
        for rec in vf:
            be = breakends(rec)
            if be is None:
                continue
            a, b = be
            for ta in genes.at(a.chrom, a.pos):
                for tb in genes.at(b.chrom, b.pos):
                    if ta.gene == tb.gene:
                        continue
                    a5, b5 = keeps_5prime(ta.strand, a.side), keeps_5prime(tb.strand, b.side)
                    if a5 == b5:
                        continue  # both 5' or both 3' parts: no fusion transcript
                    (t5, e5), (t3, e3) = ((ta, a), (tb, b)) if a5 else ((tb, b), (ta, a))
                    pe, sr = _support(rec, tumor) if tumor else (0, 0)
                    n_alt = sum(_support(rec, normal)) if normal else 0
                    filt = ";".join(rec.filter.keys()) or "."
                    svtype = rec.info.get("SVTYPE")
                    out.append(_fusion(t5, e5, t3, e3, rec.id or ".", svtype, filt, pe, sr, n_alt,
                                       "PRECISE" in rec.info, "observed"))
                    # a balanced rearrangement (inversion, translocation) also makes the reciprocal junction;
                    # delly may report only one of the two
                    if svtype in ("INV", "BND", "TRA"):
                        out.append(_fusion(t3, e3, t5, e5, rec.id or ".", svtype, filt, pe, sr, n_alt,
                                           "PRECISE" in rec.info, "reciprocal (inferred)"))
    best: dict[tuple[str, str], Fusion] = {}
    for f in out:
        key = (f.gene5, f.gene3)
        cur = best.get(key)
        if cur is None or (cur.junction != "observed" and f.junction == "observed") or (
                cur.junction == f.junction and f.tumor_pairs + f.tumor_split > cur.tumor_pairs + cur.tumor_split):
            best[key] = f
    return sorted(best.values(), key=lambda f: (not f.relevant, f.gene5, f.gene3))


def _fusion(t5, e5: Breakend, t3, e3: Breakend, sv_id: str, svtype: str, filt: str, pe: int, sr: int, n_alt: int,
            precise: bool, junction: str) -> Fusion:
    r5, r3, last5, first3, frame = fusion_of(t5, e5.pos, t3, e3.pos)
    known = None
    if KNOWN_PARTNERS.get(t3.gene) == "3":
        known = t3.gene
    elif KNOWN_PARTNERS.get(t5.gene) == "5":
        known = t5.gene
    relevant = known is not None and frame in ("in-frame", "unknown (breakpoint not intronic)")
    return Fusion(t5.gene, t3.gene, t5.id, t3.id, f"{e5.chrom}:{e5.pos}", f"{e3.chrom}:{e3.pos}", r5, r3, last5,
                  first3, frame, sv_id, svtype, filt, pe, sr, n_alt, precise, known, relevant, junction)


def met_exon14(genes: Genes, sv_vcf: str | Path | None, small_vcf: str | Path | None,
               tumor: str | None = None, exon: int = MET_EXON) -> list[Met14]:
    """Somatic events predicted to skip MET exon ``exon`` (numbered on the selected transcript)."""
    t = genes.tx.get("MET")
    if t is None:
        return []
    ex = exons_5to3(t)
    if len(ex) < exon:
        return []
    a, b = ex[exon - 1]
    if t.strand == "+":
        acc_region = (a - ACCEPTOR_REGION, a - 1)
        canonical = [a - 2, a - 1, b + 1, b + 2]
        boundaries = [a, b]
    else:
        acc_region = (b + 1, b + ACCEPTOR_REGION)
        canonical = [b + 1, b + 2, a - 2, a - 1]
        boundaries = [b, a]
    out: list[Met14] = []

    def deletion_hits(s: int, e: int) -> str | None:
        if any(s <= x <= e for x in boundaries) and not (s <= a and e >= b):
            return "deletion across an exon 14 splice site"
        if s <= a and e >= b:
            return "deletion of exon 14"
        if s <= acc_region[1] and acc_region[0] <= e:
            return "deletion in the intron 13 acceptor region"
        if any(s <= x <= e for x in canonical):
            return "deletion of a canonical splice-site base"
        return None

    if sv_vcf:
        with pysam.VariantFile(str(sv_vcf)) as vf:
            tumor = tumor or list(vf.header.samples)[0]
            for rec in vf:
                if rec.chrom != t.chrom or rec.info.get("SVTYPE") != "DEL":
                    continue
                why = deletion_hits(rec.pos + 1, rec.stop)
                if why:
                    out.append(Met14("sv", rec.id or ".", rec.chrom, rec.pos, rec.stop, why, sum(_support(rec, tumor))))
    if small_vcf:
        with pysam.VariantFile(str(small_vcf)) as vf:
            try:
                it = vf.fetch(t.chrom, min(canonical + [acc_region[0]]) - 60, max(canonical + [acc_region[1]]) + 60)
            except ValueError:
                it = (r for r in vf if r.chrom == t.chrom)
            for rec in it:
                if "PASS" not in rec.filter.keys() and len(rec.filter.keys()):
                    continue
                for alt in rec.alts or ():
                    if len(rec.ref) > len(alt):
                        s, e = rec.pos + len(alt), rec.pos + len(rec.ref) - 1
                        why = deletion_hits(s, e)
                    elif len(rec.ref) == len(alt) and any(rec.pos <= x < rec.pos + len(rec.ref) for x in canonical):
                        why = "substitution at a canonical exon 14 splice-site base"
                    else:
                        why = None
                    if why:
                        out.append(Met14("small_variant", f"{rec.chrom}:{rec.pos}:{rec.ref}>{alt}", rec.chrom, rec.pos,
                                         rec.pos + len(rec.ref) - 1, why, None))
    return out


# ---------------------------------------------------------------------------------------------- calling

def check_inputs(tumor: Path, normal: Path, ref: Path, sample_patients=None, sheet=None, patient=None):
    from bedside.calling.somatic import check_pair

    for p in (tumor, normal, ref):
        if not Path(p).exists():
            raise InputError("file not found", path=p)
    return check_pair(tumor, normal, ref, patient, False, sample_patients, sheet)


def call_sv(tumor: str | Path, normal: str | Path, ref: str | Path, out: str | Path, *,
            exclude: str | Path | None = None, min_mapq: int = 20, min_altaf: float = 0.03, min_qual: int = 200,
            min_tumor_coverage: int = 10, sample_patients=None, sheet=None, patient=None,
            threads: int = 1) -> tuple[str, str]:
    """delly somatic calling; writes ``out`` (.vcf.gz + .tbi) atomically. Returns (tumor SM, normal SM)."""
    tumor, normal, ref, out = Path(tumor), Path(normal), Path(ref), Path(out)
    t_sm, n_sm = check_inputs(tumor, normal, ref, sample_patients, sheet, patient)
    if exclude is not None and not Path(exclude).is_file():
        raise InputError("exclude BED not found", path=exclude)
    with tempfile.TemporaryDirectory(prefix=".sv.", dir=out.parent if out.parent.exists() else None) as tmp:
        raw = Path(tmp) / "calls.bcf"
        args = ["delly", "call", "-g", ref, "-q", str(min_mapq), "-o", raw]
        if exclude:
            args += ["-x", exclude]
        env = dict(os.environ, OMP_NUM_THREADS=str(max(1, threads)))
        try:
            tools.run_tool(args + [tumor, normal], inputs=[tumor, normal, ref], env=env)
        except BedsideError as exc:
            if LIBRARY_TOO_SMALL not in str(exc) + str(getattr(exc, "detail", "") or ""):
                raise
            _write_empty_vcf(out, ref, t_sm, n_sm)
            raise SVNotAssessable(
                "too few read pairs to estimate the insert-size distribution (delly: library parameters "
                "not estimable); no structural variants or fusions assessed") from exc
        sheet_path = Path(tmp) / "samples.tsv"
        sheet_path.write_text(f"{t_sm}\ttumor\n{n_sm}\tcontrol\n")
        som = Path(tmp) / "somatic.bcf"
        tools.run_tool(["delly", "filter", "-f", "somatic", "-s", sheet_path, "-a", str(min_altaf),
                        "-v", str(min_tumor_coverage), "-c", "0", "-y", str(min_qual), "-o", som, raw])
        with tools.atomic_indexed(out, ".tbi") as tmp_out:
            tools.run_tool(["bcftools", "sort", "-O", "z", "-o", tmp_out, som])
            tools.run_tool(["tabix", "-f", "-p", "vcf", tmp_out])
    return t_sm, n_sm


LIBRARY_TOO_SMALL = "not enough data to estimate library parameters"


class SVNotAssessable(Exception):
    """Structural variants could not be assessed on these BAMs (too little data); the reason is the message."""


def _write_empty_vcf(out: Path, ref: Path, tumor_sm: str, normal_sm: str) -> None:
    """A header-only somatic SV VCF (contigs of the reference), so downstream steps see 'no calls'."""
    contigs = tools.read_fai(ref)
    header = ["##fileformat=VCFv4.2", "##source=bedside sv (not assessable: too little data)"]
    header += [f"##contig=<ID={c},length={n}>" for c, n in contigs]
    header.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT",
                             tumor_sm, normal_sm]))
    with tools.atomic_indexed(out, ".tbi") as tmp_out:
        plain = Path(str(tmp_out) + ".vcf")
        plain.write_text("\n".join(header) + "\n")
        tools.run_tool(["bcftools", "view", "--no-version", "-O", "z", "-o", tmp_out, plain])
        plain.unlink()
        tools.run_tool(["tabix", "-f", "-p", "vcf", tmp_out])


def write_fusions(fusions: list[Fusion], met: list[Met14], tsv: str | Path, json_path: str | Path | None,
                  not_assessable: str | None = None) -> None:
    cols = list(Fusion.__dataclass_fields__)
    lines = ["\t".join(cols)]
    for f in fusions:
        d = asdict(f)
        lines.append("\t".join("" if d[c] is None else str(d[c]) for c in cols))
    tools.write_text(tsv, "\n".join(lines) + "\n")
    if json_path:
        doc = {"status": "not_assessable" if not_assessable else "assessable", "reason": not_assessable,
               "fusions": [asdict(f) for f in fusions], "met_exon14_skipping": [asdict(m) for m in met]}
        tools.write_text(json_path, json.dumps(doc, indent=2) + "\n")


def read_fusions(path: str | Path) -> tuple[list[Fusion], list[Met14]]:
    """``fusions.json`` -> (fusions, MET exon 14 events)."""
    d = json.loads(Path(path).read_text())
    return [Fusion(**f) for f in d.get("fusions", [])], [Met14(**m) for m in d.get("met_exon14_skipping", [])]
