#!/usr/bin/python3
"""Reference values for package experiment, computed with Debian's scipy.

Run from anywhere with the system interpreter (apt-get install python3-scipy):

    /usr/bin/python3 internal/experiment/testdata/reference.py

It writes reference.json beside itself: every fixed input together with the
values scipy computes for it. reference_test.go reads that file, and the Go
code must agree to within 1e-6 relative (1e-12 absolute near zero).

  chi2_sf       scipy.stats.chi2.sf, the tail behind the sample-ratio check
  srm           scipy.stats.chisquare(observed, f_exp) for assigned counts and
                configured shares: Pearson's statistic and its p-value
  prob_best     the probability that each arm is best, P(j best) =
                integral of f_j(x) * prod_{i != j} F_i(x) dx (or 1 - F_i when
                lower is better), by scipy.integrate.quad over 40 standard
                deviations around each arm's posterior mean: Beta(1 + ones,
                1 + zeros) for rates, normal(mean, variance/n) for means
  compare       the normal-mixture sequential test of one arm against
                another, from its likelihood ratio in the original form,
                Lambda = sqrt(V/(V + tau2)) * exp(tau2 d^2 / (2 V (V + tau2))),
                with tau2 = Tau2 * t * V and t = nc nb/(nc + nb), V the Welch
                variance of the difference d: the p-value 1/Lambda, the
                interval for the difference and the interval for the ratio of
                the means (the r whose test of mc - r mb = 0 has Lambda <
                1/alpha) both found by root finding (scipy.optimize.brentq),
                not by the closed forms the Go code uses.
"""

import json
import math
import os

import numpy as np
import scipy
import scipy.integrate
import scipy.optimize
import scipy.special
import scipy.stats as st

HERE = os.path.dirname(os.path.abspath(__file__))


def chi2_cases():
    out = []
    for df in [1, 2, 3, 5, 9]:
        for x in [0.01, 0.5, 1, 3, 7.5, 12, 25, 42.32, 80, 150, 400]:
            out.append({"x": x, "df": df, "sf": float(st.chi2.sf(x, df))})
    return out


def srm_cases():
    cases = [
        ([10000, 10000], [0.5, 0.5]),
        ([10460, 9540], [0.5, 0.5]),
        ([51000, 49000], [0.5, 0.5]),
        ([50120, 49880], [0.5, 0.5]),
        ([52000, 48000], [0.5, 0.5]),
        ([9020, 980], [0.9, 0.1]),
        ([9100, 900], [0.9, 0.1]),
        ([2510, 2490, 2600, 2400], [0.25, 0.25, 0.25, 0.25]),
        ([3340, 3330, 3330], [1 / 3, 1 / 3, 1 / 3]),
        ([700, 200, 100], [0.7, 0.2, 0.1]),
        ([500000, 498000], [0.5, 0.5]),
        ([7, 3], [0.5, 0.5]),
    ]
    out = []
    for assigned, shares in cases:
        total = sum(assigned)
        exp = [s / sum(shares) * total for s in shares]
        r = st.chisquare(assigned, f_exp=exp)
        out.append({"assigned": assigned, "shares": shares,
                    "chi2": float(r.statistic), "p": float(r.pvalue)})
    return out


def prob_best(dists, lower):
    """dists: list of (pdf, cdf, mean, sd, lo, hi)."""
    out = []
    for j, (pdf, _, m, sd, lo, hi) in enumerate(dists):
        a, b = max(lo, m - 20 * sd), min(hi, m + 20 * sd)

        def f(x):
            p = pdf(x)
            for i, d in enumerate(dists):
                if i != j:
                    c = d[1](x)
                    p *= (1 - c) if lower else c
            return p

        v, _ = scipy.integrate.quad(f, a, b, points=[m], epsabs=1e-15, epsrel=1e-12, limit=1000)
        out.append(v)
    return out


def beta_dist(ones, n):
    a, b = 1 + ones, 1 + n - ones
    m = a / (a + b)
    sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    return (lambda x: st.beta.pdf(x, a, b), lambda x: st.beta.cdf(x, a, b), m, sd, 0.0, 1.0)


def normal_dist(n, s, ss):
    m = s / n
    var = (ss - s * s / n) / (n - 1)
    sd = math.sqrt(var / n)
    return (lambda x: st.norm.pdf(x, m, sd), lambda x: st.norm.cdf(x, m, sd), m, sd, -math.inf, math.inf)


def moments(rng, n, mean, sd, lognormal):
    if lognormal:
        x = np.round(rng.lognormal(mean, sd, n), 3)
    else:
        x = np.round(rng.normal(mean, sd, n), 3)
    return {"n": int(n), "sum": float(x.sum()), "sumsq": float((x * x).sum())}


