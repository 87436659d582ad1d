"""Amino-acid tables and HGVS protein-change parsing shared by annotation and the knowledge base.

HGVS protein notation (https://hgvs-nomenclature.org): Bedside writes 3-letter codes (p.Val600Glu) and
accepts 1-letter input (p.V600E, V600E) everywhere a user types a protein change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

AA3 = {
    "A": "Ala", "R": "Arg", "N": "Asn", "D": "Asp", "C": "Cys", "Q": "Gln", "E": "Glu", "G": "Gly",
    "H": "His", "I": "Ile", "L": "Leu", "K": "Lys", "M": "Met", "F": "Phe", "P": "Pro", "S": "Ser",
    "T": "Thr", "W": "Trp", "Y": "Tyr", "V": "Val", "*": "Ter", "U": "Sec", "X": "Xaa",
}
AA1 = {v: k for k, v in AA3.items()}

# Standard genetic code (NCBI translation table 1)
_BASES = "TCAG"
_AAS = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
CODON_TABLE = {a + b + c: _AAS[16 * i + 4 * j + k]
               for i, a in enumerate(_BASES) for j, b in enumerate(_BASES) for k, c in enumerate(_BASES)}


_CODONS = re.compile(r"...", re.S)


def translate(seq: str) -> str:
    """Translate a DNA string (upper case) codon by codon; incomplete trailing codon is dropped."""
    codons = _CODONS.findall(seq)
    try:
        return "".join(map(CODON_TABLE.__getitem__, codons))
    except KeyError:  # a codon with N or another symbol
        return "".join([CODON_TABLE.get(c, "X") for c in codons])


def three(aa1: str) -> str:
    return "".join(AA3[a] for a in aa1)


_AA3_RE = "|".join(sorted(AA1, key=len, reverse=True))
_AA_TOKEN = rf"(?:{_AA3_RE}|[ACDEFGHIKLMNPQRSTVWYUX*])"
_SUBST_RE = re.compile(rf"^(?:p\.)?\(?({_AA_TOKEN})(\d+)({_AA_TOKEN}|=|\?)\)?$")
_CODON_RE = re.compile(rf"^(?:p\.)?({_AA_TOKEN})(\d+)$")


def _aa_to3(token: str) -> str:
    if token in AA1:
        return token
    return AA3[token]


@dataclass(frozen=True)
class ProteinChange:
    """A parsed simple protein change: reference residue, position, alternative residue (3-letter)."""

    ref: str
    pos: int
    alt: str | None  # None for a codon-only match ("G12")

    @property
    def hgvs(self) -> str:
        return f"p.{self.ref}{self.pos}{self.alt or ''}"


def parse_protein_change(text: str) -> ProteinChange:
    """Parse 'p.V600E', 'V600E', 'p.Val600Glu', 'p.(Val600Glu)', 'p.Pro227=' into a ProteinChange.

    Raises ValueError on anything else (the caller names the file and row).
    """
    t = text.strip()
    m = _SUBST_RE.match(t)
    if m:
        ref, pos, alt = m.groups()
        alt3 = ref if alt == "=" else ("?" if alt == "?" else _aa_to3(alt))
        return ProteinChange(_aa_to3(ref), int(pos), alt3)
    m = _CODON_RE.match(t)
    if m:
        ref, pos = m.groups()
        return ProteinChange(_aa_to3(ref), int(pos), None)
    raise ValueError(f"malformed HGVS protein change {text!r} (expected e.g. p.V600E or p.Val600Glu)")


_HGVS_P_ANY = re.compile(rf"^p\.\(?(?:{_AA_TOKEN})\d+.*$|^p\.\(?=\)?$|^p\.\?$|^p\.0\??$")


def is_hgvs_p(text: str) -> bool:
    """Loose syntax check of any HGVS p. expression (substitution, del, ins, fs, ext, =)."""
    return bool(_HGVS_P_ANY.match(text.strip()))


_RANGE_RE = re.compile(rf"^p\.\(?({_AA_TOKEN})(\d+)(?:_({_AA_TOKEN})(\d+))?(del|dup|delins|ins|fs|ext)?")


def protein_span(hgvs_p: str) -> tuple[int, int] | None:
    """First and last residue positions an HGVS p. expression touches (None when not positional)."""
    m = _RANGE_RE.match(hgvs_p.strip())
    if not m:
        return None
    start = int(m.group(2))
    end = int(m.group(4)) if m.group(4) else start
    return start, end
