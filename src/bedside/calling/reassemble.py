"""Germline calls with indel regions re-called by local reassembly: the pileup callers' filtered
records are copied, except inside active regions that :mod:`bedside.calling.assembly` re-calls; there its
records (INFO/ASM) stand instead. Used by :func:`bedside.calling.germline.call_germline` (one BAM)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from bedside.calling.assembly import (VERSION, AssemblyParams, Call, Region, active_regions,
                                      call_region)

def parse_regions(region: str | Sequence[str] | None, contigs: Sequence[tuple[str, int]]
                  ) -> list[tuple[str, int, int]]:
    """samtools-style regions (chr, chr:s-e 1-based inclusive; None = every contig) as 0-based
    half-open (chrom, start, end)."""
    lengths = dict(contigs)
    regs = [region] if isinstance(region, str) else list(region or [])
    if not regs:
        return [(c, 0, n) for c, n in contigs]
    out = []
    for r in regs:
        chrom, _, span = r.rpartition(":")
        if chrom and "-" in span and chrom in lengths:
            s, e = span.replace(",", "").split("-")
            out.append((chrom, int(s) - 1, min(int(e), lengths[chrom])))
        elif r in lengths:
            out.append((r, 0, lengths[r]))
    return out


def _read_bed(path) -> dict[str, list[tuple[int, int]]]:
    import gzip

    out: dict[str, list[tuple[int, int]]] = {}
    with (gzip.open(path, "rt") if str(path).endswith(".gz") else open(path)) as fh:
        for line in fh:
            f = line.split("\t")
            if len(f) >= 3 and not line.startswith(("#", "track", "browser")):
                out.setdefault(f[0], []).append((int(f[1]), int(f[2])))
    return out


def _in_targets(targets, chrom: str, pos: int) -> bool:
    return targets is None or any(a <= pos < b for a, b in targets.get(chrom, ()))


def _split_records(call: Call) -> list[tuple[int, str, str, tuple[int, int], list[int], list[int]]]:
    """One biallelic record per ALT (as ``bcftools norm -m -both`` splits): (pos, ref, alt, GT, AD, PL),
    the alleles trimmed back to their own shortest form."""
    out = []
    for x, alt in enumerate(call.alts, start=1):
        ref = call.ref
        while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
            ref, alt = ref[:-1], alt[:-1]
        gt = tuple(sorted(1 if a == x else 0 for a in call.gt))
        n = len(call.alts) + 1
        gts = [(a, b) for b in range(n) for a in range(b + 1)]
        idx = {g: i for i, g in enumerate(gts)}
        # a split multi-allelic site has no meaningful biallelic PL (its best genotype is x/y): left out
        pl = ([call.pl[idx[(0, 0)]], call.pl[idx[(0, x)]], call.pl[idx[(x, x)]]]
              if call.pl and len(call.alts) == 1 else [])
        out.append((call.pos, ref, alt, gt, [call.ad[0], call.ad[x]], pl))
    return out


def reassemble_calls(in_vcf, bam_path, ref_path, out_path, region=None, targets=None,
                     params: AssemblyParams | None = None,
                     min_depth: int = 0, keep_filtered: bool = False) -> dict[str, int]:
    """Copy ``in_vcf`` (one sample, filtered pileup calls over ``region``) to ``out_path``, replacing the
    records inside each active region by the reassembled calls there. Scattered chunks give the same
    records as one unscattered run. Returns counts."""
    params = params or AssemblyParams()
    import pysam

    from bedside.tools import read_fai

    counts = {"regions": 0, "assembled": 0, "fallback": 0, "replaced": 0, "calls": 0}
    tgt = _read_bed(targets) if targets else None
    # evidence is read this far beyond the chunk, so that every chunk sees the same regions as an
    # unscattered run: a region belongs to the chunk where it starts (its calls may reach past the chunk
    # end); a chunk drops its own pileup calls inside a region that the previous chunk owns
    margin = params.max_region + 2 * params.flank
    assembled: dict[str, list[tuple[Region, list[Call]]]] = {}
    covered: dict[str, list[Region]] = {}  # every assembled region overlapping the chunk
    with pysam.AlignmentFile(str(bam_path)) as bam, pysam.FastaFile(str(ref_path)) as fasta:
        for chrom, start, end in parse_regions(region, read_fai(ref_path)):
            if chrom not in bam.references:
                continue
            clen = fasta.get_reference_length(chrom)
            for reg in active_regions(bam, fasta, chrom, max(0, start - margin), min(clen, end + margin),
                                      params):
                if reg.end <= start or reg.start >= end:
                    continue
                if tgt is not None and not any(a < reg.end and reg.start < b for a, b in tgt.get(chrom, ())):
                    continue
                own = reg.start >= start
                counts["regions"] += own
                calls = call_region(bam, fasta, reg, params)
                if calls is None:
                    counts["fallback"] += own
                    continue
                covered.setdefault(chrom, []).append(reg)
                if own:
                    counts["assembled"] += 1
                    assembled.setdefault(chrom, []).append((reg, calls))
    with pysam.VariantFile(str(in_vcf)) as vin:
        hdr = vin.header.copy()
        samples = list(vin.header.samples)
        if len(samples) != 1:
            raise ValueError("local reassembly calls one sample at a time")
        if "ASM" not in hdr.info:
            hdr.info.add("ASM", 0, "Flag", f"called by local reassembly of an active region ({VERSION})")
        for fid, n, typ, desc in (("GQ", 1, "Integer", "genotype quality (phred)"),
                                  ("AD", "R", "Integer", "allelic depths (reads assigned to each allele)"),
                                  ("DP", 1, "Integer", "reads in the active region"),
                                  ("PL", "G", "Integer", "phred-scaled genotype likelihoods")):
            if fid not in hdr.formats:
                hdr.formats.add(fid, n, typ, desc)
        for fid, desc in (("LowDepth", "depth below the minimum (calling.germline.min_depth)"),):
            if fid not in hdr.filters:
                hdr.filters.add(fid, None, None, desc)
        hdr.add_line(f"##bedside_assembly=<version={VERSION},kmers={'/'.join(map(str, params.kmer_sizes))},"
                     f"min_edge={params.min_edge},gop={params.gop},gcp={params.gcp},min_qual={params.min_qual}>")
        sample = samples[0]
        new = []
        for chrom, items in assembled.items():
            for reg, calls in items:
                for call in calls:
                    for pos, ref, alt, gt, ad, pl in _split_records(call):
                        if _in_targets(tgt, chrom, pos):
                            new.append((chrom, pos, ref, alt, gt, ad, pl, call))

        spans = {c: sorted((r.start, r.end) for r in regs) for c, regs in covered.items()}
        starts = {c: [a for a, _ in v] for c, v in spans.items()}

        def replaced(rec) -> bool:  # regions never overlap: the one starting last at or before pos
            i = bisect.bisect_right(starts.get(rec.chrom, []), rec.pos - 1) - 1
            return i >= 0 and rec.pos - 1 < spans[rec.chrom][i][1]

        unsorted = str(out_path) + ".unsorted.bcf"
        with pysam.VariantFile(unsorted, "wb", header=hdr) as vout:
            for rec in vin:
                if replaced(rec):
                    counts["replaced"] += 1
                    continue
                rec.translate(hdr)
                vout.write(rec)
            for chrom, pos, ref, alt, gt, ad, pl, call in new:
                low = call.dp < min_depth
                if low and not keep_filtered:
                    continue
                rec = vout.new_record(contig=chrom, start=pos, alleles=(ref, alt), qual=call.qual)
                rec.info["ASM"] = True
                rec.filter.add("LowDepth" if low else "PASS")
                s = rec.samples[sample]
                s["GT"] = gt
                s["GQ"] = call.gq
                s["DP"] = call.dp
                s["AD"] = ad
                if pl:
                    s["PL"] = pl
                vout.write(rec)
                counts["calls"] += 1
    from bedside.calling.germline import index_vcf, output_type, run_pipeline

    try:
        run_pipeline([["bcftools", "sort", "-T", str(out_path) + ".sort", "-Ou", unsorted],
                      ["bcftools", "norm", "--no-version", "-d", "exact", "-O" + output_type(out_path),
                       "-o", str(out_path), "-"]])
    finally:
        import os

        os.unlink(unsorted)
    index_vcf(out_path)
    return counts
