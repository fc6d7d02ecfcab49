#!/usr/bin/python3
"""Reference values for package stats, computed with Debian's scipy and numpy.

Run from anywhere with the system interpreter (apt-get install python3-scipy):

    /usr/bin/python3 internal/stats/testdata/reference.py

It writes reference.json beside itself: every fixed input together with the
values scipy (or, where scipy has no such test, numpy) computes for it. The Go
tests in reference_test.go read that file and must agree to within 1e-6
relative (1e-12 absolute near zero).

The classical tests come straight from scipy:
  normal cdf/sf/ppf         scipy.stats.norm
  two-proportion z-test     the pooled z statistic, p-values from scipy.stats.norm
  Welch t                   scipy.stats.ttest_ind(equal_var=False)
  Mann-Whitney U            scipy.stats.mannwhitneyu(method="asymptotic",
                            use_continuity=True)
  Kolmogorov-Smirnov        scipy.stats.ks_2samp(method="asymp"), and
                            scipy.stats.kstwo.sf for the null distribution
  Jensen-Shannon            scipy.spatial.distance.jensenshannon(base=2)
  PSI                       numpy, from its definition

The sequential tests are computed here from their likelihood ratios in their
original form: for the normal mixture,
Lambda = sqrt(V/(V+tau2)) * exp(tau2*d^2/(2V(V+tau2))), on Anscombe's angular
scale for proportions, with the interval for a difference of rates combined
from the two rates' intervals by MOVER; for the risk ratio, the beta-binomial
mixture through scipy.special.betaln. Confidence bounds are found by root
finding (scipy.optimize.brentq) rather than by the closed forms and Newton
steps the Go code uses, so the two implementations are independent. JSON has no
infinities, so unbounded interval ends are written as "+Inf" and "-Inf".

Inputs are fixed: random samples come from numpy's PCG64 with fixed seeds and
are rounded, and are written into the JSON so the Go side reads exactly the
same numbers.
"""

import json
import math
import os

import numpy as np
import scipy
import scipy.optimize
import scipy.special
import scipy.spatial.distance
import scipy.stats as st

HERE = os.path.dirname(os.path.abspath(__file__))

# Go's Alternative names the direction of the candidate's values; scipy names
# ks_2samp's alternatives by the distribution functions, which reverses them.
KS_ALT = {"two-sided": "two-sided", "greater": "less", "less": "greater"}
ALTS = ["two-sided", "greater", "less"]


def sample(seed, kind, n, decimals):
    rng = np.random.default_rng(seed)
    if kind == "normal":
        x = rng.normal(10.0, 2.0, n)
    elif kind == "normal-shifted":
        x = rng.normal(10.4, 2.5, n)
    elif kind == "lognormal":
        x = rng.lognormal(3.0, 0.6, n)
    elif kind == "lognormal-slow":
        x = rng.lognormal(3.1, 0.6, n)
    else:
        raise ValueError(kind)
    return sorted(float(v) for v in np.round(x, decimals))


def normal_cases():
    xs = [-38.0, -20.0, -8.5, -5.0, -1.959963984540054, -1.0, -1e-3, 0.0,
          0.5, 1.6448536269514722, 3.0, 6.0, 12.0]
    ps = [1e-300, 1e-100, 1e-20, 1e-12, 1e-6, 0.001, 0.025, 0.05, 0.3, 0.5,
          0.7, 0.95, 0.975, 0.999, 1 - 1e-6, 1 - 1e-12]
    return {
        "cdf": [{"x": x, "cdf": float(st.norm.cdf(x)), "sf": float(st.norm.sf(x))} for x in xs],
        "ppf": [{"p": p, "x": float(st.norm.ppf(p))} for p in ps],
    }


def ztest_cases():
    counts = [(12, 1000, 5, 1000), (30, 2000, 41, 2100), (3, 50, 0, 4950),
              (0, 100, 0, 100), (250, 500, 240, 520), (1, 7, 2, 9)]
    out = []
    for xc, nc, xb, nb in counts:
        for alt in ALTS:
            pool = (xc + xb) / (nc + nb)
            var = pool * (1 - pool) * (1 / nc + 1 / nb)
            if var == 0:
                z, p = 0.0, 1.0
            else:
                z = (xc / nc - xb / nb) / math.sqrt(var)
                p = {"two-sided": min(1.0, 2 * st.norm.sf(abs(z))),
                     "greater": st.norm.sf(z), "less": st.norm.cdf(z)}[alt]
            out.append({"xc": xc, "nc": nc, "xb": xb, "nb": nb,
                        "alternative": alt, "z": z, "p": float(p)})
    return out


