package experiment

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/stats"
)

func binaryArm(name string, share float64, users, ones int64) Arm {
	return Arm{Name: name, Share: share, Assigned: users, Values: stats.Moments{N: users, Sum: float64(ones)}}
}

// TestBadInput: every kind of bad input gives an error that wraps
// ErrInvalid and names the field (and arm) that is wrong.
func TestBadInput(t *testing.T) {
	good := func() []Arm {
		return []Arm{binaryArm("v1", 0.5, 1000, 50), binaryArm("v2", 0.5, 1000, 60)}
	}
	cases := []struct {
		name    string
		arms    func() []Arm
		opt     Options
		elapsed time.Duration
		want    []string
	}{
		{"one arm", func() []Arm { return good()[:1] }, Options{}, 0, []string{"1 arms", "at least one challenger"}},
		{"no arms", func() []Arm { return nil }, Options{}, 0, []string{"0 arms"}},
		{"negative assigned", func() []Arm { a := good(); a[1].Assigned = -3; return a }, Options{}, 0,
			[]string{`arms[1] ("v2").assigned -3`, "negative"}},
		{"negative count", func() []Arm { a := good(); a[0].Values.N = -1; a[0].Values.Sum = 0; return a }, Options{}, 0,
			[]string{`arms[0] ("v1").values.n -1`}},
		{"more ones than observations", func() []Arm { a := good(); a[1].Values.Sum = 1001; return a }, Options{}, 0,
			[]string{`arms[1] ("v2").values.sum 1001`, "whole number in [0, n = 1000]"}},
		{"fractional ones", func() []Arm { a := good(); a[1].Values.Sum = 6.5; return a }, Options{}, 0,
			[]string{`arms[1] ("v2").values.sum 6.5`}},
		{"negative sum of squares", func() []Arm { a := good(); a[0].Values.SumSq = -1; return a },
			Options{Metric: Metric{Kind: Continuous}}, 0, []string{`arms[0] ("v1").values.sumSq -1`}},
		{"infinite sum", func() []Arm { a := good(); a[0].Values.Sum = math.Inf(1); return a },
			Options{Metric: Metric{Kind: Continuous}}, 0, []string{`arms[0] ("v1").values.sum +Inf`, "finite"}},
		{"shares not summing to 1", func() []Arm { a := good(); a[1].Share = 0.4; return a }, Options{}, 0,
			[]string{"arms[*].share", "sum to 0.9", "must sum to 1"}},
		{"zero share", func() []Arm { a := good(); a[0].Share = 0; a[1].Share = 1; return a }, Options{}, 0,
			[]string{"arms[0].share 0", "arms[1].share 1", "(0, 1)"}},
		{"duplicate names", func() []Arm { a := good(); a[1].Name = "v1"; return a }, Options{}, 0,
			[]string{`arms[1] ("v1").name: duplicates arms[0]`}},
		{"empty name", func() []Arm { a := good(); a[0].Name = ""; return a }, Options{}, 0, []string{"arms[0].name: empty"}},
		{"bad alpha", good, Options{Alpha: 1.5}, 0, []string{"options.alpha 1.5"}},
		{"bad tau2", good, Options{Tau2: -1}, 0, []string{"options.tau2 -1"}},
		{"negative minimums", good, Options{MinSamples: -1, MinDuration: -time.Second}, 0,
			[]string{"options.minSamples -1", "options.minDuration -1s"}},
		{"bad kind", good, Options{Metric: Metric{Kind: 7}}, 0, []string{"options.metric.kind Kind(7)"}},
		{"negative elapsed", good, Options{}, -time.Minute, []string{"elapsed -1m0s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Analyze(c.arms(), c.elapsed, c.opt)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %q does not wrap ErrInvalid", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestCheckSRMBadInput(t *testing.T) {
	cases := []struct {
		name      string
		assigned  []int64
		shares    []float64
		threshold float64
		want      string
	}{
		{"mismatched shares", []int64{10, 10, 10}, []float64{0.5, 0.5}, 0, "3 assigned counts for 2 shares"},
		{"one arm", []int64{10}, []float64{1}, 0, "1 arms"},
		{"negative count", []int64{10, -1}, []float64{0.5, 0.5}, 0, "arms[1].assigned -1"},
		{"shares off", []int64{10, 10}, []float64{0.6, 0.6}, 0, "sum to 1.2"},
		{"threshold", []int64{10, 10}, []float64{0.5, 0.5}, 2, "srm threshold 2"},
	}
	for _, c := range cases {
		_, err := CheckSRM(c.assigned, c.shares, c.threshold, "")
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one wrapping ErrInvalid that says %q", c.name, err, c.want)
		}
	}
}

// TestSentences checks the sentences people read, for input whose
// numbers reference_test.go checks against scipy.
func TestSentences(t *testing.T) {
	arms := []Arm{binaryArm("control", 0.5, 20600, 1010), binaryArm("v2", 0.5, 20600, 1112)}
	r, err := Analyze(arms, 48*time.Hour, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"control converts 4.9% over 20,600 users: control",
		"v2 converts 5.4% vs 4.9% control (+10.1%, 95% CI -4.2% to +26.6%, always-valid p=0.79) over 41,200 users: no significant difference yet",
	}
	for i, w := range want {
		if r.Arms[i].Summary != w {
			t.Errorf("arm %d:\n got %q\nwant %q", i, r.Arms[i].Summary, w)
		}
	}
	if w := "continue: no challenger is significantly better than the control yet"; r.Summary != w {
		t.Errorf("summary %q, want %q", r.Summary, w)
	}

	// Three arms: the level is split, and the winner must beat both.
	arms = []Arm{binaryArm("v1", 1.0/3, 40000, 2000), binaryArm("v2", 1.0/3, 40000, 2010), binaryArm("v3", 1.0/3, 40000, 2600)}
	r, err = Analyze(arms, 48*time.Hour, Options{Metric: Metric{Name: "converts"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Decision != Winner || r.Winner != 2 {
		t.Fatalf("decision %v winner %d, want v3 to win: %s", r.Decision, r.Winner, r.Summary)
	}
	for _, w := range []string{"v3 converts 6.5% vs 5% v1 (+30.0%, 97.5% CI +", "over 80,000 users: winner"} {
		if !strings.Contains(r.Arms[2].Summary, w) {
			t.Errorf("winner's sentence %q does not say %q", r.Arms[2].Summary, w)
		}
	}
	if w := "v3 wins: converts 6.5% vs 5% v1 (+30.0%), significantly better than the control and every other challenger"; r.Summary != w {
		t.Errorf("summary %q, want %q", r.Summary, w)
	}
	if !strings.HasSuffix(r.Arms[1].Summary, "no significant difference yet") {
		t.Errorf("v2's sentence %q", r.Arms[1].Summary)
	}
	if !(r.Arms[2].ProbBest > 0.999) || !(r.Arms[0].ProbBest < 0.001) {
		t.Errorf("chances to be best %v, %v, %v: v3 is far ahead", r.Arms[0].ProbBest, r.Arms[1].ProbBest, r.Arms[2].ProbBest)
	}
}

func TestSRMSentence(t *testing.T) {
	s, err := CheckSRM([]int64{10460, 9540}, []float64{0.5, 0.5}, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if w := "split 50/50 expected, saw 52.3/47.7 over 20,000 users: p=7.7e-11, the split is broken"; s.Summary != w || !s.Mismatch {
		t.Errorf("summary %q (mismatch %v), want %q", s.Summary, s.Mismatch, w)
	}
	s, err = CheckSRM([]int64{3350, 3320, 3330}, []float64{0.333, 0.333, 0.334}, 0, "requests")
	if err != nil {
		t.Fatal(err)
	}
	if w := "split 33.3/33.3/33.4 expected, saw 33.5/33.2/33.3 over 10,000 requests: p=0.91, consistent with it"; s.Summary != w || s.Mismatch {
		t.Errorf("summary %q (mismatch %v), want %q", s.Summary, s.Mismatch, w)
	}
	s, err = CheckSRM([]int64{0, 0}, []float64{0.9, 0.1}, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if w := "split 90/10 expected, no users assigned yet"; s.Summary != w || s.Mismatch || s.PValue != 1 {
		t.Errorf("summary %q, want %q", s.Summary, w)
	}
	// The first dozen requests of a test, all on one arm: too few to
	// judge; twenty per arm expected, and the same split is broken.
	s, err = CheckSRM([]int64{12, 0}, []float64{0.5, 0.5}, 0, "requests")
	if err != nil {
		t.Fatal(err)
	}
	if w := "split 50/50 expected, saw 100.0/0.0 over 12 requests: p=0.00053, too few requests to judge it yet"; s.Summary != w || s.Mismatch {
		t.Errorf("summary %q (mismatch %v), want %q", s.Summary, s.Mismatch, w)
	}
	s, err = CheckSRM([]int64{40, 0}, []float64{0.5, 0.5}, 0, "requests")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Mismatch || !strings.HasSuffix(s.Summary, "the split is broken") {
		t.Errorf("40 requests all on one arm: %q (mismatch %v), want broken", s.Summary, s.Mismatch)
	}
	// 90/10 expects 20 on the small arm only from 200 units on.
	s, _ = CheckSRM([]int64{190, 0}, []float64{0.9, 0.1}, 0, "requests")
	if s.Mismatch {
		t.Errorf("190 requests, 19 expected on the small arm: flagged %q", s.Summary)
	}
}

// TestBrokenSplitDecidesNothing: a clear winner is not declared while
// the split is broken.
func TestBrokenSplitDecidesNothing(t *testing.T) {
	arms := []Arm{binaryArm("v1", 0.5, 30000, 1500), binaryArm("v2", 0.5, 33000, 2300)}
	r, err := Analyze(arms, time.Hour, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Decision != SampleRatioMismatch || r.Winner != -1 || r.Arms[1].Verdict != Better {
		t.Errorf("decision %v, winner %d, v2 %v; want a mismatch, no winner, v2 better", r.Decision, r.Winner, r.Arms[1].Verdict)
	}
	if !strings.Contains(r.Summary, "the split is broken; nothing is decided until it is fixed") {
		t.Errorf("summary %q", r.Summary)
	}
}

// TestKeepControlAndLowerIsBetter: when every challenger is worse the
// control is kept; with LowerIsBetter the direction flips.
func TestKeepControlAndLowerIsBetter(t *testing.T) {
	arms := []Arm{binaryArm("v1", 0.5, 50000, 2500), binaryArm("v2", 0.5, 50000, 1900)}
	r, err := Analyze(arms, time.Hour, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Decision != KeepControl || r.Arms[1].Verdict != Worse {
		t.Errorf("conversion down 24%%: decision %v, verdict %v; want keep-control, worse", r.Decision, r.Arms[1].Verdict)
	}
	if r.Arms[0].ProbBest < 0.999 {
		t.Errorf("control's chance to be best %v", r.Arms[0].ProbBest)
	}
	r, err = Analyze(arms, time.Hour, Options{Metric: Metric{Name: "churns", LowerIsBetter: true}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Decision != Winner || r.Winner != 1 || r.Arms[1].ProbBest < 0.999 {
		t.Errorf("churn down 24%%: decision %v, winner %d, chance %v; want v2 to win", r.Decision, r.Winner, r.Arms[1].ProbBest)
	}
}

// TestContinuousMetric compares revenue per user, including a control
// with a negative mean, where the relative lift is taken against its
// magnitude.
func TestContinuousMetric(t *testing.T) {
	rev := func(name string, n int64, mean, sd float64) Arm {
		v := stats.Moments{N: n, Sum: mean * float64(n), SumSq: (sd*sd*float64(n-1) + mean*mean*float64(n))}
		return Arm{Name: name, Share: 0.5, Assigned: n, Values: v}
	}
	opt := Options{Metric: Metric{Name: "spends", Kind: Continuous}}
	r, err := Analyze([]Arm{rev("v1", 20000, 10, 12), rev("v2", 20000, 11, 12)}, time.Hour, opt)
	if err != nil {
		t.Fatal(err)
	}
	c := r.Arms[1].VsControl
	if r.Decision != Winner || math.Abs(c.Relative-0.1) > 1e-12 || !(c.RelLower > 0 && c.RelUpper > 0.1) {
		t.Errorf("revenue +10%%: decision %v, lift %v [%v, %v]", r.Decision, c.Relative, c.RelLower, c.RelUpper)
	}
	// Profit −10 against −11: one higher, so +10% of |−10|.
	r, err = Analyze([]Arm{rev("v1", 20000, -10, 12), rev("v2", 20000, -9, 12)}, time.Hour, opt)
	if err != nil {
		t.Fatal(err)
	}
	c = r.Arms[1].VsControl
	if r.Winner != 1 || math.Abs(c.Relative-0.1) > 1e-12 || !(c.RelLower > 0 && c.RelLower < 0.1 && c.RelUpper > 0.1) {
		t.Errorf("loss shrinks by 10%%: winner %d, lift %v [%v, %v]", r.Winner, c.Relative, c.RelLower, c.RelUpper)
	}
	// One observation per arm: no variance, no information.
	r, err = Analyze([]Arm{rev("v1", 1, 10, 0), rev("v2", 1, 11, 0)}, time.Hour, opt)
	if err != nil {
		t.Fatal(err)
	}
	if r.Arms[1].VsControl.PValue != 1 || r.Arms[0].ProbBest != 0.5 || !strings.Contains(r.Arms[1].Summary, "CI unbounded yet") {
		t.Errorf("one value each: p %v, chance %v, %q", r.Arms[1].VsControl.PValue, r.Arms[0].ProbBest, r.Arms[1].Summary)
	}
}

func TestGuardrail(t *testing.T) {
	g := Guardrail{Metric: Metric{Name: "errors", LowerIsBetter: true}, MaxDegradation: 0.1}
	cases := []struct {
		name       string
		ctl, cand  int64 // errors in 100,000 requests each
		want       GuardrailState
		inSentence string
	}{
		{"errors up 50%", 1000, 1500, Breached, "v2 errors 1.5% vs 1% v1 (+50.0% worse, 95% CI +"},
		{"errors flat", 1000, 1000, Watching, ": watching (allowed 10% worse)"},
		{"errors down 30%", 1000, 700, Held, "(+30.0% better, 95% CI"},
	}
	for _, c := range cases {
		arms := []Arm{binaryArm("v1", 0.5, 100000, c.ctl), binaryArm("v2", 0.5, 100000, c.cand)}
		res, err := CheckGuardrail(arms, g)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 1 || res[0].State != c.want || !strings.Contains(res[0].Summary, c.inSentence) {
			t.Errorf("%s: %v %q, want %v saying %q", c.name, res[0].State, res[0].Summary, c.want, c.inSentence)
		}
	}
	// Higher is better: revenue down 20% breaches a 5% allowance.
	rg := Guardrail{Metric: Metric{Name: "converts"}, MaxDegradation: 0.05}
	res, err := CheckGuardrail([]Arm{binaryArm("v1", 0.5, 50000, 5000), binaryArm("v2", 0.5, 50000, 4000)}, rg)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].State != Breached || math.Abs(res[0].Degradation-0.2) > 1e-12 || !(res[0].Lower > 0.05) {
		t.Errorf("conversion down 20%%: %v, degradation %v [%v, %v]", res[0].State, res[0].Degradation, res[0].Lower, res[0].Upper)
	}
	if _, err := CheckGuardrail(nil, g); !errors.Is(err, ErrInvalid) {
		t.Errorf("no arms: error %v", err)
	}
	g.MaxDegradation = -0.1
	if _, err := CheckGuardrail([]Arm{binaryArm("v1", 0.5, 10, 1), binaryArm("v2", 0.5, 10, 1)}, g); err == nil ||
		!strings.Contains(err.Error(), "guardrail.maxDegradation -0.1") {
		t.Errorf("negative allowance: error %v", err)
	}
}

func TestStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Continue.String(), "continue"}, {Waiting.String(), "waiting"}, {Winner.String(), "winner"},
		{KeepControl.String(), "keep-control"}, {SampleRatioMismatch.String(), "sample-ratio-mismatch"},
		{Decision(9).String(), "Decision(9)"}, {Won.String(), "winner"}, {Verdict(9).String(), "Verdict(9)"},
		{Binary.String(), "binary"}, {Continuous.String(), "continuous"},
		{Breached.String(), "breached"}, {Held.String(), "held"}, {Watching.String(), "watching"},
		{formatCount(1234567), "1,234,567"}, {formatCount(999), "999"}, {formatCount(-1000), "-1,000"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
