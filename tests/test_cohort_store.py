"""Cohort store on Hail: build, incremental update, schema, atomic writes, bad input (one Hail session)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("hail")

from bedside import cli  # noqa: E402
from bedside.cohort import records, session, store, synthetic  # noqa: E402
from bedside.commands import cohort_platform  # noqa: E402
from bedside.errors import InputError  # noqa: E402

pytestmark = pytest.mark.slow  # starts a JVM (Hail on local Spark)


def case_json(path: Path, pid: str, normal: str, *, somatic=(), germline=(), pgx=(), context=None) -> Path:
    ctx = context or {"patient_id": pid, "age": 60, "sex": "female", "diagnosis": "LUAD",
                      "diagnosis_name": "Lung Adenocarcinoma", "medications": [], "labs": [],
                      "smoking_status": "never", "pack_years": 0.0, "alcohol_units_per_week": 1.0, "bmi": 24.0,
                      "diet": [], "not_evaluated": []}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"patient_id": pid, "context": ctx, "tumor_sample": pid + "-T",
                                "normal_sample": normal, "somatic": list(somatic), "germline": list(germline),
                                "pgx": list(pgx), "tmb": 5.0}))
    return path


@pytest.fixture(scope="module")
def hail_session(tmp_path_factory):
    return session.init(tmp_dir=str(tmp_path_factory.mktemp("hail")))


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    d = tmp_path_factory.mktemp("cohort")
    g, sites, truth = synthetic.simulate(12, 400, seed=5, n_duplicates=0, n_parent_child=0, n_siblings=0,
                                         n_sex_mismatch=0, n_low_call_rate=0)
    first, last = truth.samples[:10], truth.samples[10:]
    vcf = synthetic.write_vcf(d / "joint.vcf.gz", g[:, :10], sites, first)
    new_vcf = synthetic.write_vcf(d / "new.vcf.gz", g[:, 10:], sites, last)
    clinical = synthetic.write_clinical(d / "clinical.tsv", truth)
    sheet = synthetic.write_samples(d / "samples.tsv", truth)
    return {"dir": d, "g": g, "sites": sites, "truth": truth, "vcf": vcf, "new_vcf": new_vcf,
            "clinical": clinical, "samples": sheet}


def test_build_read_and_schema(hail_session, cohort, tmp_path):
    som = {"variant": {"chrom": "chr1", "pos": 100, "ref": "T", "alt": "G"}, "origin": "somatic",
           "consequence": {"gene": "EGFR", "hgvs_p": "p.Leu858Arg"}, "tier": "I", "vaf": 0.3,
           "evidence": [{"therapy": "osimertinib", "level": "A"}], "notes": []}
    case = case_json(tmp_path / "P00001" / "case.json", "P00001", "P00001-N", somatic=[som],
                     pgx=[{"gene": "DPYD", "diplotypes": ["*1/*2A"], "phenotype": "Intermediate Metabolizer",
                           "activity_score": 1.0, "status": "called"}])
    out = store.build(cohort["vcf"], tmp_path / "cohort.mt", cases=[case], clinical=cohort["clinical"],
                      sample_sheet=cohort["samples"], build="synthetic")
    mt = store.read(out)
    assert mt.count() == (400, 10)
    cols = store.columns(mt).set_index("s")
    p1 = cols.loc["P00001-N"]
    assert p1.patient_id == "P00001" and p1.somatic[0].gene == "EGFR" and p1.somatic[0].tier == "I"
    assert p1.somatic[0].therapies == ["osimertinib"]
    assert p1.pgx[0].phenotype == "Intermediate Metabolizer" and p1.case_sha256 == records.sha256(case)
    assert p1.clinical.diagnosis_lineage[:2] == ["LUAD", "NSCLC"]  # from the case's context, not the table
    p2 = cols.loc["P00002-N"]  # no case.json: clinical table only
    assert p2.clinical.sex == cohort["truth"].sex["P00002-N"] and list(p2.somatic) == []
    # genotypes as written
    gt = mt.GT.n_alt_alleles().collect()
    import numpy as np

    want = np.where(cohort["g"][:, :10] < 0, -9, cohort["g"][:, :10]).ravel()
    got = np.array([-9 if x is None else x for x in gt])
    assert (got == want).all()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".cohort.mt")]  # temp paths gone


def test_incremental_add_and_refresh(hail_session, cohort, tmp_path):
    case = case_json(tmp_path / "a" / "case.json", "P00001", "P00001-N")
    out = store.build(cohort["vcf"], tmp_path / "cohort.mt", cases=[case], clinical=cohort["clinical"],
                      sample_sheet=cohort["samples"], build="synthetic")
    before = store.columns(store.read(out)).set_index("s")
    new_case = case_json(tmp_path / "b" / "case.json", "P00011", "P00011-N",
                         germline=[{"variant": {"chrom": "chr2", "pos": 5, "ref": "A", "alt": "C"},
                                    "consequence": {"gene": "BRCA1"}, "clinvar": {"clnsig": "Pathogenic",
                                                                                  "stars": 3},
                                    "notes": ["secondary finding: BRCA1 is on ACMG_SF_v3.2 (PMID 37347242)"]}])
    _, added, refreshed = store.update(out, vcfs=[cohort["new_vcf"]], cases=[case, new_case],
                                       clinical=cohort["clinical"], sample_sheet=cohort["samples"])
    assert added == ["P00011-N", "P00012-N"] and refreshed == []
    mt = store.read(out)
    assert mt.count_cols() == 12
    cols = store.columns(mt).set_index("s")
    assert cols.loc["P00011-N"].germline_findings[0].acmg_sf is True
    assert cols.loc["P00001-N"].case_sha256 == before.loc["P00001-N"].case_sha256
    # genotypes of the new samples come from their own VCF
    import numpy as np

    sub = mt.filter_cols(mt.s == "P00012-N")
    got = np.array([-9 if x is None else x for x in sub.GT.n_alt_alleles().collect()])
    want = cohort["g"][:, 11]
    assert (got == np.where(want < 0, -9, want)).all()
    # a changed case record is refreshed, nothing re-imported; an unchanged one is left alone
    case_json(case, "P00001", "P00001-N", context={"patient_id": "P00001", "sex": "male", "bmi": 31.0,
                                                   "diagnosis": "COAD", "medications": ["capecitabine"]})
    _, added, refreshed = store.update(out, cases=[case, new_case])
    assert added == [] and refreshed == ["P00001-N"]
    c = store.columns(store.read(out)).set_index("s").loc["P00001-N"].clinical
    assert c.bmi == 31.0 and c.drug_classes == ["fluoropyrimidine"]
    assert store.update(out, cases=[case, new_case])[1:] == ([], [])


def test_regenotyped_cohort_is_rebuilt_new_samples_are_added(hail_session, cohort, tmp_path):
    """The same samples in a changed joint VCF (the cohort genotyped again) rebuild the store, so no sample
    keeps stale genotypes; a VCF bringing new samples is added incrementally; an unchanged one is a no-op."""
    import numpy as np

    out = tmp_path / "cohort.mt"
    assert store.build_or_update(cohort["vcf"], out, clinical=cohort["clinical"],
                                 sample_sheet=cohort["samples"], build="synthetic")["mode"] == "full"
    res = store.build_or_update(cohort["vcf"], out, clinical=cohort["clinical"], sample_sheet=cohort["samples"])
    assert res == {"mode": "incremental", "added": [], "refreshed": []}
    # same 10 samples, genotypes changed at the first site (as a re-run of joint calling would)
    g = cohort["g"][:, :10].copy()
    g[0] = np.where(g[0] == 0, 1, 0)
    vcf2 = synthetic.write_vcf(tmp_path / "joint.vcf.gz", g, cohort["sites"], cohort["truth"].samples[:10])
    res = store.build_or_update(vcf2, out, clinical=cohort["clinical"], sample_sheet=cohort["samples"])
    assert res["mode"] == "full"
    mt = store.read(out)
    first = mt.filter_rows(mt.locus == mt.head(1).locus.collect()[0])
    assert first.GT.n_alt_alleles().collect() == [int(x) for x in g[0]]
    # a VCF with new samples is an incremental addition
    res = store.build_or_update(cohort["new_vcf"], out, clinical=cohort["clinical"], sample_sheet=cohort["samples"])
    assert res["mode"] == "incremental" and res["added"] == ["P00011-N", "P00012-N"]


def test_bad_inputs_named_and_store_untouched(hail_session, cohort, tmp_path):
    d = cohort["dir"]
    # a VCF sample without a clinical record
    clin = tmp_path / "clinical.tsv"
    lines = Path(cohort["clinical"]).read_text().splitlines()
    clin.write_text("\n".join(ln for ln in lines if not ln.startswith("P00003")) + "\n")
    with pytest.raises(InputError, match="P00003-N.*no patient record"):
        store.build(cohort["vcf"], tmp_path / "x.mt", clinical=clin, sample_sheet=cohort["samples"],
                    build="synthetic")
    assert not (tmp_path / "x.mt").exists()
    # duplicate sample IDs
    import gzip

    text = gzip.open(cohort["vcf"], "rt").read().replace("P00002-N", "P00001-N")
    dup = tmp_path / "dup.vcf"
    dup.write_text(text)
    with pytest.raises(InputError, match="duplicate sample ID 'P00001-N'"):
        store.build(dup, tmp_path / "y.mt", clinical=cohort["clinical"], sample_sheet=cohort["samples"],
                    build="synthetic")
    # a VCF on another build: contig lengths differ from the reference .fai
    fai = tmp_path / "genome.fa.fai"
    fai.write_text("".join(f"{c}\t{1000 + i}\t0\t60\t61\n" for i, c in enumerate(["chr1", "chr2", "chr3", "chrX"])))
    with pytest.raises(InputError, match="another build"):
        store.build(cohort["vcf"], tmp_path / "z.mt", clinical=cohort["clinical"],
                    sample_sheet=cohort["samples"], build="other_build", fai=fai)
    with pytest.raises(InputError, match="another build"):
        store.build(cohort["vcf"], tmp_path / "z.mt", clinical=cohort["clinical"],
                    sample_sheet=cohort["samples"], build="GRCh37")
    assert not list(tmp_path.glob("*.mt")) and not list(tmp_path.glob(".*.mt*"))
    assert d.exists()


def test_cli_exit_codes_and_routing(hail_session, cohort, tmp_path, monkeypatch, capsys):
    assert "cohort_platform" in cli.COMMANDS  # registered in the CLI
    assert cohort_platform.route(["cohort", "qc", "--vcf", "x"])[0] == "cohort-db"
    assert cohort_platform.route(["cohort", "a/case.json", "--html", "s.html"])[0] == "cohort"
    clin = tmp_path / "clinical.tsv"
    clin.write_text("patient_id\tsex\nP00001\tfemale\n")
    rc = cli.main(cohort_platform.route(["cohort", "build", "--vcf", str(cohort["vcf"]), "--clinical", str(clin),
                                         "--samples", str(cohort["samples"]), "--build", "synthetic", "--out", str(tmp_path / "c.mt")]))
    assert rc == 2
    err = capsys.readouterr().err
    assert "P00002-N" in err and str(cohort["vcf"]) in err
    summary = tmp_path / "s.json"
    rc = cli.main(["cohort-db", "build", "--vcf", str(cohort["vcf"]), "--clinical", str(cohort["clinical"]),
                   "--samples", str(cohort["samples"]), "--build", "synthetic", "--out", str(tmp_path / "c.mt"), "--incremental", "--summary",
                   str(summary)])
    assert rc == 0 and json.loads(summary.read_text())["mode"] == "full"
    rc = cli.main(["cohort-db", "build", "--vcf", str(cohort["new_vcf"]), "--clinical", str(cohort["clinical"]),
                   "--samples", str(cohort["samples"]), "--build", "synthetic", "--out", str(tmp_path / "c.mt"), "--incremental", "--summary",
                   str(summary)])
    s = json.loads(summary.read_text())
    assert rc == 0 and s["mode"] == "incremental" and s["added"] == ["P00011-N", "P00012-N"]
