"""The PDF report (WeasyPrint): A4 portrait, "page X of Y", patient ID and report date on every page, table
rows never split across pages, Korean text embedded. Checked with poppler's pdftotext / pdfinfo."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bedside.cli import main
from bedside.model import Consequence, Finding, Oncogenicity, Origin, Tier, Variant, to_dict
from tests.report_cases import capecitabine_case, melanoma_case

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None or shutil.which("pdfinfo") is None,
                                reason="poppler-utils (pdftotext, pdfinfo) not installed")

AMINO = ["Ala", "Arg", "Asn", "Asp", "Cys", "Gln", "Glu", "Gly", "His", "Ile", "Leu", "Lys", "Met", "Phe"]


def _pdf(case, tmp: Path, language: str = "en") -> Path:
    src = tmp / f"{case.patient_id}.case.json"
    src.write_text(json.dumps(to_dict(case)))
    html, pdf = tmp / f"{case.patient_id}.html", tmp / f"{case.patient_id}.{language}.pdf"
    assert main(["report", str(src), "--html", str(html), "--language", language]) == 0
    # the workflow's path: PDF from the rendered HTML
    assert main(["report", "--pdf-from-html", str(html), "--pdf", str(pdf)]) == 0
    return pdf


def _pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = text.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def _info(pdf: Path) -> str:
    return subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout


def test_pdf_pages_carry_patient_date_and_numbers(tmp_path: Path) -> None:
    pdf = _pdf(capecitabine_case(), tmp_path)
    info = _info(pdf)
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info)  # A4 portrait
    pages = _pages(pdf)
    n = len(pages)
    assert n >= 3
    for i, page in enumerate(pages, 1):
        assert "Patient PT03" in page, f"page {i} lacks the patient ID"
        assert "Report date 2026-12-01" in page, f"page {i} lacks the report date"
        assert f"Page {i} of {n}" in page, f"page {i} lacks 'Page {i} of {n}'"
    first = pages[0]
    assert first.index("capecitabine") < first.index("Genomic findings")  # the alert opens page 1
    assert "Colon Adenocarcinoma" in first and "KRAS p.Gly12Val" in first


def test_pdf_table_rows_not_split(tmp_path: Path) -> None:
    """A somatic table of tall rows spanning pages: each row's protein and its last line share a page.

    (Without ``break-inside: avoid`` on rows WeasyPrint splits several of these rows; checked by hand.)
    """
    case = melanoma_case()
    for i in range(40):
        case.somatic.append(Finding(
            Variant("chr9", 10_000 + 37 * i, "G", "T"), Origin.SOMATIC,
            Consequence("GENE%02d" % i, None, "missense_variant", f"c.{100 + i}G>T",
                        f"p.{AMINO[i % len(AMINO)]}{200 + i}Ter"),
            tier=Tier.III, vaf=0.05 + (i % 40) / 100, depth=60 + i,
            oncogenicity=Oncogenicity("VUS", 0, [f"criterion {k} explained at some length" for k in range(8)]
                                      + [f"END{i:02d}X"])))
    pages = _pages(_pdf(case, tmp_path))
    assert len([p for p in pages if re.search(r"GENE\d\d", p)]) >= 2, "the test table should span pages"
    for i in range(40):
        prot = f"p.{AMINO[i % len(AMINO)]}{200 + i}Ter"
        where_p = [k for k, p in enumerate(pages) if prot in p]
        where_end = [k for k, p in enumerate(pages) if f"END{i:02d}X" in p]
        assert where_p and where_p == where_end, f"row of {prot} split across pages {where_p} / {where_end}"


def test_korean_pdf_text_embedded(tmp_path: Path) -> None:
    pdf = _pdf(capecitabine_case(), tmp_path, "ko")
    pages = _pages(pdf)
    n = len(pages)
    for i, page in enumerate(pages, 1):
        assert "환자 PT03" in page and "보고일 2026-12-01" in page
        assert re.search(rf"{i}\s*/\s*{n}\s*페이지", page), f"page {i}: no Korean page number"
    assert "종양 유전체 검사 보고서" in pages[0] and "capecitabine" in pages[0]
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=False).stdout
    if fonts:
        assert "CJK" in fonts, "no CJK font embedded for the Korean text"
