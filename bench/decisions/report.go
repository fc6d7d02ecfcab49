package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// summary is one judge's outcomes over one scenario's runs.
type summary struct {
	runs, fired, onTarget int
	// ticks and requests at the quantiles of all runs, a run that did not
	// fire counting as never (ok false).
	medianTick, p90Tick int
	medianReq, p90Req   int64
	medianOK, p90OK     bool
}

func summarize(outs []outcome) summary {
	s := summary{runs: len(outs)}
	ticks := make([]int, 0, len(outs))
	reqs := make([]int64, 0, len(outs))
	for _, o := range outs {
		if !o.fired {
			continue
		}
		s.fired++
		if o.onTarget {
			s.onTarget++
		}
		ticks = append(ticks, o.tick)
		reqs = append(reqs, o.requests)
	}
	slices.Sort(ticks)
	slices.Sort(reqs)
	if i := rank(0.5, s.runs); i < len(ticks) {
		s.medianTick, s.medianReq, s.medianOK = ticks[i], reqs[i], true
	}
	if i := rank(0.9, s.runs); i < len(ticks) {
		s.p90Tick, s.p90Req, s.p90OK = ticks[i], reqs[i], true
	}
	return s
}

// rank is the 0-based nearest rank of quantile q among n sorted values.
func rank(q float64, n int) int { return max(int(math.Ceil(q*float64(n)))-1, 0) }

func (s summary) rate() float64 { return float64(s.fired) / float64(max(s.runs, 1)) }

