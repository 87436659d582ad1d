"""The demo genes: which real genes they are named after, and the real facts their models keep.

Only a few facts of each real gene are kept (all else is random): the strand it lies on, the protein
length, the codons of the well-known hotspot residues at their real protein positions, and exon
boundaries that named splice variants need (DPYD c.1905 ends an exon; CYP2C19 c.332 starts one).
Gene/transcript identifiers are demo identifiers (ENSG9…/ENST9…), not Ensembl's; NCBI Gene ids are real
(used in ClinVar-style GENEINFO).

Protein lengths: UniProt canonical isoforms (BRAF P15056 766 aa, KRAS P01116 189 aa, EGFR P00533
1210 aa, PIK3CA P42336 1068 aa, TP53 P04637 393 aa, BRCA1 P38398 1863 aa, DPYD Q12882 1025 aa,
CYP2C19 P33261 490 aa, CYP2C9 P11712 490 aa, UGT1A1 P22309 533 aa, TPMT P51580 245 aa, NUDT15 Q9NV35
164 aa).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GeneSpec:
    name: str
    contig: str  # demo contig, named after the real chromosome
    strand: str  # '+' or '-', as the real gene
    ncbi_gene_id: int
    protein_len: int
    n_exons: int
    #: protein position -> codon (gene strand) to put there
    fixed_codons: dict[int, str] = field(default_factory=dict)
    #: CDS positions (c.N) that must start an exon (so c.N-k is intronic) ...
    exon_starts: tuple[int, ...] = ()
    #: ... or end one (so c.N+k is intronic)
    exon_ends: tuple[int, ...] = ()
    utr5: int = 120
    utr3: int = 400
    upstream: int = 1500  # genomic flank before the transcript start (gene orientation)
    downstream: int = 1500
    #: (c. position, intron offset, gene-strand base) the reference must carry there (named
    #: non-coding variants whose real reference base matters: promoter, intron)
    pinned: tuple[tuple[int, int, str], ...] = ()
    #: give the gene a second, non-canonical transcript (alternative 5'/3' UTR ends, same CDS)
    alt_transcript: bool = False
    #: a biomarker gene (copy number, fusion): built after the core genome at the end of its contig with
    #: its own random stream, never picked for random variants (bedside.demo.biomarkers)
    biomarker: bool = False
    #: intron length range when not the default
    intron: tuple[int, int] | None = None

    @property
    def cds_len(self) -> int:
        return 3 * (self.protein_len + 1)


GENES: tuple[GeneSpec, ...] = (
    GeneSpec("DPYD", "chr1", "-", 1806, 1025, 12, fixed_codons={560: "ATT", 949: "GAT"},
             exon_ends=(1905,), pinned=((1905, 1, "G"),)),
    GeneSpec("UGT1A1", "chr2", "+", 54658, 533, 5, fixed_codons={71: "GGA", 229: "CCG"}, utr5=60,
             pinned=((-364, 0, "C"),)),
    GeneSpec("PIK3CA", "chr3", "+", 5290, 1068, 10, fixed_codons={545: "GAG", 1047: "CAT"}),
    GeneSpec("TPMT", "chr6", "-", 7172, 245, 8, fixed_codons={80: "GCA", 154: "GCA", 240: "TAT"}),
    GeneSpec("BRAF", "chr7", "-", 673, 766, 10, fixed_codons={600: "GTG", 599: "ACA", 601: "AAA"},
             alt_transcript=True),
    GeneSpec("EGFR", "chr7", "+", 1956, 1210, 12, fixed_codons={790: "ACG", 858: "CTG"}),
    GeneSpec("CYP2C19", "chr10", "+", 1557, 490, 9, fixed_codons={212: "TGG", 227: "CCG"},
             exon_starts=(332,), utr5=80, pinned=((-806, 0, "C"), (332, -23, "A"))),
    GeneSpec("CYP2C9", "chr10", "+", 1559, 490, 9, fixed_codons={144: "CGT", 359: "ATT"}),
    GeneSpec("KRAS", "chr12", "-", 3845, 189, 5, fixed_codons={12: "GGT", 13: "GGC", 61: "CAA"},
             alt_transcript=True),
    GeneSpec("NUDT15", "chr13", "+", 55270, 164, 3, fixed_codons={139: "CGT"}),
    GeneSpec("TP53", "chr17", "-", 7157, 393, 10, fixed_codons={175: "CGC", 248: "CGG", 273: "CGT"},
             alt_transcript=True),
    # BRCA1 E23 (GAG) with C24 TGT ... C39 TGT, D40 GAT: c.68_69delAG reads p.Glu23ValfsTer17
    GeneSpec("BRCA1", "chr17", "-", 672, 1863, 14, fixed_codons={23: "GAG", 24: "TGT", 39: "TGT", 40: "GAT"}),
    # biomarker genes (copy number, fusion): real strand, chromosome, exon count, protein length (UniProt
    # ERBB2 P04626 1255 aa, 27 exons; CDKN2A p16INK4a P42771 156 aa, 3 exons; EML4 Q9HC35 981 aa, 23 exons;
    # ALK Q9UM73 1620 aa, 29 exons). Exon boundaries are evenly spaced demo boundaries (not the real
    # ones); EML4 exon 13 and ALK exon 20 are placed so that EML4 exons 1-13 :: ALK exons 20-29 (the
    # exons of EML4-ALK variant 1) read in frame. Short introns keep the demo small.
    GeneSpec("ERBB2", "chr17", "+", 2064, 1255, 27, biomarker=True, intron=(120, 260)),
    GeneSpec("CDKN2A", "chr9", "-", 1029, 156, 3, biomarker=True, intron=(300, 600)),
    GeneSpec("EML4", "chr2", "+", 27436, 981, 23, biomarker=True, intron=(120, 260),
             exon_ends=tuple(round(k * 2946 / 23) for k in range(1, 23))),
    GeneSpec("ALK", "chr2", "-", 238, 1620, 29, biomarker=True, intron=(120, 260),
             exon_ends=tuple(round(k * 4863 / 29) for k in range(1, 29))),
)

GENE_BY_NAME = {g.name: g for g in GENES}

#: demo contigs, in FASTA order (real chromosome names; sizes are the demo's own)
CONTIGS = ("chr1", "chr2", "chr3", "chr6", "chr7", "chr9", "chr10", "chr12", "chr13", "chr17")
#: contigs of the core genome (built first, in this order, from the reference's main random stream)
CORE_CONTIGS = ("chr1", "chr2", "chr3", "chr6", "chr7", "chr10", "chr12", "chr13", "chr17")
#: the demo's X chromosome: a stretch of the non-pseudoautosomal X (no PAR in the demo build, so all of it is
#: hemizygous in males), random sequence without genes, carrying common SNPs for the cohort sex check. It is
#: built last, from its own random stream, so the autosomes do not depend on it; named ``chrX`` so that the
#: cohort store's reference genome (bedside.cohort.session) declares it the X contig.
X_CONTIG = "chrX"
X_LENGTH = 32_000


def gene_ids(index: int) -> tuple[str, str, str]:
    """Demo gene id, canonical transcript id, alternative transcript id for gene number ``index``."""
    return (f"ENSG9{index + 1:010d}", f"ENST9{2 * index + 1:010d}", f"ENST9{2 * index + 2:010d}")


CODON_TABLE = {
    "TTT": "F", "TTC": "F", "TTA": "L", "TTG": "L", "CTT": "L", "CTC": "L", "CTA": "L", "CTG": "L",
    "ATT": "I", "ATC": "I", "ATA": "I", "ATG": "M", "GTT": "V", "GTC": "V", "GTA": "V", "GTG": "V",
    "TCT": "S", "TCC": "S", "TCA": "S", "TCG": "S", "CCT": "P", "CCC": "P", "CCA": "P", "CCG": "P",
    "ACT": "T", "ACC": "T", "ACA": "T", "ACG": "T", "GCT": "A", "GCC": "A", "GCA": "A", "GCG": "A",
    "TAT": "Y", "TAC": "Y", "TAA": "*", "TAG": "*", "CAT": "H", "CAC": "H", "CAA": "Q", "CAG": "Q",
    "AAT": "N", "AAC": "N", "AAA": "K", "AAG": "K", "GAT": "D", "GAC": "D", "GAA": "E", "GAG": "E",
    "TGT": "C", "TGC": "C", "TGA": "*", "TGG": "W", "CGT": "R", "CGC": "R", "CGA": "R", "CGG": "R",
    "AGT": "S", "AGC": "S", "AGA": "R", "AGG": "R", "GGT": "G", "GGC": "G", "GGA": "G", "GGG": "G",
}
STOPS = ("TAA", "TAG", "TGA")
SENSE_CODONS = tuple(sorted(c for c, a in CODON_TABLE.items() if a != "*"))
THREE_LETTER = {
    "A": "Ala", "R": "Arg", "N": "Asn", "D": "Asp", "C": "Cys", "Q": "Gln", "E": "Glu", "G": "Gly",
    "H": "His", "I": "Ile", "L": "Leu", "K": "Lys", "M": "Met", "F": "Phe", "P": "Pro", "S": "Ser",
    "T": "Thr", "W": "Trp", "Y": "Tyr", "V": "Val", "*": "Ter",
}
