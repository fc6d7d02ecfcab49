package gate

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/slipway-ml/slipway"
)

// Status is a gate's outcome.
type Status string

const (
	// Pass and Fail are the outcomes of a measured gate.
	Pass Status = "PASS"
	Fail Status = "FAIL"
	// Skip marks a gate that could not be measured and does not fail the
	// run: a comparison without a baseline.
	Skip Status = "SKIP"
	// Pending marks approvals still to be given: the gate run passes,
	// the rollout waits for them.
	Pending Status = "PENDING"
)

// Check is one row of the gate table.
type Check struct {
	// Gate is the family: quality, latency, reliability, size, schema,
	// fairness, integrity or approvals.
	Gate     string `json:"gate"`
	Metric   string `json:"metric"`
	Required string `json:"required"`
	Actual   string `json:"actual"`
	Status   Status `json:"status"`
	// Reason explains a FAIL or SKIP in a sentence.
	Reason string `json:"reason,omitempty"`
}

// Comparison is one row of the comparison with the baseline.
type Comparison struct {
	Metric    string   `json:"metric"`
	Previous  *float64 `json:"previous"`
	Candidate *float64 `json:"candidate"`
	Change    string   `json:"change"`
	// Acceptable is whether the change is within the metric's limits;
	// nil when no limit bounds the change.
	Acceptable *bool `json:"acceptable"`
}

// Side is what was measured of one version.
type Side struct {
	Version string `json:"version"`
	Format  string `json:"format"`
	// Metrics are every measured metric by name (see Metrics); a metric
	// that is undefined on the holdout (AUC with one class) is absent.
	Metrics map[string]float64 `json:"metrics"`
	// Failed counts holdout rows whose prediction failed, FirstError
	// says why the first one did.
	Failed     int    `json:"failed_rows"`
	FirstError string `json:"first_error,omitempty"`
	// Problem says why the version could not be evaluated at all (a
	// holdout that does not fit its inputs); "" when it was.
	Problem string `json:"problem,omitempty"`
	Speed   *Speed `json:"speed,omitempty"`
}

func (s *Side) metric(name string) (float64, bool) {
	if s == nil || s.Metrics == nil {
		return 0, false
	}
	x, ok := s.Metrics[name]
	return x, ok && !math.IsNaN(x)
}

// Report is a gate run's result as it is printed and stored on the
// candidate version.
type Report struct {
	Model     string `json:"model"`
	Candidate Side   `json:"candidate"`
	// Baseline is nil when the model had no version to compare with.
	Baseline *Side  `json:"baseline,omitempty"`
	Task     string `json:"task"`
	// Data names the holdout; Rows counts its rows.
	Data       string          `json:"data"`
	Rows       int             `json:"rows"`
	Config     Config          `json:"config"`
	Checks     []Check         `json:"checks"`
	Comparison []Comparison    `json:"comparison"`
	Schema     []InputChange   `json:"schema_changes"`
	Integrity  Integrity       `json:"integrity"`
	Fairness   *FairnessResult `json:"fairness,omitempty"`
	// Passed reports that no check failed (pending approvals do not fail
	// a run).
	Passed    bool      `json:"passed"`
	StartedAt time.Time `json:"started_at"`
	Seconds   float64   `json:"seconds"`
}

// Failed returns the checks that failed.
func (r Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == Fail {
			out = append(out, c)
		}
	}
	return out
}

// gateOf names the family of a metric's gate.
func gateOf(metric string) string {
	switch metric {
	case MetricLatencyP50, MetricLatencyP99, MetricThroughput:
		return "performance"
	case MetricErrorRate:
		return "reliability"
	case MetricSize:
		return "size"
	}
	return "quality"
}

