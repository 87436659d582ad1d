"""The two dynamic programs of local reassembly (:mod:`bedside.calling.assembly`), compiled with numba
(cached on disk): the pair-HMM that scores a read against a haplotype, and the global affine alignment of
a haplotype to the reference. Kept apart so that numba is imported only by a job that has an active
region to call. Without numba they run as plain Python (correct, slow)."""

from __future__ import annotations

import math

import numpy as np

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba is a declared dependency
    def njit(*args, **kwargs):
        if args and callable(args[0]):
            return args[0]
        return lambda f: f


@njit(cache=True)
def _pairhmm(read, qual, hap, gop, gcp):  # pragma: no cover - compiled
    m = read.shape[0]
    n = hap.shape[0]
    mm = 1.0 - 2.0 * gop
    gm = 1.0 - gcp
    init = 2.0 ** 1020 / n
    mp = np.zeros(n + 1)
    ip = np.zeros(n + 1)
    dp = np.full(n + 1, init)
    dp[0] = 0.0
    mc = np.zeros(n + 1)
    ic = np.zeros(n + 1)
    dc = np.zeros(n + 1)
    for i in range(1, m + 1):
        b = read[i - 1]
        eps = 10.0 ** (-qual[i - 1] / 10.0)
        match = 1.0 - eps
        mis = eps / 3.0
        mc[0] = 0.0
        ic[0] = 0.0
        dc[0] = 0.0
        for j in range(1, n + 1):
            h = hap[j - 1]
            pr = match if (b == h or b == 4 or h == 4) else mis
            mc[j] = pr * (mp[j - 1] * mm + (ip[j - 1] + dp[j - 1]) * gm)
            ic[j] = mp[j] * gop + ip[j] * gcp
            dc[j] = mc[j - 1] * gop + dc[j - 1] * gcp
        mp, mc = mc, mp
        ip, ic = ic, ip
        dp, dc = dc, dp
    total = 0.0
    for j in range(1, n + 1):
        total += mp[j] + ip[j]
    if total <= 0.0:
        return -1e300
    return math.log10(total) - math.log10(2.0 ** 1020)


@njit(cache=True)
def all_pairs(reads, quals, roff, haps, hoff, gop, gcp):  # pragma: no cover - compiled
    nr = roff.shape[0] - 1
    nh = hoff.shape[0] - 1
    out = np.empty((nr, nh))
    for r in range(nr):
        rd = reads[roff[r]:roff[r + 1]]
        rq = quals[roff[r]:roff[r + 1]]
        for h in range(nh):
            out[r, h] = _pairhmm(rd, rq, haps[hoff[h]:hoff[h + 1]], gop, gcp)
    return out


# GATK's haplotype-to-reference Smith-Waterman scores (match, mismatch, gap open, gap extend)
SW = (200, -150, -260, -11)


@njit(cache=True)
def align(hap, ref, match, mismatch, gap_open, gap_ext):  # pragma: no cover - compiled
    """Global affine alignment of ``hap`` to ``ref``; returns ops: 0 = aligned pair, 1 = base only in
    the haplotype (insertion), 2 = base only in the reference (deletion)."""
    n = hap.shape[0]
    m = ref.shape[0]
    neg = -10 ** 15
    M = np.full((n + 1, m + 1), neg, dtype=np.int64)
    X = np.full((n + 1, m + 1), neg, dtype=np.int64)  # insertion (consumes hap)
    Y = np.full((n + 1, m + 1), neg, dtype=np.int64)  # deletion (consumes ref)
    M[0, 0] = 0
    for i in range(1, n + 1):
        X[i, 0] = gap_open + (i - 1) * gap_ext
    for j in range(1, m + 1):
        Y[0, j] = gap_open + (j - 1) * gap_ext
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            s = match if hap[i - 1] == ref[j - 1] else mismatch
            M[i, j] = max(M[i - 1, j - 1], X[i - 1, j - 1], Y[i - 1, j - 1]) + s
            X[i, j] = max(M[i - 1, j] + gap_open, X[i - 1, j] + gap_ext, Y[i - 1, j] + gap_open)
            Y[i, j] = max(M[i, j - 1] + gap_open, Y[i, j - 1] + gap_ext, X[i, j - 1] + gap_open)
    ops = np.empty(n + m, dtype=np.int8)
    k = 0
    i, j = n, m
    v = M[n, m]
    state = 0
    if X[n, m] > v:
        v = X[n, m]
        state = 1
    if Y[n, m] > v:
        state = 2
    while i > 0 or j > 0:
        if state == 0:
            s = match if hap[i - 1] == ref[j - 1] else mismatch
            cur = M[i, j] - s
            ops[k] = 0
            k += 1
            i -= 1
            j -= 1
            if i >= 0 and j >= 0:
                if M[i, j] == cur:
                    state = 0
                elif X[i, j] == cur:
                    state = 1
                else:
                    state = 2
        elif state == 1:
            cur = X[i, j]
            ops[k] = 1
            k += 1
            i -= 1
            if cur == X[i, j] + gap_ext and i > 0:
                state = 1
            elif cur == M[i, j] + gap_open:
                state = 0
            elif cur == Y[i, j] + gap_open:
                state = 2
            else:
                state = 1
        else:
            cur = Y[i, j]
            ops[k] = 2
            k += 1
            j -= 1
            if cur == Y[i, j] + gap_ext and j > 0:
                state = 2
            elif cur == M[i, j] + gap_open:
                state = 0
            elif cur == X[i, j] + gap_open:
                state = 1
            else:
                state = 2
    return ops[:k][::-1]