TWO_SAMPLES = [
    # name, candidate (seed, kind, n, decimals), baseline (...)
    ("normal-equal", (1, "normal", 200, 6), (2, "normal", 300, 6)),
    ("normal-shift", (3, "normal-shifted", 150, 6), (4, "normal", 400, 6)),
    ("lognormal-shift", (5, "lognormal-slow", 500, 4), (6, "lognormal", 800, 4)),
    ("small", (7, "normal", 12, 6), (8, "normal-shifted", 9, 6)),
    ("ties", (9, "normal", 300, 0), (10, "normal-shifted", 250, 0)),
    ("ties-large", (11, "lognormal-slow", 3000, -1), (12, "lognormal", 2000, -1)),
]


def two_sample_cases():
    out = []
    for name, cs, bs in TWO_SAMPLES:
        c, b = sample(*cs), sample(*bs)
        case = {"name": name, "c": c, "b": b, "welch": [], "mannwhitney": [], "ks": []}
        for alt in ALTS:
            t = st.ttest_ind(c, b, equal_var=False, alternative=alt)
            vc, vb = np.var(c, ddof=1) / len(c), np.var(b, ddof=1) / len(b)
            df = (vc + vb) ** 2 / (vc ** 2 / (len(c) - 1) + vb ** 2 / (len(b) - 1))
            case["welch"].append({"alternative": alt, "t": float(t.statistic),
                                  "df": float(df), "p": float(t.pvalue)})
            u = st.mannwhitneyu(c, b, alternative=alt, method="asymptotic", use_continuity=True)
            case["mannwhitney"].append({"alternative": alt, "u": float(u.statistic), "p": float(u.pvalue)})
            k = st.ks_2samp(c, b, alternative=KS_ALT[alt], method="asymp")
            case["ks"].append({"alternative": alt, "d": float(k.statistic), "p": float(k.pvalue)})
        out.append(case)
    return out


BINNED = [
    ("latency-buckets", [5, 40, 120, 300, 260, 150, 80, 30, 10, 5], [3, 50, 160, 320, 240, 120, 60, 20, 6, 1]),
    ("identical", [10, 20, 30, 40], [10, 20, 30, 40]),
    ("empty-bins", [0, 0, 12, 30, 0, 7], [4, 0, 10, 33, 1, 0]),
    ("shifted", [0, 2, 8, 30, 60, 100], [100, 60, 30, 8, 2, 0]),
    ("wide", [int(v) for v in np.random.default_rng(13).integers(0, 500, 60)],
     [int(v) for v in np.random.default_rng(14).integers(0, 500, 60)]),
]


def binned_cases():
    out = []
    for name, c, b in BINNED:
        xc = np.repeat(np.arange(len(c)), c).astype(float)
        xb = np.repeat(np.arange(len(b)), b).astype(float)
        case = {"name": name, "c": c, "b": b, "mannwhitney": [], "ks": []}
        for alt in ALTS:
            u = st.mannwhitneyu(xc, xb, alternative=alt, method="asymptotic", use_continuity=True)
            case["mannwhitney"].append({"alternative": alt, "u": float(u.statistic), "p": float(np.nan_to_num(u.pvalue, nan=1.0))})
            k = st.ks_2samp(xc, xb, alternative=KS_ALT[alt], method="asymp")
            case["ks"].append({"alternative": alt, "d": float(k.statistic), "p": float(k.pvalue)})
        pc, pb = np.array(c, float) / sum(c), np.array(b, float) / sum(b)
        pc, pb = np.maximum(pc, 1e-4), np.maximum(pb, 1e-4)
        case["psi"] = float(np.sum((pc - pb) * np.log(pc / pb)))
        case["js_distance"] = float(scipy.spatial.distance.jensenshannon(c, b, base=2))
        out.append(case)
    return out


def kstwo_cases():
    out = []
    for n in [1, 2, 5, 10, 50, 140, 141, 500, 1000, 10000, 100000, 100001, 250000]:
        xs = {0.4 / n, 0.8 / n, 1.0 / n, 1 - 1.5 / n, 0.5, 0.7}
        xs |= {math.sqrt(v / n) for v in [0.3, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 100.0, 400.0]}
        for x in sorted(xs):
            if 0 < x < 1:
                out.append({"n": n, "x": x, "sf": float(st.kstwo.sf(x, n))})
    return out


# --- mixture sequential probability ratio tests -----------------------------

def log_lr(d, v, tau2):
    """log of the normal-mixture likelihood ratio for an estimate d away from
    the null value, with variance v and mixing variance tau2 (Johari et al.)."""
    return 0.5 * math.log(v / (v + tau2)) + tau2 * d * d / (2 * v * (v + tau2))