// evaluate turns measurements into the gate table and the comparison.
func evaluate(r *Report, approved []string) {
	cfg := r.Config
	for _, l := range cfg.Limits {
		r.Checks = append(r.Checks, limitChecks(l, &r.Candidate, r.Baseline)...)
	}
	if r.Fairness != nil {
		r.Checks = append(r.Checks, fairnessChecks(*cfg.Fairness, *r.Fairness)...)
	}
	r.Checks = append(r.Checks, schemaCheck(cfg.Schema, r.Schema, r.Baseline))
	r.Checks = append(r.Checks, integrityChecks(r.Integrity, cfg.Formats, r.Candidate.Format)...)
	for _, role := range cfg.Approvals {
		c := Check{Gate: "approvals", Metric: role, Required: "approved", Actual: "not yet", Status: Pending,
			Reason: fmt.Sprintf("slipway approve %s@%s --role %s", r.Model, r.Candidate.Version, role)}
		if slices.Contains(approved, role) {
			c.Actual, c.Status, c.Reason = "approved", Pass, ""
		}
		r.Checks = append(r.Checks, c)
	}
	r.Passed = len(r.Failed()) == 0
	r.Comparison = compare(cfg, &r.Candidate, r.Baseline)
}

func limitChecks(l Limit, cand, base *Side) []Check {
	info := metrics[l.Metric]
	gate := gateOf(l.Metric)
	actual, ok := cand.metric(l.Metric)
	shown := "n/a"
	if ok {
		shown = format(info.unit, actual)
	}
	var out []Check
	bound := func(required string, pass bool) {
		c := Check{Gate: gate, Metric: l.Metric, Required: required, Actual: shown, Status: Pass}
		switch {
		case !ok:
			c.Status, c.Reason = Fail, unmeasured(cand, l.Metric)
		case !pass:
			c.Status = Fail
		}
		out = append(out, c)
	}
	if l.Min != nil {
		bound("≥ "+format(info.unit, *l.Min), actual >= *l.Min)
	}
	if l.Max != nil {
		bound("≤ "+format(info.unit, *l.Max), actual <= *l.Max)
	}
	for _, d := range []struct {
		delta *Delta
		sign  float64
		word  string
	}{{l.MaxDecrease, -1, "decrease"}, {l.MaxIncrease, 1, "increase"}} {
		if d.delta == nil {
			continue
		}
		prev, hasPrev := base.metric(l.Metric)
		if !hasPrev {
			c := Check{Gate: gate, Metric: l.Metric + " vs baseline", Required: "max " + d.word + " " + describeDelta(info.unit, *d.delta), Actual: shown, Status: Skip,
				Reason: "no baseline value to compare with"}
			if base != nil && base.Problem != "" {
				c.Reason = "the baseline could not be evaluated: " + base.Problem
			}
			out = append(out, c)
			continue
		}
		edge := prev + d.sign*d.delta.allowed(prev)
		op, pass := "≥", actual >= edge-1e-12
		if d.sign > 0 {
			op, pass = "≤", actual <= edge+1e-12
		}
		c := Check{Gate: gate, Metric: l.Metric + " vs baseline",
			Required: fmt.Sprintf("%s %s (baseline %s, max %s %s)", op, format(info.unit, edge), format(info.unit, prev), d.word, describeDelta(info.unit, *d.delta)),
			Actual:   shown, Status: Pass}
		if !ok {
			c.Status, c.Reason = Fail, unmeasured(cand, l.Metric)
		} else if !pass {
			c.Status = Fail
		}
		out = append(out, c)
	}
	return out
}

func unmeasured(s *Side, metric string) string {
	if s.Problem != "" {
		return s.Problem
	}
	return fmt.Sprintf("%s could not be measured on this holdout", metric)
}

func fairnessChecks(f Fairness, res FairnessResult) []Check {
	out := []Check{gapCheck(f, res)}
	if len(res.Groups) < 2 {
		out[0].Status, out[0].Reason = Fail, fmt.Sprintf("column %s has %d group(s): nothing to compare", f.Group, len(res.Groups))
	}
	add := func(name string, limit, value *float64) {
		if limit == nil {
			return
		}
		c := Check{Gate: "fairness", Metric: name + " across " + f.Group, Required: "≤ " + format(fraction, *limit), Actual: "n/a", Status: Fail,
			Reason: "defined for binary classifiers only"}
		if value != nil {
			c.Actual, c.Status, c.Reason = format(fraction, *value), statusOf(*value <= *limit), ""
		}
		out = append(out, c)
	}
	add("demographic parity difference", f.MaxParityGap, res.ParityDifference)
	add("equal opportunity difference", f.MaxOpportunityGap, res.OpportunityDifference)
	return out
}

