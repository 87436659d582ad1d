"""Copy number, fusions / MET exon 14 and MSI in the case record, tiering, the report and the FHIR bundle."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

import pytest

from bedside import case as case_mod
from bedside.calling import cnv, msi, sv
from bedside.cli import main
from bedside.errors import InputError
from bedside.model import Case, Finding, Origin, PatientContext, Tier, Variant, from_dict, to_dict
from bedside.report import fhir, render

BRCA1_POS = 43_094_000  # inside the chr17 segment below


def _genes(path: Path, rows: list[tuple]) -> Path:
    lines = ["\t".join(cnv.GENE_COLS)]
    for gene, chrom, call, cn, minor, log2, basis in rows:
        lines.append("\t".join(str(x) for x in (gene, chrom, 100, 2000, call, "" if cn is None else cn,
                                                  "" if minor is None else minor, log2, 12, basis)))
    path.write_text("\n".join(lines) + "\n")
    return path


def cnv_dir(tmp: Path, *, basis: str = "purity fit", plot: bool = True) -> Path:
    d = tmp / "cnv"
    d.mkdir()
    _genes(d / "genes.tsv", [
        ("ERBB2", "chr17", "amplification", 9, 0, 1.9, basis),
        ("CDKN2A", "chr9", "homozygous_deletion", 0, 0, -3.1, basis),
        ("BRCA1", "chr17", "cn_loh", 2, 0, 0.0, basis),
        ("TP53", "chr17", "neutral", 2, 1, 0.01, basis),
    ])
    segs = [cnv.Segment("chr17", 43_000_000, 43_200_000, 0.0, 30, 40, 0.1, 2, 0, 2.0),
            cnv.Segment("chr9", 21_900_000, 22_000_000, -3.1, 8, 0, None, 0, 0, 0.0)]
    d.joinpath("segments.tsv").write_text(
        "\n".join(["\t".join(cnv.SEG_COLS)]
                  + ["\t".join(cnv._fmt(getattr(s, c)) for c in cnv.SEG_COLS) for s in segs]) + "\n")
    fit = cnv.Fit("assessable", purity=0.62, ploidy=2.1, psi=2.0, log_likelihood=-10.0,
                  purity_from_vafs=0.6, vaf_agreement="agrees (within 0.1)", n_bins=400, n_snps=300)
    d.joinpath("cnv.json").write_text(json.dumps({"tumor_sample": "T", "normal_sample": "N",
                                                  "method": "CNVkit test", "fit": asdict(fit), "calls": []}))
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(2, 1))
        fig.savefig(d / "cnv.png", format="png")
        plt.close(fig)
    return d


def fusions_json(tmp: Path) -> Path:
    def fus(g5, g3, frame, partner, relevant=True):
        return sv.Fusion(g5, g3, f"{g5}-201", f"{g3}-201", "chr2:42300000", "chr2:29223000", "intron 13",
                         "intron 19", 13, 20, frame, "DEL0001", "INV", "PASS", 12, 8, 0, True, partner, relevant)

    met = [sv.Met14("sv", "DEL00009", "chr7", 116_771_800, 116_772_100, "deletion of the exon 14 splice donor", 9)]
    path = tmp / "fusions.json"
    sv.write_fusions([fus("EML4", "ALK", "in-frame", "ALK"), fus("CCDC6", "RET", "out-of-frame", "RET"),
                      fus("KIF5B", "RET", "unknown", "RET")], met, tmp / "fusions.tsv", path)
    return path


def msi_json(tmp: Path, classification: str = "MSI-H", score: float = 34.0) -> Path:
    res = msi.MsiResult(value=score, classification=classification, count=int(score), assessed_sites=100,
                        scanned_sites=120, definition="MSIsensor-style score",
                        citations=[{"source": "Middha et al., JCO Precis Oncol 2017", "pmid": "30211344"}])
    path = tmp / f"msi_{classification}.json"
    path.write_text(json.dumps(asdict(res)))
    return path


def build(tmp: Path, diagnosis: str, **kw) -> Case:
    ctx = PatientContext(patient_id="PX", diagnosis=diagnosis)
    return case_mod.build_case("PX", ctx, tumor_sample="T", normal_sample="N", **kw)


def _cnv_kw(d: Path) -> dict:
    return {"cnv_genes": str(d / "genes.tsv"), "cnv_segments": str(d / "segments.tsv"),
            "cnv_json": str(d / "cnv.json"), "cnv_plot": str(d / "cnv.png") if (d / "cnv.png").exists() else None}


def _options(case: Case, category: str = "this_tumor_type") -> dict[str, object]:
    return {o.therapy: o for o in case.therapy_options if o.category == category}


def test_erbb2_amplification_breast_tier_i_trastuzumab(tmp_path: Path) -> None:
    case = build(tmp_path, "IDC", **_cnv_kw(cnv_dir(tmp_path)))
    calls = {c.gene: c for c in case.copy_number.calls}
    assert "TP53" not in calls  # neutral genes are not listed
    assert case.copy_number.purity == pytest.approx(0.62) and case.copy_number.status == "assessable"
    erbb2 = calls["ERBB2"]
    assert erbb2.tier is Tier.I and {e.therapy for e in erbb2.evidence} >= {"trastuzumab"}
    opt = _options(case)["trastuzumab"]
    assert opt.level == "A" and opt.findings == ["ERBB2 amplification"]
    # CDKN2A loss: no curated therapy row -> tier III, says "not curated"; cn-LOH carries no tier
    assert calls["CDKN2A"].tier is Tier.III and not calls["CDKN2A"].evidence
    assert any("not curated" in n for n in calls["CDKN2A"].notes)
    assert calls["BRCA1"].tier is None
    assert "CNV" in case.assay["variant_classes"]
    # the record round-trips through case.json
    assert from_dict(Case, json.loads(json.dumps(to_dict(case)))).copy_number.calls[0].gene == "CDKN2A"


def test_amplification_in_another_tumor_type_is_level_c(tmp_path: Path) -> None:
    case = build(tmp_path, "LUAD", **_cnv_kw(cnv_dir(tmp_path)))
    erbb2 = next(c for c in case.copy_number.calls if c.gene == "ERBB2")
    assert erbb2.tier is Tier.II
    assert "trastuzumab" in _options(case, "other_tumor_type") and "trastuzumab" not in _options(case)


def test_amplification_not_claimed_from_log2_thresholds(tmp_path: Path) -> None:
    case = build(tmp_path, "IDC", **_cnv_kw(cnv_dir(tmp_path, basis="log2 thresholds")))
    erbb2 = next(c for c in case.copy_number.calls if c.gene == "ERBB2")
    assert not erbb2.evidence and "trastuzumab" not in _options(case)


def test_alk_fusion_and_met_exon14_nsclc(tmp_path: Path) -> None:
    case = build(tmp_path, "LUAD", fusions_json=str(fusions_json(tmp_path)))
    fus = {f.label: f for f in case.fusions}
    alk = fus["EML4::ALK fusion"]
    assert alk.tier is Tier.I and "alectinib" in {e.therapy for e in alk.evidence}
    assert _options(case)["alectinib"].findings == ["EML4::ALK fusion"]
    # out of frame: not matched, said so; exonic (unknown frame): matched with an RNA-confirmation note
    ccdc6 = fus["CCDC6::RET fusion"]
    assert not ccdc6.evidence and any("out of frame" in n for n in ccdc6.notes)
    kif5b = fus["KIF5B::RET fusion"]
    assert "selpercatinib" in {e.therapy for e in kif5b.evidence} and any("RNA" in n for n in kif5b.notes)
    assert _options(case)["selpercatinib"].findings == ["KIF5B::RET fusion"]
    met = case.met_exon14[0]
    assert met.tier is Tier.I and {"capmatinib", "tepotinib"} <= set(_options(case))
    assert case.fusions[0].label == "EML4::ALK fusion"  # relevant in-frame first
    assert {"SV", "fusion"} <= set(case.assay["variant_classes"])


def test_msi_h_colorectal_pembrolizumab_and_mss_nothing(tmp_path: Path) -> None:
    case = build(tmp_path, "COAD", msi_json=str(msi_json(tmp_path)))
    b = next(b for b in case.biomarkers if b.name == "MSI")
    assert b.classification == "MSI-H" and b.tier is Tier.I
    opt = _options(case)["pembrolizumab"]
    assert opt.level == "A" and opt.findings == ["MSI-H"]
    assert {e.match.value for e in opt.evidence} >= {"ancestor"} or {e.match.value for e in opt.evidence} >= {
        "same"}
    mss = build(tmp_path, "COAD", msi_json=str(msi_json(tmp_path, "MSS", 1.0)))
    b = next(b for b in mss.biomarkers if b.name == "MSI")
    assert b.tier is None and not b.evidence and "pembrolizumab" not in _options(mss)


def test_msi_h_tumor_agnostic_and_excluded(tmp_path: Path) -> None:
    case = build(tmp_path, "LUAD", msi_json=str(msi_json(tmp_path)))
    opt = _options(case)["pembrolizumab"]
    assert {e.match.value for e in opt.evidence} == {"agnostic"}


def test_germline_brca1_zygosity_in_tumor(tmp_path: Path) -> None:
    d = cnv_dir(tmp_path)
    f = Finding(Variant("chr17", BRCA1_POS, "A", "G"), Origin.GERMLINE)
    other = Finding(Variant("chr13", 32_300_000, "A", "G"), Origin.GERMLINE)
    case_mod.set_tumor_zygosity([f, other], cnv.read_segments(d / "segments.tsv"), 0.62)
    assert f.tumor_zygosity == "LOH (copy-neutral)"
    assert other.tumor_zygosity is None  # no segment there: not assessed


@pytest.mark.parametrize("name, text, what", [
    ("genes.tsv", "gene\tchrom\nERBB2\tchr17\n", "genes.tsv"),
    ("segments.tsv", "chrom\tstart\nchr1\tx\n", "segments.tsv"),
])
def test_malformed_cnv_table_names_file(tmp_path: Path, name: str, text: str, what: str) -> None:
    d = cnv_dir(tmp_path)
    (d / name).write_text(text)
    with pytest.raises(InputError, match=re.escape(str(d / name))):
        build(tmp_path, "IDC", **_cnv_kw(d))


def test_bad_fusions_and_msi_json_name_file(tmp_path: Path) -> None:
    bad = tmp_path / "fusions.json"
    bad.write_text(json.dumps({"fusions": [{"gene5": "EML4"}]}))
    with pytest.raises(InputError, match="fusions.json"):
        build(tmp_path, "LUAD", fusions_json=str(bad))
    bad_msi = tmp_path / "msi.json"
    bad_msi.write_text(json.dumps({"value": 3}))
    with pytest.raises(InputError, match="msi.json"):
        build(tmp_path, "LUAD", msi_json=str(bad_msi))


def test_report_sections_schema_offline_plot_and_limitations(tmp_path: Path) -> None:
    case = build(tmp_path, "LUAD", fusions_json=str(fusions_json(tmp_path)), msi_json=str(msi_json(tmp_path)),
                 **_cnv_kw(cnv_dir(tmp_path)))
    content, html = render.build(case)
    assert content["copy_number"]["purity"] == pytest.approx(0.62)
    assert content["fusions"][0]["label"] == "EML4::ALK fusion" and content["met_exon14"]
    assert next(b for b in content["biomarkers"] if b["name"] == "MSI")["tier"] == "I"
    nd = [lim for lim in content["limitations"] if lim["code"] == "not_detected"]
    assert not nd  # CNV, SV, fusion and MSI all ran
    cn = html[html.index('<section id="copy_number">'):]
    cn = cn[:cn.index("</section>")]
    assert 'src="data:image/png;base64,' in cn and "homozygous deletion" in cn and "62" in cn
    assert "no therapy evidence curated" in cn  # CDKN2A
    fu = html[html.index('<section id="fusions">'):]
    fu = fu[:fu.index("</section>")]
    assert "EML4::ALK" in fu and "alectinib" in fu and "MET exon 14 skipping" in fu
    assert not re.search(r'<(?:img|script|link)[^>]+(?:src|href)="https?:', html)  # nothing loaded from outside
    # Korean catalogue has every new key
    render.build(case, language="ko")


def test_report_without_callers_says_not_run(tmp_path: Path) -> None:
    case = build(tmp_path, "LUAD")
    content, html = render.build(case)
    assert content["copy_number"] is None and content["fusions"] == []
    nd = next(lim for lim in content["limitations"] if lim["code"] == "not_detected")
    assert set(nd["params"]["classes"]) == {"CNV", "SV", "fusion", "MSI"}
    assert "Copy number was not analysed" in html and "fusions were not analysed" in html


def test_missing_plot_file_is_stated(tmp_path: Path) -> None:
    d = cnv_dir(tmp_path, plot=False)
    case = build(tmp_path, "IDC", **_cnv_kw(d))
    html = render.render_html(case)
    assert "Copy-number plot not available." in html


def test_fhir_msi_observation(tmp_path: Path) -> None:
    case = build(tmp_path, "COAD", msi_json=str(msi_json(tmp_path)))
    bundle = fhir.build_bundle(case)
    obs = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
           and e["resource"]["code"]["coding"][0]["code"] == "81695-9"]
    assert len(obs) == 1 and obs[0]["valueCodeableConcept"]["text"] == "MSI-H"
    fhir.validate(bundle)


def test_cli_case_cnv_dir(tmp_path: Path) -> None:
    d = cnv_dir(tmp_path)
    ctx = tmp_path / "ctx.json"
    ctx.write_text(json.dumps(to_dict(PatientContext(patient_id="PX", diagnosis="IDC"))))
    out = tmp_path / "case.json"
    rc = main(["case", "--patient", "PX", "--context", str(ctx), "--cnv-dir", str(d),
               "--msi", str(msi_json(tmp_path)), "--fusions", str(fusions_json(tmp_path)), "--out", str(out)])
    assert rc == 0
    data = json.loads(out.read_text())
    assert data["copy_number"]["plot"] == str(d / "cnv.png")
    assert {c["gene"] for c in data["copy_number"]["calls"]} == {"ERBB2", "CDKN2A", "BRCA1"}
    assert data["fusions"] and any(b["name"] == "MSI" for b in data["biomarkers"])
    assert main(["case", "--patient", "PX", "--context", str(ctx), "--cnv-dir", str(tmp_path / "nope"),
                 "--out", str(out)]) == 2


def test_tmb_high_tumor_agnostic_and_filtered_fusion(tmp_path: Path) -> None:
    from bedside import knowledge
    from bedside.model import Biomarker, FusionCall

    kb = knowledge.load_knowledge()
    high = Biomarker(name="TMB", status="assessable", value=14.0, classification="High")
    low = Biomarker(name="TMB", status="assessable", value=3.0, classification="Low")
    na = Biomarker(name="TMB", status="not_assessable", reason="territory too small")
    knowledge.tier_biomarkers([high, low, na], "LUAD", kb)
    assert high.tier is Tier.I and {e.match.value for e in high.evidence} == {"agnostic"}
    assert not low.evidence and not na.evidence and low.tier is None
    opts = knowledge.therapy_options([high])
    assert [(o.therapy, o.findings) for o in opts] == [("pembrolizumab", ["TMB High"])]
    lowq = FusionCall("EML4", "ALK", "in-frame", known_partner="ALK", relevant=True, filter="LowQual")
    knowledge.tier_fusions([lowq], "LUAD", kb)
    assert not lowq.evidence and any("LowQual" in n for n in lowq.notes)


def test_tumor_vaf_of_germline_variant_says_which_allele_kept(tmp_path: Path) -> None:
    import pysam

    vcf = tmp_path / "somatic.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr17,length=90000000>\n"
        '##FILTER=<ID=germline_risk,Description="x">\n'
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tN\tT\n"
        f"chr17\t{BRCA1_POS}\t.\tA\tG\t.\tgermline_risk\t.\tAD\t20,20\t3,45\n")
    pysam.tabix_index(str(vcf), preset="vcf", force=True)
    f = Finding(Variant("chr17", BRCA1_POS, "A", "G"), Origin.GERMLINE)
    vafs = case_mod.tumor_vafs(str(vcf) + ".gz", "T", [f])
    assert vafs == {f.variant.key: pytest.approx(45 / 48)}
    segs = cnv.read_segments(cnv_dir(tmp_path) / "segments.tsv")
    case_mod.set_tumor_zygosity([f], segs, 0.62, vafs)
    assert f.tumor_zygosity.startswith("LOH (copy-neutral); variant allele retained (tumor VAF 0.94")


def test_fhir_fusion_and_cnv_variant_observations(tmp_path: Path) -> None:
    case = build(tmp_path, "LUAD", fusions_json=str(fusions_json(tmp_path)), **_cnv_kw(cnv_dir(tmp_path)))
    bundle = fhir.build_bundle(case)
    fhir.validate(bundle)
    res = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    variants = {r["note"][0]["text"]: url for url, r in res.items()
                if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == "69548-6"}
    assert {"EML4::ALK fusion", "ERBB2 amplification", "CDKN2A homozygous deletion"} <= set(variants)
    erbb2 = res[variants["ERBB2 amplification"]]
    cn = [c for c in erbb2["component"] if c["code"]["coding"][0]["code"] == "82155-3"]
    assert cn[0]["valueQuantity"]["value"] == 9
    alectinib = [r for r in res.values() if r["resourceType"] == "Observation"
                 and r["code"]["coding"][0]["code"] == "therapeutic-implication"
                 and "alectinib" in json.dumps(r)]
    assert alectinib and alectinib[0]["derivedFrom"] == [{"reference": variants["EML4::ALK fusion"]}]


def test_cdkn2a_deletion_astrocytoma_prognostic_statement_in_report(tmp_path: Path) -> None:
    """A prognostic row (WHO CNS5: CDKN2A/B homozygous deletion -> CNS WHO grade 4 in IDH-mutant
    astrocytoma) tiers the call in its own tumor type, offers no therapy, and the report states it."""
    d = cnv_dir(tmp_path)
    case = build(tmp_path, "ASTR", **_cnv_kw(d))
    cdkn2a = next(c for c in case.copy_number.calls if c.gene == "CDKN2A")
    assert cdkn2a.tier is Tier.I
    assert [e.direction for e in cdkn2a.evidence] == ["prognostic"]
    assert not any("CDKN2A" in str(o.findings) for o in case.therapy_options)
    content, html = render.build(case)  # validates against the report schema
    cn = html[html.index('<section id="copy_number">'):]
    cn = cn[:cn.index("</section>")]
    assert "Prognostic: CNS WHO grade 4" in cn and "34185076" in cn
    render.build(case, language="ko")
    # the same deletion in melanoma: no prognostic statement, tier III
    other = build(tmp_path, "SKCM", **_cnv_kw(d))
    assert next(c for c in other.copy_number.calls if c.gene == "CDKN2A").tier is Tier.III


@pytest.mark.parametrize("genetic,clinical,mismatch", [
    ("male (one X)", "female", "female"), ("female (two X)", "male", "male"), ("male (one X)", "male", None),
    (None, "female", None), ("female (two X)", None, None), ("female (two X)", "other", None)])
def test_sex_from_x_depth_checked_against_clinical_record(tmp_path: Path, genetic, clinical, mismatch) -> None:
    """The CNV caller's genetic sex (normal's X depth) against the clinical sex: a contradiction is a
    specimen-identity alert on page 1 and a notice; agreement or an unknown side is one line, no alert."""
    d = cnv_dir(tmp_path)
    data = json.loads((d / "cnv.json").read_text())
    data["fit"]["sex"] = genetic
    (d / "cnv.json").write_text(json.dumps(data))
    ctx = PatientContext(patient_id="PX", diagnosis="LUAD", sex=clinical)
    case = case_mod.build_case("PX", ctx, tumor_sample="T", normal_sample="N", **_cnv_kw(d))
    assert case.copy_number.sex == genetic and case.copy_number.sex_mismatch == mismatch
    assert any("Sex check failed" in n for n in case.notices) == bool(mismatch)
    content, html = render.build(case)  # schema-valid
    assert content["copy_number"]["sex_mismatch"] == mismatch
    assert ('id="sex-alert"' in html) == bool(mismatch)
    if genetic:
        assert f"sex from X depth: {genetic}" in html
    render.build(case, language="ko")
