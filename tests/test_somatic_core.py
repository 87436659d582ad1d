"""Unit tests of the somatic array core: known values, monotonicity, filter logic, NumPy vs array-api-strict
vs the per-site Python loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bedside.calling.somatic_core import (
    FILTER_BITS,
    Params,
    Sites,
    filter_names,
    normal_lod,
    random_sites,
    score,
    score_loop,
    strand_g,
    tumor_lod,
)


def _sites(n: int = 1, **kw) -> Sites:
    """One or more well-supported PASS-looking sites; override columns with kw (lists)."""
    base = {"key": np.arange(n, dtype=np.int64) * 1000 + 5000, "is_indel": np.zeros(n, bool),
                "t_ref": np.full(n, 80), "t_alt": np.full(n, 20), "t_alt_fwd": np.full(n, 10), "t_alt_rev": np.full(n, 10),
                "t_ref_fwd": np.full(n, 40), "t_ref_rev": np.full(n, 40), "t_ref_bq": np.full(n, 30.0),
                "t_alt_bq": np.full(n, 30.0), "t_dp": np.full(n, 100), "n_ref": np.full(n, 40), "n_alt": np.zeros(n, int),
                "n_dp": np.full(n, 40), "n_ref_bq": np.full(n, 30.0), "n_alt_bq": np.full(n, 30.0)}
    for k, v in kw.items():
        base[k] = None if v is None else np.asarray(v)
    return Sites(**base)


def test_tumor_lod_known_value():
    # 90 ref + 10 alt reads at Q30: 10*log10(0.1/(1e-3/3)) + 90*log10(0.9) ~ 24.77 - 4.12
    tl = tumor_lod(np.array([90.0]), np.array([10.0]), np.array([1e-3]), np.array([1e-3 / 3]))
    assert tl[0] == pytest.approx(20.65, abs=0.05)
    assert tumor_lod(np.array([100.0]), np.array([0.0]), np.array([1e-3]), np.array([1e-3]))[0] == 0.0


def test_normal_lod_known_value():
    # 40 reference reads: each read is ~2x likelier under hom-ref than het -> 40*log10(2)
    nl = normal_lod(np.array([40.0]), np.array([0.0]), np.array([1e-3]), np.array([1e-3 / 3]))
    assert nl[0] == pytest.approx(40 * math.log10(2), abs=0.05)
    # a het normal (20/20) is strongly negative
    assert normal_lod(np.array([20.0]), np.array([20.0]), np.array([1e-3]), np.array([1e-3]))[0] < -40


def test_tlod_monotone_in_alt_reads_and_quality():
    alt = np.arange(1, 50, dtype=float)
    tl = tumor_lod(100 - alt, alt, np.full(alt.shape, 1e-3), np.full(alt.shape, 1e-3 / 3))
    assert np.all(np.diff(tl) > 0)
    q = np.arange(10, 41, dtype=float)
    err = 10 ** (-q / 10) / 3
    tlq = tumor_lod(np.full(q.shape, 95.0), np.full(q.shape, 5.0), np.full(q.shape, 1e-3), err)
    assert np.all(np.diff(tlq) > 0)


def test_nlod_decreases_with_normal_alt_reads():
    alt = np.arange(0, 20, dtype=float)
    nl = normal_lod(40 - alt, alt, np.full(alt.shape, 1e-3), np.full(alt.shape, 1e-3 / 3))
    assert np.all(np.diff(nl) < 0)


def test_strand_g():
    g = strand_g(np.array([10, 20, 5]), np.array([10, 0, 5]), np.array([40, 40, 40]), np.array([40, 40, 40]))
    assert g[0] == pytest.approx(0.0, abs=1e-9)
    assert g[1] == pytest.approx(2 * 20 * math.log(2), rel=1e-6)


def test_clean_site_passes():
    res = score(_sites())
    assert int(res["filter_mask"][0]) == 0 and filter_names(0) == []
    assert res["tlod"][0] > 6.3 and res["nlod"][0] > 2.2


@pytest.mark.parametrize("kw,expected", [
    ({"t_ref": [97], "t_alt": [3], "t_alt_fwd": [2], "t_alt_rev": [1]}, "weak_evidence"),
    ({"t_alt_fwd": [20], "t_alt_rev": [0]}, "strand_bias"),
    ({"t_ref": [990], "t_alt": [10], "t_alt_fwd": [5], "t_alt_rev": [5], "t_dp": [1000], "t_alt_bq": [40.0], "t_ref_bq": [40.0]},
     "low_vaf"),
    ({"n_ref": [36], "n_alt": [4], "n_dp": [40]}, "normal_artifact"),
    ({"t_dp": [8], "t_ref": [4], "t_alt": [4], "t_alt_fwd": [2], "t_alt_rev": [2]}, "low_depth"),
    ({"n_dp": [5], "n_ref": [5]}, "low_depth"),
    ({"in_pon": [True]}, "panel_of_normals"),
    ({"n_ref": [20], "n_alt": [18], "n_dp": [38]}, "germline_risk"),
    ({"population_af": [0.2]}, "germline_risk"),
])
def test_each_filter(kw, expected):
    mask = int(score(_sites(**kw), Params(min_vaf=0.02))["filter_mask"][0])
    assert expected in filter_names(mask), filter_names(mask)


def test_rare_population_af_and_unknown_pass():
    res = score(_sites(3, population_af=[np.nan, 1e-5, 0.01]))
    assert [filter_names(int(m)) for m in res["filter_mask"]] == [[], [], ["germline_risk"]]


def test_clustered_events():
    # three strong events within 50 bp: all clustered; a fourth 10 kb away is not
    s = _sites(4, key=[1000, 1020, 1040, 11000])
    names = [filter_names(int(m)) for m in score(s)["filter_mask"]]
    assert names[:3] == [["clustered_events"]] * 3 and names[3] == []
    # same position twice (SNV + indel record) counts once
    s = _sites(3, key=[1000, 1000, 1030])
    assert all(int(m) == 0 for m in score(s)["filter_mask"])


def test_tumor_only_has_no_nlod():
    res = score(_sites(n_ref=None, n_alt=None, n_dp=None, n_ref_bq=None, n_alt_bq=None))
    assert math.isnan(float(res["nlod"][0])) and int(res["filter_mask"][0]) == 0


def test_filter_bits_distinct():
    assert len(set(FILTER_BITS.values())) == len(FILTER_BITS)


@pytest.mark.parametrize("tumor_only", [False, True])
def test_array_core_matches_python_loop(tumor_only):
    s = random_sites(5000, seed=11, tumor_only=tumor_only)
    a, b = score(s), score_loop(s)
    for k in a:
        if k == "filter_mask":
            assert np.array_equal(a[k], np.array(b[k]))
        else:
            assert np.allclose(a[k], np.array(b[k]), rtol=1e-9, atol=1e-9, equal_nan=True), k
    assert 0 < int((a["filter_mask"] == 0).sum()) < 5000


@pytest.mark.parametrize("tumor_only", [False, True])
def test_numpy_matches_array_api_strict(tumor_only):
    xs = pytest.importorskip("array_api_strict")
    a = score(random_sites(3000, seed=3, tumor_only=tumor_only))
    b = score(random_sites(3000, seed=3, tumor_only=tumor_only, xp=xs))
    for k in a:
        assert np.allclose(a[k], np.asarray(b[k]), rtol=1e-12, equal_nan=True), k
    assert type(b["tlod"]).__module__.startswith("array_api_strict")


def test_normalize_and_repeat_copies():
    from bedside.calling.somatic import normalize, repeat_copies

    ref = "GGGCAAAAAAT" + "ACGT" * 5  # 1-based: C at 4, A-run 5..10

    def fetch(s, e):
        return ref[s:e]
    # mpileup-style deletion written with right context is trimmed and shifted left onto the C anchor
    assert normalize(9, "AAT", "AT", fetch) == (4, "CA", "C")
    assert repeat_copies(4, "CA", "C", fetch) == 6
    # one more unit in the tandem ACGT repeat, written after its first unit, moves to the repeat's start
    assert normalize(15, "T", "TACGT", fetch) == (10, "A", "ATACG")
    assert repeat_copies(10, "A", "ATACG", fetch) == 5
    assert repeat_copies(1, "G", "T", fetch) == 1  # SNV


def test_repeat_raises_indel_error():
    base = _sites(2, is_indel=[True, True], t_ref=[9, 9], t_alt=[2, 2], t_alt_fwd=[1, 1], t_alt_rev=[1, 1],
                  t_dp=[11, 11], indel_repeat=[1, 18])
    tl = score(base)["tlod"]
    assert tl[0] > 6.3 > tl[1]
