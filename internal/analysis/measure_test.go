package analysis

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/runtime"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

// evidenceOf records a little of everything for versions "1" and "2" of
// model "m" and gathers it, "2" shadowing "1" when shadow is set.
func evidenceOf(t *testing.T, shadow bool) Evidence {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	rec := telemetry.New(telemetry.Config{Now: func() time.Time { return now }})
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range 300 {
		for _, v := range []string{"1", "2"} {
			id := v + "-" + strconv.Itoa(i)
			p := rng.Float64()
			rec.Record(telemetry.Observation{Model: "m", Version: v, RequestID: id, Latency: time.Duration(1+rng.IntN(9)) * time.Millisecond,
				Inputs: []runtime.Tensor{
					{Name: "amount", Datatype: runtime.FP64, Shape: []int64{1}, Data: []float64{100 * rng.NormFloat64()}},
					{Name: "hour", Datatype: runtime.FP64, Shape: []int64{1}, Data: []float64{float64(rng.IntN(24))}},
				},
				Outputs: []runtime.Tensor{{Name: "p", Datatype: runtime.FP64, Shape: []int64{1, 2}, Data: []float64{1 - p, p}}}})
			label := float64(rng.IntN(2))
			if _, err := rec.Feedback("m", telemetry.Feedback{ID: id, Label: &label, Values: map[string]float64{"revenue": rng.Float64()}}); err != nil {
				t.Fatal(err)
			}
		}
		rec.Compare("m", "1", "2", nil, nil, time.Millisecond, 2*time.Millisecond, nil)
		o := []runtime.Tensor{{Name: "s", Datatype: runtime.FP64, Shape: []int64{1}, Data: []float64{rng.Float64()}}}
		rec.Compare("m", "1", "2", o, o, time.Millisecond, 2*time.Millisecond, nil)
	}
	now = now.Add(time.Minute)
	j := Judge{Source: rec}
	return j.Gather(Query{Model: "m", Candidate: "2", Baseline: "1", Window: 5 * time.Minute, Shadow: shadow})
}

// TestMeasuresDoNotAllocate: measuring any metric, with its baseline,
// reads the gathered telemetry in place; only the verdict's text
// allocates.
func TestMeasuresDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, shadow := range []bool{false, true} {
		e := evidenceOf(t, shadow)
		for _, info := range spec.Metrics() {
			name := strings.Replace(info.Name, "NAME", "revenue", 1)
			tg := target{name: name, minSamples: 100, needBase: true}
			ms := e.measure(tg)
			if !ms.cand.ok && !ms.cand.hard {
				t.Errorf("%s (shadow %v): no value: %s", name, shadow, ms.cand.why)
			}
			if allocs := testing.AllocsPerRun(20, func() { _ = e.measure(tg) }); allocs != 0 {
				t.Errorf("%s (shadow %v): %v allocations", name, shadow, allocs)
			}
		}
	}
}

// quantileCodes finds the bins GetValueAtQuantile does, in one pass for
// non-negative values and rank by rank with negative ones.
func TestQuantileCodes(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, tc := range []struct {
		name string
		gen  func() float64
	}{
		{"positive", func() float64 { return rng.ExpFloat64() }},
		{"with zeros", func() float64 { return float64(rng.IntN(3)) * rng.Float64() }},
		{"mixed signs", func() float64 { return rng.NormFloat64() }},
	} {
		values := make([]float64, 1000)
		for i := range values {
			values[i] = tc.gen()
		}
		sk := sketchOf(t, values...)
		probs := make([]float64, 101)
		for i := range probs {
			probs[i] = float64(i) / 100
		}
		codes := make([]code, len(probs))
		quantileCodes(sk, probs, codes)
		for i, p := range probs {
			want, _ := sk.GetValueAtQuantile(p)
			if got := valueOf(sk, codes[i]); got != want {
				t.Errorf("%s: quantile %v: bin value %v, want %v", tc.name, p, got, want)
			}
			if i > 0 && codes[i] < codes[i-1] {
				t.Errorf("%s: codes decrease at quantile %v", tc.name, p)
			}
		}
	}
}

// valueOf is the value of the bin a code names.
func valueOf(sk interface{ Value(int) float64 }, c code) float64 {
	switch {
	case c > zeroCode:
		return sk.Value(int(c - signOffset))
	case c < zeroCode:
		return -sk.Value(int(-c - signOffset))
	}
	return 0
}
