"""The patient report in a real browser: Debian Chromium driven by Playwright.

Each report opens from disk (file://) with zero network requests; the first screen (1280x800) shows the
diagnosis, the top finding and any urgent alert. Screenshots are kept under tests/artifacts/report/
(git-ignored) for a person to look at. Reports rendered from hand-made case records (the shape the case
builder fills) always run; the demo's reports run too when results/PT0*/case.json exist.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bedside.cli import main
from bedside.model import to_dict
from tests.report_cases import capecitabine_case, melanoma_case

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts" / "report"

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Chromium not installed at {CHROMIUM} "
                       "(apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def _render(case, tmp: Path, language: str = "en") -> Path:
    src = tmp / f"{case.patient_id}.case.json"
    src.write_text(json.dumps(to_dict(case)))
    html = tmp / f"{case.patient_id}.{language}.html"
    assert main(["report", str(src), "--html", str(html), "--language", language]) == 0
    return html


def _open(browser, html: Path, shot: str):
    """Open the report from disk; return (page, every request URL the page made)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    page = ctx.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(html.resolve().as_uri(), wait_until="load")
    _artifacts_dir()
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"))
    return ctx, page, requests


def _artifacts_dir() -> Path:
    """tests/artifacts/, ignored by git through its own .gitignore."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ignore = ARTIFACTS.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# screenshots and pages written by the report tests\n*\n")
    return ARTIFACTS


def _on_first_screen(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + min(box["height"], 40) <= 800


def _only_itself(requests: list[str], html: Path) -> list[str]:
    return [u for u in requests if u != html.resolve().as_uri()]


@pytest.mark.parametrize("language", ["en", "ko"])
def test_melanoma_first_screen(browser, tmp_path: Path, language: str) -> None:
    html = _render(melanoma_case(), tmp_path, language)
    ctx, page, requests = _open(browser, html, f"PT01-{language}")
    try:
        assert _only_itself(requests, html) == [], "the report loaded something besides itself"
        assert "Cutaneous Melanoma" in page.locator("#diagnosis").inner_text()
        assert _on_first_screen(page, "#diagnosis")
        top = page.locator("#key-findings tbody tr").first
        assert "BRAF p.Val600Glu" in top.inner_text()
        assert "dabrafenib + trametinib" in top.locator("td").nth(1).inner_text()
        assert "encorafenib + cetuximab" in top.locator("td").nth(2).inner_text()  # other tumor type: C
        assert _on_first_screen(page, "#key-findings tbody tr")
        assert page.locator("#alerts").count() == 0  # no urgent alert for this patient
        assert page.locator("svg.plot").count() >= 2
    finally:
        ctx.close()


def test_alert_on_first_screen(browser, tmp_path: Path) -> None:
    html = _render(capecitabine_case(), tmp_path)
    ctx, page, requests = _open(browser, html, "PT03-en")
    try:
        assert _only_itself(requests, html) == []
        alert = page.locator("#alerts .alert").first
        assert "capecitabine" in alert.inner_text() and "DPYD" in alert.inner_text()
        assert _on_first_screen(page, "#alerts .alert")
        assert _on_first_screen(page, "#diagnosis")
        assert _on_first_screen(page, "#key-findings tbody tr")
        assert "KRAS p.Gly12Val" in page.locator("#key-findings tbody tr").first.inner_text()
    finally:
        ctx.close()


DEMO = sorted((ROOT / "results").glob("PT0*/case.json"))


@pytest.mark.skipif(not DEMO, reason="no demo case records in results/ (run `make demo` first)")
@pytest.mark.parametrize("case_json", DEMO, ids=[p.parent.name for p in DEMO])
def test_demo_report_in_browser(browser, tmp_path: Path, case_json: Path) -> None:
    html = tmp_path / "report.html"
    assert main(["report", str(case_json), "--html", str(html), "--cohort", *map(str, DEMO)]) == 0
    ctx, page, requests = _open(browser, html, f"demo-{case_json.parent.name}")
    try:
        assert _only_itself(requests, html) == []
        assert _on_first_screen(page, "#diagnosis")
        assert _on_first_screen(page, "#key-findings tbody tr")
        if page.locator("#alerts .alert").count():
            assert _on_first_screen(page, "#alerts .alert")
    finally:
        ctx.close()


def test_artifacts_are_ignored() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    import subprocess

    _artifacts_dir()
    res = subprocess.run(["git", "check-ignore", "-q", str(ARTIFACTS / "x.png")], cwd=ROOT, check=False)
    assert res.returncode == 0, "tests/artifacts/ must be git-ignored (add it to .gitignore)"