// gapCheck judges the metric's gap across groups against MaxGap, raised
// to the chance gap when AboveChance asks for it. A failure says whether
// chance could explain the gap, so that a small holdout is not mistaken
// for an unfair model.
func gapCheck(f Fairness, res FairnessResult) Check {
	limit := f.MaxGap
	required := "≤ " + format(fraction, limit)
	if f.AboveChance {
		limit = max(limit, res.NoiseGap)
		required = fmt.Sprintf("≤ max(%s, chance %s)", format(fraction, f.MaxGap), format(fraction, res.NoiseGap))
	}
	c := Check{Gate: "fairness", Metric: fmt.Sprintf("%s gap across %s", f.Metric, f.Group),
		Required: required, Actual: format(fraction, res.MetricGap), Status: statusOf(res.MetricGap <= limit)}
	if c.Status == Fail && res.Shuffles > 0 {
		if res.MetricGap <= res.NoiseGap {
			c.Reason = fmt.Sprintf("above the limit, but groups drawn at random reach a gap of %s one time in twenty (p = %.3g): the holdout may be too small to tell",
				format(fraction, res.NoiseGap), res.PValue)
		} else {
			c.Reason = fmt.Sprintf("groups drawn at random reach %s one time in twenty; a gap of %s is unlikely to be chance (p = %.3g)",
				format(fraction, res.NoiseGap), format(fraction, res.MetricGap), res.PValue)
		}
	}
	return c
}

func schemaCheck(mode Schema, changes []InputChange, base *Side) Check {
	c := Check{Gate: "schema", Metric: "inputs vs baseline", Required: "no missing, extra, renamed or retyped inputs", Status: Pass, Actual: "identical"}
	if mode == SchemaAny {
		c.Required = "any (reported only)"
	}
	if base == nil {
		c.Actual, c.Status, c.Reason = "n/a", Skip, "no baseline to compare with"
		return c
	}
	if len(changes) > 0 {
		s := make([]string, len(changes))
		for i, ch := range changes {
			s[i] = ch.String()
		}
		c.Actual = strings.Join(s, "; ")
		if mode != SchemaAny {
			c.Status = Fail
		}
	}
	return c
}

func integrityChecks(in Integrity, allowed []slipway.Format, format string) []Check {
	digest := Check{Gate: "integrity", Metric: "artifact digest", Required: "matches the registry", Actual: "verified", Status: Pass}
	switch {
	case in.Digest == "" && in.Verified:
		digest.Actual = "remote: no artifact"
	case !in.Verified:
		digest.Actual, digest.Status, digest.Reason = "mismatch", Fail, in.Problem
	}
	formatCheck := Check{Gate: "integrity", Metric: "format", Required: "one of " + formatList(allowed), Actual: format, Status: statusOf(in.FormatAllowed)}
	return []Check{digest, formatCheck}
}

func statusOf(pass bool) Status {
	if pass {
		return Pass
	}
	return Fail
}

// compare lists every metric measured on either side.
func compare(cfg Config, cand, base *Side) []Comparison {
	var out []Comparison
	for _, name := range Metrics() {
		c, okC := cand.metric(name)
		p, okP := base.metric(name)
		if !okC && !okP {
			continue
		}
		row := Comparison{Metric: name, Change: "-"}
		if okC {
			row.Candidate = &c
		}
		if okP {
			row.Previous = &p
		}
		if okC && okP {
			row.Change = describeChange(metrics[name].unit, p, c)
			for _, l := range cfg.Limits {
				if l.Metric == name && (l.MaxDecrease != nil || l.MaxIncrease != nil) {
					ok := true
					if l.MaxDecrease != nil {
						ok = ok && c >= p-l.MaxDecrease.allowed(p)-1e-12
					}
					if l.MaxIncrease != nil {
						ok = ok && c <= p+l.MaxIncrease.allowed(p)+1e-12
					}
					row.Acceptable = &ok
				}
			}
		}
		out = append(out, row)
	}
	return out
}
