package gate

import (
	"errors"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/spec"
)

func TestParseSpecGates(t *testing.T) {
	s, err := spec.Parse([]byte(`deployment:
  model: fraud
  version: 2.0.0
  stages: [{weight: 10, duration: 1m}]
  gates:
    label: is_fraud
    accuracy: {min: 0.9}
    auc: {min: 85%, maxDecrease: 1%}
    latency-p99: {max: 20ms, maxIncrease: 10%}
    size: {max: 10MB}
    fairness: {group: region, metric: recall, maxGap: 0.1}
    approvals: [ml-lead]
`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(s.Deployment.Gates)
	if err != nil {
		t.Fatal(err)
	}
	c.Defaults(TaskBinary)
	get := func(m string) Limit {
		for _, l := range c.Limits {
			if l.Metric == m {
				return l
			}
		}
		t.Fatalf("no limit on %s in %+v", m, c.Limits)
		return Limit{}
	}
	if l := get(MetricAUC); *l.Min != 0.85 || *l.MaxDecrease != (Delta{Value: 0.01}) || l.Default {
		t.Errorf("auc = %+v", l)
	}
	if l := get(MetricLatencyP99); *l.Max != 20 || *l.MaxIncrease != (Delta{Value: 0.1, Relative: true}) {
		t.Errorf("latency-p99 = %+v %+v", *l.Max, *l.MaxIncrease)
	}
	if l := get(MetricSize); *l.Max != 10e6 {
		t.Errorf("size max = %v", *l.Max)
	}
	if l := get(MetricErrorRate); *l.Max != 0 || !l.Default {
		t.Errorf("default error-rate = %+v", l)
	}
	if c.Label != "is_fraud" || c.Fairness.Group != "region" || c.Fairness.MaxGap != 0.1 || len(c.Approvals) != 1 || c.Primary != MetricAUC {
		t.Errorf("config = %+v", c)
	}
}

func TestParseRefusesBadGates(t *testing.T) {
	for _, c := range []struct {
		name    string
		section map[string]any
		want    []string
	}{
		{"unknown metric", map[string]any{"acuracy": map[string]any{"min": 0.9}},
			[]string{"deployment.gates.acuracy", `unknown gate "acuracy"`, "accuracy, auc, calibration-error", "latency-p99"}},
		{"unknown bound", map[string]any{"auc": map[string]any{"minimum": 0.9}}, []string{"deployment.gates.auc.minimum", "unknown field"}},
		{"fraction above 1", map[string]any{"accuracy": map[string]any{"min": 90}}, []string{"deployment.gates.accuracy.min", "above 1"}},
		{"bad duration", map[string]any{"latency-p99": map[string]any{"max": "fast"}}, []string{"deployment.gates.latency-p99.max", "20ms"}},
		{"min above max", map[string]any{"recall": map[string]any{"min": 0.9, "max": 0.5}}, []string{"min 0.9 is above max 0.5"}},
		{"fairness without group", map[string]any{"fairness": map[string]any{"maxGap": 0.1}}, []string{"deployment.gates.fairness.group", "required"}},
		{"fairness metric unknown", map[string]any{"fairness": map[string]any{"group": "g", "metric": "latency-p99"}}, []string{"fairness.metric", "unknown quality metric"}},
		{"unknown format", map[string]any{"formats": []any{"pickle"}}, []string{"deployment.gates.formats[0]", "pickle"}},
		{"approvals not a list", map[string]any{"approvals": "ml-lead"}, []string{"deployment.gates.approvals", "list"}},
		{"two problems", map[string]any{"zzz": 1, "task": "ranking"}, []string{`unknown gate "zzz"`, `unknown task "ranking"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.section)
			if !errors.Is(err, slipway.ErrInvalid) {
				t.Fatalf("error %v, want one matching ErrInvalid", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestFlags(t *testing.T) {
	var c Config
	for _, f := range [][2]string{{"min", "accuracy=0.9"}, {"max", "latency-p99=5ms"}, {"max-decrease", "auc=2%"}} {
		if err := c.Flag(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.Limits) != 3 || *c.Limits[1].Max != 5 || c.Limits[2].MaxDecrease.Value != 0.02 {
		t.Fatalf("limits = %+v", c.Limits)
	}
	err := c.Flag("min", "acc=0.9")
	if err == nil || !strings.Contains(err.Error(), `unknown metric "acc"`) || !strings.Contains(err.Error(), "accuracy") {
		t.Errorf("unknown metric flag: %v", err)
	}
	if err := c.Flag("min", "accuracy"); err == nil || !strings.Contains(err.Error(), "METRIC=VALUE") {
		t.Errorf("flag without value: %v", err)
	}
}

func TestCompareInputs(t *testing.T) {
	f := func(name, dt string, shape ...int64) slipway.TensorSpec {
		return slipway.TensorSpec{Name: name, Datatype: dt, Shape: shape}
	}
	base := slipway.Signature{Inputs: []slipway.TensorSpec{f("amount", "FP32", -1), f("hour", "FP32", -1), f("country", "BYTES", -1), f("age", "FP32", -1)}}
	cand := slipway.Signature{Inputs: []slipway.TensorSpec{f("amount", "FP64", -1), f("hour_of_day", "FP32", -1), f("device", "BYTES", -1, 2)}}
	got := CompareInputs(base, cand)
	want := []string{"amount retyped from FP32[-1] to FP64[-1]", "hour renamed to hour_of_day", "country missing", "age missing", "device extra"}
	if len(got) != len(want) {
		t.Fatalf("changes = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("change %d = %q, want %q", i, got[i], want[i])
		}
	}
	if len(CompareInputs(base, base)) != 0 {
		t.Error("identical signatures differ")
	}
}
