"""A whole-genome tumor/normal project for planning checks (tests/test_plan.py, benchmarks/plan_wgs.py):
GRCh38 primary contig lengths plus many small decoy/HLA-like contigs, 8 lanes per sample. A dry run reads
only the reference's .fai, the sheets and the configuration, so the FASTA holds a placeholder sequence while
its index carries the real lengths."""

from __future__ import annotations

import gzip
import random
from importlib import resources
from pathlib import Path

import yaml

__all__ = ["grch38_primary", "hs38dh_like", "write_project"]


def grch38_primary() -> list[tuple[str, int]]:
    """GRCh38 primary assembly lengths (GCA_000001405.15, as in the no-alt analysis set's .fai)."""
    text = resources.files("bedside.bench").joinpath("data", "GRCh38_primary.lengths.tsv").read_text()
    return [(c, int(n)) for c, n in (line.split("\t") for line in text.splitlines()
                                     if line and not line.startswith("#"))]


def hs38dh_like(n_small: int = 2800, seed: int = 3) -> list[tuple[str, int]]:
    """GRCh38 primary contigs plus ``n_small`` small contigs (1-200 kb, named like HLA alleles and decoys,
    with the characters such names carry: '*', ':'), as in bwa-kit's hs38DH (3,366 contigs)."""
    rnd = random.Random(seed)
    small = [(f"HLA-A*01:{i:02d}:01" if i % 7 == 0 else f"chrUn_JTFH0100{i:05d}v1_decoy",
              rnd.randint(1_000, 200_000)) for i in range(n_small)]
    return grch38_primary() + small


def write_project(root: Path, config_yaml: Path, patients: int = 2, lanes: int = 8,
                  contigs: list[tuple[str, int]] | None = None) -> Path:
    """Write the project under ``root`` from the repository's config (``config_yaml``); returns its config."""
    contigs = contigs or hs38dh_like()
    (root / "ref").mkdir(parents=True)
    (root / "ref/genome.fa").write_text("".join(f">{c}\nN\n" for c, _ in contigs))
    (root / "ref/genome.fa.fai").write_text("".join(f"{c}\t{n}\t0\t60\t61\n" for c, n in contigs))
    (root / "ref/genes.gff3").write_text(
        "##gff-version 3\n"
        "chr7\tdemo\tgene\t55019017\t55211628\t.\t+\t.\tID=gene:EGFR;Name=EGFR;biotype=protein_coding\n"
        "chr7\tdemo\tmRNA\t55019017\t55211628\t.\t+\t.\tID=transcript:T1;Parent=gene:EGFR;"
        "biotype=protein_coding\n"
        "chr7\tdemo\texon\t55019017\t55019365\t.\t+\t.\tParent=transcript:T1\n"
        "chr7\tdemo\tCDS\t55019278\t55019365\t.\t+\t0\tParent=transcript:T1\n")
    (root / "fq").mkdir()
    samples = [["sample_name", "patient", "alias", "platform"]]
    units = [["sample_name", "unit_name", "fq1", "fq2", "bam"]]
    ids = [f"P{i}" for i in range(1, patients + 1)]
    for patient in ids:
        for alias, suffix in (("tumor", "T"), ("normal", "N")):
            sample = f"{patient}-{suffix}"
            samples.append([sample, patient, alias, "ILLUMINA"])
            for lane in range(1, lanes + 1):
                pair = []
                for read in (1, 2):
                    fq = root / f"fq/{sample}_L{lane}_R{read}.fq.gz"
                    with gzip.open(fq, "wt") as fh:
                        fh.write(f"@r1/{read}\n{'ACGT' * 25}\n+\n{'I' * 100}\n")
                    pair.append(str(fq.relative_to(root)))
                units.append([sample, f"L{lane}", *pair, ""])
    (root / "samples.tsv").write_text("\n".join("\t".join(r) for r in samples) + "\n")
    (root / "units.tsv").write_text("\n".join("\t".join(r) for r in units) + "\n")
    (root / "clinical.tsv").write_text("patient_id\tage\tsex\tdiagnosis\n" + "".join(
        f"{p}\t60\tfemale\tLUAD\n" for p in ids))
    cfg = yaml.safe_load(Path(config_yaml).read_text())
    cfg.update(samples="samples.tsv", units="units.tsv", clinical={"table": "clinical.tsv"},
               resources={"knowledge": []})
    cfg["reference"].update(fasta="ref/genome.fa", gff3="ref/genes.gff3")
    out = root / "config.yaml"
    out.write_text(yaml.safe_dump(cfg))
    return out