// wilson is the 95% Wilson score interval of k successes in n trials.
func wilson(k, n int) (lo, hi float64) {
	if n == 0 {
		return 0, 1
	}
	const z = 1.959963984540054
	p, nf := float64(k)/float64(n), float64(n)
	den := 1 + z*z/nf
	mid := (p + z*z/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / den
	return max(mid-half, 0), min(mid+half, 1)
}

// percent renders a share with one decimal, "81.1%", and the ends of the
// range without: "0%", "100%".
func percent(v float64) string {
	s := fmt.Sprintf("%.1f", 100*v)
	if s == "0.0" || s == "100.0" {
		s = s[:len(s)-2]
	}
	return s + "%"
}

// report writes the results as markdown: the decisions table, the targets
// and the simulated streams.
func report(w io.Writer, cfg config, results []scenarioResult, kinds []judgeKind) {
	fmt.Fprintf(w, "seed %d, %d runs per scenario, stage %d s, %g rps with %g%% to the candidate\n\n",
		cfg.seed, cfg.runs, cfg.stage, cfg.traffic.rps, 100*cfg.traffic.share)
	for _, k := range kinds {
		fmt.Fprintf(w, "- %s: %s\n", k.name, strings.Join(k.rules, "; "))
	}
	fmt.Fprintln(w)
	decisionsTable(w, cfg, results, kinds)
	fmt.Fprintln(w)
	targetsTable(w, cfg, results, kinds)
	fmt.Fprintln(w)
	streamsTable(w, results)
}

func decisionsTable(w io.Writer, cfg config, results []scenarioResult, kinds []judgeKind) {
	fmt.Fprintln(w, "| scenario | judge | rolled back | 95% CI | on the regressed metric | median s | p90 s | median candidate requests | p90 candidate requests |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|")
	never := fmt.Sprintf("> %d", cfg.stage)
	for _, res := range results {
		for j, k := range kinds {
			s := summarize(res.outcomes[j])
			lo, hi := wilson(s.fired, s.runs)
			onTarget := "—"
			if res.scenario.metric != "" {
				onTarget = percent(float64(s.onTarget) / float64(max(s.runs, 1)))
			}
			med, p90, medReq, p90Req := never, never, "—", "—"
			if s.medianOK {
				med, medReq = fmt.Sprint(s.medianTick), fmt.Sprint(s.medianReq)
			}
			if s.p90OK {
				p90, p90Req = fmt.Sprint(s.p90Tick), fmt.Sprint(s.p90Req)
			}
			fmt.Fprintf(w, "| %s | %s | %s of %d | %s–%s | %s | %s | %s | %s | %s |\n",
				res.scenario.name, k.name, percent(s.rate()), s.runs, percent(lo), percent(hi),
				onTarget, med, p90, medReq, p90Req)
		}
	}
}

// Targets of the issue.
const (
	maxFalseRollbacks = 0.01 // A/A
	// errorRequestsFactor over the baseline's error rate bounds the
	// median candidate requests to roll back a 2× error rate.
	errorRequestsFactor = 12
	// minDetection is the share of runs that must roll back on the
	// regressed metric within the stage for a regression to count as
	// detected: the 80% power the error target assumes.
	minDetection = 0.8
)

func targetsTable(w io.Writer, cfg config, results []scenarioResult, kinds []judgeKind) {
	fmt.Fprintln(w, "| target | judge | value | met |")
	fmt.Fprintln(w, "|---|---|--:|:-:|")
	maxReq := int64(errorRequestsFactor / baseErrorRate)
	for j, k := range kinds {
		aa, err2 := find(results, "A/A", j), find(results, "error rate 2×", j)
		fmt.Fprintf(w, "| A/A false rollbacks ≤ %s | %s | %s | %s |\n",
			percent(maxFalseRollbacks), k.name, percent(aa.rate()), yes(aa.runs > 0 && aa.rate() <= maxFalseRollbacks))
		fmt.Fprintf(w, "| error 2×: median candidate requests to roll back ≤ %d (%d / %s) | %s | %s | %s |\n",
			maxReq, errorRequestsFactor, percent(baseErrorRate), k.name, requests(err2), yes(err2.medianOK && err2.medianReq <= maxReq))
		for _, res := range results {
			if m := res.scenario.metric; m != "" && m != "error-rate" {
				v := float64(summarize(res.outcomes[j]).onTarget) / float64(max(cfg.runs, 1))
				fmt.Fprintf(w, "| %s: rolled back on %s in ≥ %s of runs | %s | %s | %s |\n",
					res.scenario.name, m, percent(minDetection), k.name, percent(v), yes(v >= minDetection))
			}
		}
	}
	ref := slices.IndexFunc(kinds, func(k judgeKind) bool { return k.reference })
	if ref < 0 {
		return
	}
	refAA, refErr2 := find(results, "A/A", ref), find(results, "error rate 2×", ref)
	for j, k := range kinds {
		if j == ref {
			continue
		}
		aa, err2 := find(results, "A/A", j), find(results, "error rate 2×", j)
		better := aa.rate() < refAA.rate() && medianTick(err2) < medianTick(refErr2)
		fmt.Fprintf(w, "| better than %q on both A/A false rollbacks and error 2× median time | %s | %s vs %s, %s vs %s | %s |\n",
			kinds[ref].name, k.name, percent(aa.rate()), percent(refAA.rate()), seconds(err2, cfg), seconds(refErr2, cfg), yes(better))
	}
}

// medianTick is s's median time to roll back, +Inf when most runs did not.
func medianTick(s summary) float64 {
	if !s.medianOK {
		return math.Inf(1)
	}
	return float64(s.medianTick)
}

func find(results []scenarioResult, name string, j int) summary {
	for _, res := range results {
		if res.scenario.name == name {
			return summarize(res.outcomes[j])
		}
	}
	return summary{}
}

func requests(s summary) string {
	if !s.medianOK {
		return "never"
	}
	return fmt.Sprint(s.medianReq)
}

func seconds(s summary, cfg config) string {
	if !s.medianOK {
		return fmt.Sprintf("> %d s", cfg.stage)
	}
	return fmt.Sprintf("%d s", s.medianTick)
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// streamsTable shows what the simulated streams held, pooled over each
// scenario's runs (which stop once every judge has fired), against the
// parameters.
func streamsTable(w io.Writer, results []scenarioResult) {
	fmt.Fprintln(w, "| scenario | version | requests | error rate (true) | p50 ms (true) | p99 ms (true) | accuracy (true) |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|")
	for _, res := range results {
		for _, v := range []struct {
			name string
			t    *truth
			a    arm
		}{{"candidate", &res.cand, res.scenario.candidate}, {"baseline", &res.base, baseline}} {
			p50, p99 := quantileMillis(v.t, 0.5), quantileMillis(v.t, 0.99)
			fmt.Fprintf(w, "| %s | %s | %d | %.3f%% (%.3g%%) | %.1f (%.1f) | %.1f (%.1f) | %.2f%% (%.3g%%) |\n",
				res.scenario.name, v.name, v.t.requests,
				100*ratio(v.t.errors, v.t.requests), 100*v.a.errorRate,
				p50, 1000*math.Exp(v.a.mu), p99, 1000*v.a.p99(),
				100*ratio(v.t.correct, v.t.labels), 100*v.a.accuracy)
		}
	}
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

func quantileMillis(t *truth, q float64) float64 {
	if t.latency == nil || t.latency.IsEmpty() {
		return math.NaN()
	}
	v, err := t.latency.GetValueAtQuantile(q)
	if err != nil {
		return math.NaN()
	}
	return 1000 * v
}