def msprt(est, null, v0, v, t, alpha, tau2_std, lo, hi):
    """p-value, bounds and z for one look; the mixing variance is tau2_std
    observations' worth of the estimate's variance: tau2 = tau2_std * t * v."""
    if not (v0 > 0 and t > 0):
        return {"estimate": est, "lower": lo, "upper": hi, "p": 1.0, "z": 0.0}
    p = min(1.0, math.exp(-log_lr(est - null, v0, tau2_std * t * v0)))
    tau2 = tau2_std * t * v
    target = math.log(1 / alpha)
    f = lambda theta: log_lr(est - theta, v, tau2) - target
    # The likelihood ratio is 1/alpha at est -+ h; bracket h and solve.
    step = math.sqrt(v)
    far = step
    while f(est + far) < 0:
        far *= 2
    h = scipy.optimize.brentq(lambda s: f(est + s), 0.0, far, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)
    return {"estimate": est, "lower": max(lo, est - h), "upper": min(hi, est + h),
            "p": p, "z": (est - null) / math.sqrt(v0)}


def angle(x, n):
    """Anscombe's angular proportion and its variance."""
    return math.asin(math.sqrt((x + 0.375) / (n + 0.75))), 1 / (4 * (n + 0.5))


def rate_interval(x, n, alpha, tau2):
    """Always-valid interval for one rate: the normal mixture on the angle,
    inverted by root finding, mapped back by sin^2."""
    a, v = angle(x, n)
    r = msprt(a, 0.0, v, v, n, alpha, tau2, 0.0, math.pi / 2)
    return math.sin(r["lower"]) ** 2, math.sin(r["upper"]) ** 2


def two_prop(xc, nc, xb, nb, alpha, tau2):
    ac, vc = angle(xc, nc)
    ab, vb = angle(xb, nb)
    r = msprt(ac - ab, 0.0, vc + vb, vc + vb, nc * nb / (nc + nb), alpha, tau2, -math.inf, math.inf)
    # MOVER (Newcombe 1998; Zou and Donner 2008) on each rate's interval.
    lc, uc = rate_interval(xc, nc, alpha, tau2)
    lb, ub = rate_interval(xb, nb, alpha, tau2)
    pc, pb = xc / nc, xb / nb
    lower = pc - pb - math.sqrt((pc - lc) ** 2 + (ub - pb) ** 2)
    upper = pc - pb + math.sqrt((uc - pc) ** 2 + (pb - lb) ** 2)
    return {"estimate": pc - pb, "lower": max(-1.0, lower), "upper": min(1.0, upper),
            "p": r["p"], "z": r["z"]}


def one_prop(x, n, p0, alpha, tau2):
    a, v = angle(x, n)
    r = msprt(a, math.asin(math.sqrt(p0)), v, v, n, alpha, tau2, -math.inf, math.inf)
    lo, hi = rate_interval(x, n, alpha, tau2)
    return {"estimate": x / n, "lower": lo, "upper": hi, "p": r["p"], "z": r["z"]}


def risk_ratio(xc, nc, xb, nb, alpha, ratio_tau2, side="two-sided"):
    """Events conditioned on their total: xc of xc+xb from the candidate,
    binomial with pi0 = w = nc/(nc+nb) under the null, mixed over
    Beta(k w, k (1-w)); the interval is {pi : L(pi) >= alpha * mixture}.
    One-sided, the mixture is the Beta truncated to pi > w (greater) or
    pi < w (less), renormalized: the marginal likelihood gains the
    posterior's mass on that side over the prior's."""
    w = nc / (nc + nb)
    k = 1 / (ratio_tau2 * w * (1 - w)) - 1
    a, b = k * w, k * (1 - w)
    log_mix = scipy.special.betaln(a + xc, b + xb) - scipy.special.betaln(a, b)
    if side == "greater":
        log_mix += math.log(scipy.stats.beta.sf(w, a + xc, b + xb)) - math.log(scipy.stats.beta.sf(w, a, b))
    elif side == "less":
        log_mix += math.log(scipy.stats.beta.cdf(w, a + xc, b + xb)) - math.log(scipy.stats.beta.cdf(w, a, b))
    loglik = lambda pi: scipy.special.xlogy(xc, pi) + scipy.special.xlog1py(xb, -pi)
    p = min(1.0, math.exp(loglik(w) - log_mix))
    level = log_mix + math.log(alpha)
    f = lambda pi: loglik(pi) - level
    mle = xc / (xc + xb)
    lo = 0.0 if xc == 0 else scipy.optimize.brentq(f, 1e-300, mle, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=1000)
    hi = 1.0 if xb == 0 else scipy.optimize.brentq(f, mle, 1 - 1e-16, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=1000)
    to_ratio = lambda pi: math.inf if pi == 1.0 else pi / (1 - pi) * (1 - w) / w
    if xc == 0 or xb == 0:
        est = ((xc + 0.5) / (nc + 1)) / ((xb + 0.5) / (nb + 1))
    else:
        est = (xc / nc) / (xb / nb)
    return {"estimate": est, "lower": to_ratio(lo), "upper": to_ratio(hi), "p": p,
            "z": (xc - w * (xc + xb)) / math.sqrt(w * (1 - w) * (xc + xb))}


