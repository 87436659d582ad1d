"""Regenerate the tiny annotation fixture (deterministic): python tests/data/annotate/make_fixture.py

chr1 (20 kb) carries two coding genes, written as Ensembl-style GFF3 (gene/mRNA/exon/CDS/UTR):
  PLUS1  (+) TXP1 (tag MANE_Select) exons 5001-5300, 6001-6800, 8001-9200; CDS 5101..9100 (2100 nt)
         TXP2 (no tag, longer CDS by starting in exon 1 earlier is NOT made: shorter alternative) exons 2,3 only
         planted: codon 12 GGT (Gly), codon 227 CCC (Pro), codon 600 GTG (Val)
  MINUS1 (-) TXM1 (tag Ensembl_canonical) exons 17001-17300, 16001-16300, 15001-15400 (transcript order);
         CDS 17250..15051 (900 nt); planted codon 23 GAA (Glu)
Introns start GT and end AG.
"""

import itertools
import random
from pathlib import Path

OUT = Path(__file__).parent
rng = random.Random(20261128)
L = 20000
genome = [rng.choice("ACGT") for _ in range(L)]
COMP = str.maketrans("ACGT", "TGCA")
STOPS = {"TAA", "TAG", "TGA"}


def rc(s):
    return s.translate(COMP)[::-1]


def cds_seq(n_codons, planted):
    codons = ["ATG"]
    for i in range(2, n_codons):
        if i in planted:
            codons.append(planted[i])
            continue
        while True:
            c = "".join(rng.choice("ACGT") for _ in range(3))
            if c not in STOPS:
                break
        codons.append(c)
    codons.append("TAA")
    return "".join(codons)


def put(start, seq):  # 1-based genomic
    for i, b in enumerate(seq):
        genome[start - 1 + i] = b


def build(exons_tx_order, strand, utr5, cds, utr3):
    """Write transcript sequence (5'->3') over exons given in transcript order; returns nothing."""
    tx = utr5 + cds + utr3
    off = 0
    for s, e in exons_tx_order:
        n = e - s + 1
        piece = tx[off:off + n]
        off += n
        put(s, piece if strand == "+" else rc(piece))
    assert off == len(tx), (off, len(tx))
    # splice sites: GT...AG in transcript orientation
    for (s1, e1), (s2, e2) in itertools.pairwise(exons_tx_order):
        if strand == "+":
            put(e1 + 1, "GT")
            put(s2 - 2, "AG")
        else:
            put(s1 - 2, rc("GT"))
            put(e2 + 1, rc("AG"))


p_cds = cds_seq(700, {12: "GGT", 227: "CCC", 600: "GTG"})
build([(5001, 5300), (6001, 6800), (8001, 9200)], "+", "".join(rng.choice("ACGT") for _ in range(100)),
      p_cds, "".join(rng.choice("ACG") for _ in range(100)))
m_cds = cds_seq(300, {23: "GAA"})
build([(17001, 17300), (16001, 16300), (15001, 15400)], "-", "".join(rng.choice("ACGT") for _ in range(50)),
      m_cds, "".join(rng.choice("ACG") for _ in range(50)))

seq = "".join(genome)
with open(OUT / "ref.fa", "w") as fh:
    fh.write(">chr1\n")
    fh.writelines(seq[i:i + 60] + "\n" for i in range(0, L, 60))

gff = ["##gff-version 3", "##sequence-region chr1 1 20000"]


def feat(t, s, e, strand, attrs, phase="."):
    gff.append("\t".join(["chr1", "fixture", t, str(s), str(e), ".", strand, phase, attrs]))


feat("gene", 5001, 9200, "+", "ID=gene:GP1;Name=PLUS1;biotype=protein_coding")
feat("mRNA", 5001, 9200, "+", "ID=transcript:TXP1;Parent=gene:GP1;Name=PLUS1-201;biotype=protein_coding;tag=basic,Ensembl_canonical,MANE_Select")
feat("five_prime_UTR", 5001, 5100, "+", "Parent=transcript:TXP1")
feat("exon", 5001, 5300, "+", "Parent=transcript:TXP1")
feat("CDS", 5101, 5300, "+", "ID=CDS:TXP1;Parent=transcript:TXP1", "0")
feat("exon", 6001, 6800, "+", "Parent=transcript:TXP1")
feat("CDS", 6001, 6800, "+", "ID=CDS:TXP1;Parent=transcript:TXP1", "1")
feat("exon", 8001, 9200, "+", "Parent=transcript:TXP1")
feat("CDS", 8001, 9100, "+", "ID=CDS:TXP1;Parent=transcript:TXP1", "2")
feat("three_prime_UTR", 9101, 9200, "+", "Parent=transcript:TXP1")
# an alternative transcript with a LONGER extent but no tag: must not be chosen over MANE_Select
feat("mRNA", 4501, 9200, "+", "ID=transcript:TXP2;Parent=gene:GP1;Name=PLUS1-202;biotype=protein_coding;tag=basic")
feat("exon", 4501, 5300, "+", "Parent=transcript:TXP2")
feat("CDS", 5101, 5300, "+", "ID=CDS:TXP2;Parent=transcript:TXP2", "0")
feat("exon", 6001, 6800, "+", "Parent=transcript:TXP2")
feat("CDS", 6001, 6800, "+", "ID=CDS:TXP2;Parent=transcript:TXP2", "1")
feat("exon", 8001, 9200, "+", "Parent=transcript:TXP2")
feat("CDS", 8001, 9100, "+", "ID=CDS:TXP2;Parent=transcript:TXP2", "2")
feat("gene", 15001, 17300, "-", "ID=gene:GM1;Name=MINUS1;biotype=protein_coding")
feat("mRNA", 15001, 17300, "-", "ID=transcript:TXM1;Parent=gene:GM1;Name=MINUS1-201;biotype=protein_coding;tag=basic,Ensembl_canonical")
feat("five_prime_UTR", 17251, 17300, "-", "Parent=transcript:TXM1")
feat("exon", 17001, 17300, "-", "Parent=transcript:TXM1")
feat("CDS", 17001, 17250, "-", "ID=CDS:TXM1;Parent=transcript:TXM1", "0")
feat("exon", 16001, 16300, "-", "Parent=transcript:TXM1")
feat("CDS", 16001, 16300, "-", "ID=CDS:TXM1;Parent=transcript:TXM1", "2")
feat("exon", 15001, 15400, "-", "Parent=transcript:TXM1")
feat("CDS", 15051, 15400, "-", "ID=CDS:TXM1;Parent=transcript:TXM1", "2")
feat("three_prime_UTR", 15001, 15050, "-", "Parent=transcript:TXM1")
(OUT / "genes.gff3").write_text("\n".join(gff) + "\n")
print("wrote", OUT / "ref.fa", OUT / "genes.gff3")
