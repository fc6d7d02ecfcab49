package runbook

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/spec"
)

// Changes are the differences between the baseline and the candidate
// that matter to a deployment.
type Changes struct {
	// SameArtifact says the two versions have the same digest.
	SameArtifact bool
	// Format is "xgboost → onnx", empty when unchanged.
	Format string
	// SizeRatio is the candidate's artifact size over the baseline's;
	// zero when either is unknown.
	SizeRatio float64
	// Schema lists the signature's changes, such as "input amount: FP32 →
	// FP64"; SchemaUnknown says a signature is missing, so it could not be
	// compared.
	Schema        []SchemaChange
	SchemaUnknown bool
	// Metrics are the training metrics of both versions, by name.
	Metrics []MetricChange
	// Lineage lists lineage changes, such as "training data changed".
	Lineage []string
}

// SchemaChange is one difference of the signatures.
type SchemaChange struct {
	// Side is "input" or "output"; Tensor names it.
	Side, Tensor string
	// What is "missing in the candidate", "new in the candidate",
	// "FP32 → FP64" or "shape [-1] → [-1,2]".
	What string
	// Breaking says callers (inputs) or consumers (outputs) of the
	// baseline break on it.
	Breaking bool
}

func (c SchemaChange) String() string { return c.Side + " " + c.Tensor + ": " + c.What }

// MetricChange is one training metric of both versions.
type MetricChange struct {
	Name string
	// Baseline and Candidate are nil when the version lacks the metric.
	Baseline, Candidate *float64
	// Better is the direction of improvement when the name is a metric of
	// the catalogue (log_loss reads as log-loss), else EitherBetter.
	Better spec.Better
}

// Relative is the change as a fraction of the baseline's value; ok is
// false when either value is missing or the baseline is zero.
func (m MetricChange) Relative() (float64, bool) {
	if m.Baseline == nil || m.Candidate == nil || *m.Baseline == 0 {
		return 0, false
	}
	return (*m.Candidate - *m.Baseline) / math.Abs(*m.Baseline), true
}

// Worse reports whether the candidate is worse on the metric's known
// direction.
func (m MetricChange) Worse() bool {
	r, ok := m.Relative()
	switch {
	case !ok:
		return false
	case m.Better == spec.LowerBetter:
		return r > 0
	case m.Better == spec.HigherBetter:
		return r < 0
	}
	return false
}

// compare lists what changed from base to cand.
func compare(base, cand slipway.Version) Changes {
	var c Changes
	c.SameArtifact = base.Digest != "" && base.Digest == cand.Digest
	if base.Format != cand.Format {
		c.Format = fmt.Sprintf("%s → %s", base.Format, cand.Format)
	}
	if base.Size > 0 && cand.Size > 0 {
		c.SizeRatio = float64(cand.Size) / float64(base.Size)
	}
	bs, cs := base.Signature, cand.Signature
	if len(bs.Inputs) == 0 || len(cs.Inputs) == 0 {
		c.SchemaUnknown = true
	} else {
		c.Schema = append(diffTensors("input", bs.Inputs, cs.Inputs), diffTensors("output", bs.Outputs, cs.Outputs)...)
	}
	c.Metrics = compareMetrics(base.Metrics, cand.Metrics)
	if base.Lineage.DataHash != cand.Lineage.DataHash && cand.Lineage.DataHash != "" {
		c.Lineage = append(c.Lineage, "trained on different data ("+short(base.Lineage.DataHash)+" → "+short(cand.Lineage.DataHash)+")")
	}
	if cand.Lineage.Parent != "" {
		c.Lineage = append(c.Lineage, "derived from "+cand.Lineage.Parent)
	}
	return c
}

func short(h string) string {
	if h == "" {
		return "unknown"
	}
	if len(h) > 19 {
		return h[:19] + "…"
	}
	return h
}

// diffTensors compares one side of two signatures by tensor name. A
// missing or retyped input breaks the baseline's callers, as does a new
// input they do not send; a missing or retyped output breaks consumers.
func diffTensors(side string, base, cand []slipway.TensorSpec) []SchemaChange {
	var out []SchemaChange
	byName := map[string]slipway.TensorSpec{}
	for _, t := range cand {
		byName[t.Name] = t
	}
	seen := map[string]bool{}
	for _, b := range base {
		seen[b.Name] = true
		c, ok := byName[b.Name]
		switch {
		case !ok:
			out = append(out, SchemaChange{side, b.Name, "missing in the candidate", true})
		case b.Datatype != c.Datatype:
			out = append(out, SchemaChange{side, b.Name, b.Datatype + " → " + c.Datatype, true})
		case fmt.Sprint(b.Shape) != fmt.Sprint(c.Shape):
			out = append(out, SchemaChange{side, b.Name, "shape " + shape(b.Shape) + " → " + shape(c.Shape), true})
		}
	}
	for _, c := range cand {
		if !seen[c.Name] {
			out = append(out, SchemaChange{side, c.Name, "new in the candidate", side == "input"})
		}
	}
	return out
}

func shape(s []int64) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// compareMetrics pairs the training metrics of both versions by name.
func compareMetrics(base, cand map[string]float64) []MetricChange {
	names := map[string]bool{}
	for k := range base {
		names[k] = true
	}
	for k := range cand {
		names[k] = true
	}
	var out []MetricChange
	for name := range names {
		m := MetricChange{Name: name}
		if v, ok := base[name]; ok {
			m.Baseline = &v
		}
		if v, ok := cand[name]; ok {
			m.Candidate = &v
		}
		if info, ok := spec.LookupMetric(strings.ReplaceAll(strings.ToLower(name), "_", "-")); ok {
			m.Better = info.Better
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