def two_means(c, b, alpha, tau2):
    nc, nb = len(c), len(b)
    v = np.var(c, ddof=1) / nc + np.var(b, ddof=1) / nb
    return msprt(float(np.mean(c) - np.mean(b)), 0.0, v, v, nc * nb / (nc + nb), alpha, tau2, -math.inf, math.inf)


def msprt_cases():
    opts = [(0.05, 0.01), (0.01, 0.01), (0.05, 0.1), (0.2, 0.001)]
    out = []
    for xc, nc, xb, nb in [(12, 1000, 5, 1000), (30, 2000, 41, 2100), (3, 50, 0, 4950),
                           (40, 2000, 100, 18000), (0, 300, 2, 2700), (250, 500, 240, 520),
                           (1, 7, 2, 9), (5000, 400000, 4000, 400000), (0, 100, 0, 100)]:
        for alpha, tau2 in opts:
            out.append({"test": "two-proportions", "xc": xc, "nc": nc, "xb": xb, "nb": nb,
                        "alpha": alpha, "tau2": tau2, **two_prop(xc, nc, xb, nb, alpha, tau2)})
    for xc, nc, xb, nb in [(12, 1000, 5, 1000), (30, 2000, 41, 2100), (3, 50, 0, 4950),
                           (40, 2000, 100, 18000), (0, 300, 2, 2700), (250, 500, 240, 520),
                           (1, 7, 2, 9), (5000, 400000, 4000, 400000), (7, 100, 0, 100)]:
        for alpha, ratio_tau2 in [(0.05, math.log(2) ** 2), (0.01, math.log(2) ** 2), (0.05, 0.1), (0.2, 2.0)]:
            out.append({"test": "risk-ratio", "xc": xc, "nc": nc, "xb": xb, "nb": nb,
                        "alpha": alpha, "ratio_tau2": ratio_tau2, **risk_ratio(xc, nc, xb, nb, alpha, ratio_tau2)})
    # One-sided mixtures: evidence on the side looked at, against it, and none.
    for xc, nc, xb, nb in [(12, 1000, 5, 1000), (30, 2000, 41, 2100), (40, 2000, 100, 18000),
                           (28, 2800, 1390, 277200), (9, 2000, 1000, 198000)]:
        for side in ["greater", "less"]:
            for alpha, ratio_tau2 in [(0.05, math.log(2) ** 2), (0.0166, math.log(2) ** 2)]:
                out.append({"test": "risk-ratio", "side": side, "xc": xc, "nc": nc, "xb": xb, "nb": nb,
                            "alpha": alpha, "ratio_tau2": ratio_tau2,
                            **risk_ratio(xc, nc, xb, nb, alpha, ratio_tau2, side)})
    for x, n, p0 in [(12, 1000, 0.005), (3, 100, 0.01), (0, 400, 0.01), (60, 1000, 0.05), (510, 1000, 0.5)]:
        for alpha, tau2 in opts:
            out.append({"test": "one-proportion", "x": x, "n": n, "p0": p0,
                        "alpha": alpha, "tau2": tau2, **one_prop(x, n, p0, alpha, tau2)})
    # Quantile exceedance: above of nc beyond the threshold, baseline nb at quantile p.
    for above, nc, nb, p in [(25, 1000, 9000, 0.99), (9, 1000, 9000, 0.99), (130, 1000, 1000, 0.9), (0, 200, 5000, 0.95)]:
        for alpha, tau2 in opts:
            r = two_prop(above, nc, (1 - p) * nb, nb, alpha, tau2)
            out.append({"test": "quantile-exceedance", "xc": above, "nc": nc, "nb": nb, "q": p,
                        "alpha": alpha, "tau2": tau2, **r})
    for name, cs, bs in TWO_SAMPLES:
        c, b = sample(*cs), sample(*bs)
        for alpha, tau2 in opts:
            out.append({"test": "two-means", "sample": name, "alpha": alpha, "tau2": tau2, **two_means(c, b, alpha, tau2)})
    return out


def finite(v):
    """JSON has no infinities: write them as the strings "+Inf" and "-Inf"."""
    if isinstance(v, float) and math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [finite(x) for x in v]
    return v


def main():
    ref = {
        "generator": "internal/stats/testdata/reference.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "normal": normal_cases(),
        "ztest": ztest_cases(),
        "two_sample": two_sample_cases(),
        "binned": binned_cases(),
        "kstwo": kstwo_cases(),
        "msprt": msprt_cases(),
    }
    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump(finite(ref), f, indent=1, allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    main()