def prob_best_cases():
    out = []
    binary = [
        [(1010, 20600), (1112, 20600)],
        [(0, 0), (0, 0)],
        [(3, 40), (7, 41)],
        [(500, 10000), (520, 10000), (480, 10000), (560, 10000)],
        [(50, 1000), (60, 1000), (55, 1000)],
        [(100, 2000), (100, 2000)],
        [(5000, 100000), (6000, 100000)],
    ]
    for arms in binary:
        for lower in [False, True]:
            dists = [beta_dist(x, n) for x, n in arms]
            out.append({"kind": "binary", "lower": lower,
                        "arms": [{"n": n, "sum": x, "sumsq": x} for x, n in arms],
                        "p": prob_best(dists, lower)})
    rng = np.random.default_rng(7)
    cont = [
        [moments(rng, 500, 10, 3, False), moments(rng, 500, 10.3, 3, False)],
        [moments(rng, 2000, 1, 1, True), moments(rng, 2000, 1.02, 1, True), moments(rng, 1900, 0.98, 1, True)],
        [moments(rng, 50, 0, 1, False), moments(rng, 60, 0.1, 2, False), moments(rng, 40, -0.1, 0.5, False),
         moments(rng, 45, 0.05, 1, False)],
    ]
    for arms in cont:
        for lower in [False, True]:
            dists = [normal_dist(a["n"], a["sum"], a["sumsq"]) for a in arms]
            out.append({"kind": "continuous", "lower": lower, "arms": arms, "p": prob_best(dists, lower)})
    return out


def mixture_lr(d, V, kt):
    """The normal mixture's likelihood ratio for an estimate d of variance
    V at information kt = Tau2 * t, with tau2 = kt * V, in its original
    form."""
    tau2 = kt * V
    return math.sqrt(V / (V + tau2)) * math.exp(tau2 * d * d / (2 * V * (V + tau2)))


def bracket_root(f, x0, step):
    """The root of f on the side of x0 that step points to; f(x0) < 0."""
    x = x0 + step
    while f(x) < 0:
        step *= 2
        x = x0 + step
        if abs(step) > 1e12:
            return math.inf if step > 0 else -math.inf
    return scipy.optimize.brentq(f, min(x0, x), max(x0, x), xtol=1e-15, rtol=1e-14, maxiter=500)


def compare(c, b, alpha, tau2):
    nc, nb = c["n"], b["n"]
    mc, mb = c["sum"] / nc, b["sum"] / nb
    vc = (c["sumsq"] - c["sum"] ** 2 / nc) / (nc - 1) / nc
    vb = (b["sumsq"] - b["sum"] ** 2 / nb) / (nb - 1) / nb
    V = vc + vb
    kt = tau2 * nc * nb / (nc + nb)
    d = mc - mb
    lr = mixture_lr(d, V, kt)
    p = min(1.0, 1 / lr)
    level = math.log(1 / alpha)

    def g(theta0):  # ln Lambda - ln(1/alpha) for the null difference theta0
        return math.log(mixture_lr(d - theta0, V, kt)) - level

    sd = math.sqrt(V)
    lo = bracket_root(g, d, -sd)
    hi = bracket_root(g, d, sd)

    def gr(r):  # the same for the null mc - r mb = 0
        return math.log(mixture_lr(mc - r * mb, vc + r * r * vb, kt)) - level

    r0 = mc / mb
    step = 0.01 * abs(r0) + 1e-9
    rlo, rhi = bracket_root(gr, r0, -step), bracket_root(gr, r0, step)
    sign = 1 if mb > 0 else -1
    rel = (rlo - 1) * sign, (rhi - 1) * sign
    return {"c": c, "b": b, "alpha": alpha, "tau2": tau2,
            "difference": d, "lower": lo, "upper": hi, "p": p, "z": d / sd,
            "relative": d / abs(mb), "rel_lower": min(rel), "rel_upper": max(rel)}


def compare_cases():
    out = []
    bin_ = lambda x, n: {"n": n, "sum": x, "sumsq": x}
    pairs = [
        (bin_(1112, 20600), bin_(1010, 20600)),
        (bin_(1300, 20000), bin_(1000, 20000)),
        (bin_(600, 10000), bin_(500, 10000)),
        (bin_(480, 10000), bin_(500, 10000)),
        (bin_(60, 1000), bin_(48, 1200)),
        (bin_(6000, 100000), bin_(5000, 100000)),
    ]
    rng = np.random.default_rng(11)
    pairs += [
        (moments(rng, 5000, 10.3, 3, False), moments(rng, 5000, 10, 3, False)),
        (moments(rng, 20000, 1.05, 1, True), moments(rng, 20000, 1, 1, True)),
        (moments(rng, 3000, -5.5, 2, False), moments(rng, 3000, -5, 2, False)),
        (moments(rng, 800, 100, 40, False), moments(rng, 1200, 95, 30, False)),
    ]
    for c, b in pairs:
        for alpha in [0.05, 0.05 / 3]:
            for tau2 in [0.01, 0.002]:
                out.append(compare(c, b, alpha, tau2))
    return out


def main():
    ref = {
        "scipy": scipy.__version__,
        "chi2_sf": chi2_cases(),
        "srm": srm_cases(),
        "prob_best": prob_best_cases(),
        "compare": compare_cases(),
    }
    path = os.path.join(HERE, "reference.json")
    with open(path, "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
