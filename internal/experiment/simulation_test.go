package experiment

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/stats"
)

// The simulations below are seeded, so each run is the same every time;
// they check the statistics as the controller will use them: Analyze's
// decision taken at every tick. They call assess, which is Analyze
// without the chances to be best and the sentences (which the decision
// does not use), to keep 100,000 looks per test within seconds;
// TestAssessIsAnalyze checks that the two decide alike.

// runs is the number of simulated experiments per test: fewer under the
// race detector, which slows this arithmetic about tenfold, and with
// -short.
func runs(full int) int {
	switch {
	case testing.Short():
		return full / 10
	case raceEnabled:
		return full / 10
	}
	return full
}

// world is a simulated experiment: users arrive, are assigned to arm i
// with probability assign[i], and convert with probability rate[i] (or,
// for a Continuous metric, spend a log-normal amount with median
// rate[i]).
type world struct {
	rate    []float64
	assign  []float64 // true assignment probabilities; nil means the configured shares
	shares  []float64 // configured shares
	kind    Kind
	perTick int // users per tick over all arms
	ticks   int
}

// equalWorld has k arms with equal shares, 200 users per arm per tick
// and 100 ticks: about 20,000 users per arm at the end.
func equalWorld(rates ...float64) world {
	k := len(rates)
	shares := make([]float64, k)
	for i := range shares {
		shares[i] = 1 / float64(k)
	}
	return world{rate: rates, shares: shares, perTick: 200 * k, ticks: 100}
}

// outcome is what one simulated experiment did.
type outcome struct {
	decision Decision // the first of Winner or KeepControl, else Continue
	winner   int
	tick     int   // the tick it was taken at (1-based)
	perArm   int64 // the smallest arm's users then
	anySig   bool  // some challenger was ever Better or Worse
	anySRM   bool  // the split was ever flagged
	srmLooks int   // looks at which the split was flagged
}

func (w world) arms() []Arm {
	arms := make([]Arm, len(w.rate))
	for i := range arms {
		arms[i] = Arm{Name: fmt.Sprintf("v%d", i+1), Share: w.shares[i]}
	}
	return arms
}

// run simulates one experiment, deciding at every tick, and stops at
// the first Winner or KeepControl.
func (w world) run(rng *rand.Rand, opt Options) outcome {
	arms := w.arms()
	assign := w.assign
	if assign == nil {
		assign = w.shares
	}
	cum := make([]float64, len(assign))
	acc := 0.0
	for i, a := range assign {
		acc += a
		cum[i] = acc
	}
	opt = opt.withDefaults()
	out := outcome{winner: -1}
	for tick := 1; tick <= w.ticks; tick++ {
		for range w.perTick {
			i := pick(cum, rng.Float64()*acc)
			arms[i].Assigned++
			arms[i].Values.Add(w.value(rng, i))
		}
		r, _ := assess(arms, time.Duration(tick)*time.Hour, opt)
		if r.SRM.Mismatch {
			out.anySRM = true
			out.srmLooks++
		}
		for _, a := range r.Arms[1:] {
			out.anySig = out.anySig || a.VsControl.Significant()
		}
		if r.Decision == Winner || r.Decision == KeepControl {
			out.decision, out.winner, out.tick = r.Decision, r.Winner, tick
			out.perArm = slices.MinFunc(arms, func(a, b Arm) int { return int(a.Values.N - b.Values.N) }).Values.N
			return out
		}
	}
	return out
}

// pick is the first index whose cumulative probability exceeds u.
func pick(cum []float64, u float64) int {
	for i, c := range cum {
		if u < c {
			return i
		}
	}
	return len(cum) - 1
}

func (w world) value(rng *rand.Rand, i int) float64 {
	if w.kind == Continuous {
		return math.Exp(math.Log(w.rate[i]) + rng.NormFloat64())
	}
	if rng.Float64() < w.rate[i] {
		return 1
	}
	return 0
}

// simulate runs n seeded experiments.
func simulate(seed uint64, n int, w world, opt Options) []outcome {
	out := make([]outcome, n)
	for r := range out {
		out[r] = w.run(rand.New(rand.NewPCG(seed, uint64(r))), opt)
	}
	return out
}

func share(out []outcome, keep func(outcome) bool) float64 {
	n := 0
	for _, o := range out {
		if keep(o) {
			n++
		}
	}
	return float64(n) / float64(len(out))
}

// TestAANoFalseWinner is the A/A test: every arm converts at 5%, the
// decision is taken at every tick (every ~200 users per arm up to
// ~20,000 per arm) with no minimums, and a winner may be declared in at
// most Alpha of the runs.
func TestAANoFalseWinner(t *testing.T) {
	cases := []struct {
		name string
		w    world
		opt  Options
	}{
		{"2 arms at 5%", equalWorld(0.05, 0.05), Options{}},
		{"4 arms at 5%", equalWorld(0.05, 0.05, 0.05, 0.05), Options{}},
		{"3 arms at 1%", equalWorld(0.01, 0.01, 0.01), Options{}},
		{"2 arms of log-normal revenue", func() world {
			w := equalWorld(10, 10)
			w.kind = Continuous
			return w
		}(), Options{Metric: Metric{Kind: Continuous}}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := runs(1000)
			if c.w.kind == Continuous || len(c.w.rate) == 3 {
				n = runs(500)
			}
			out := simulate(uint64(100+i), n, c.w, c.opt)
			winner := share(out, func(o outcome) bool { return o.decision == Winner })
			keep := share(out, func(o outcome) bool { return o.decision == KeepControl })
			sig := share(out, func(o outcome) bool { return o.anySig })
			srm := share(out, func(o outcome) bool { return o.anySRM })
			t.Logf("A/A %s, %d runs, checked every tick: false winner %.1f%%, false keep-control %.1f%%, "+
				"any challenger ever significant %.1f%%, SRM ever flagged %.1f%% (Alpha %.0f%%)",
				c.name, n, 100*winner, 100*keep, 100*sig, 100*srm, 100*DefaultAlpha)
			limit := aaLimit(n)
			if winner > limit {
				t.Errorf("false winner rate %.3f > %.3f", winner, limit)
			}
			if sig > limit {
				t.Errorf("some challenger ever significant in %.3f of runs > %.3f", sig, limit)
			}
		})
	}
}

// aaLimit is the largest false rate an A/A test of n runs accepts:
// Alpha itself at the full count, and two standard errors of a rate of
// Alpha above it for the few runs of -short and -race, where one run
// weighs 1–2%.
func aaLimit(n int) float64 {
	if n >= 500 {
		return DefaultAlpha
	}
	return DefaultAlpha + 2*math.Sqrt(DefaultAlpha*(1-DefaultAlpha)/float64(n))
}

// TestPowerFindsRealEffect: 5% against 6% conversion (a 20% lift) is
// found, with the right winner, in most runs by 20,000 users per arm;
// with four arms the better one must also beat two equal challengers.
func TestPowerFindsRealEffect(t *testing.T) {
	cases := []struct {
		name     string
		w        world
		want     int
		minPower float64
	}{
		{"2 arms, 5% vs 6%", equalWorld(0.05, 0.06), 1, 0.8},
		{"4 arms, 5%, 5%, 5%, 6%", equalWorld(0.05, 0.05, 0.05, 0.06), 3, 0.5},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := runs(500)
			out := simulate(uint64(200+i), n, c.w, Options{})
			right := share(out, func(o outcome) bool { return o.decision == Winner && o.winner == c.want })
			wrong := share(out, func(o outcome) bool { return o.decision != Continue && o.winner != c.want })
			var at []float64
			for _, o := range out {
				if o.decision == Winner && o.winner == c.want {
					at = append(at, float64(o.perArm))
				}
			}
			slices.Sort(at)
			median := math.NaN()
			if len(at) > 0 {
				median = at[len(at)/2]
			}
			t.Logf("%s, %d runs up to ~20,000 users per arm: right winner %.1f%% (median %.0f users per arm at the decision), wrong decision %.1f%%",
				c.name, n, 100*right, median, 100*wrong)
			if right < c.minPower {
				t.Errorf("power %.3f < %.2f", right, c.minPower)
			}
			if limit := aaLimit(n); wrong > limit {
				t.Errorf("wrong decision rate %.3f > %.3f", wrong, limit)
			}
		})
	}
}

// TestMinimumsHoldBackTheWinner: with a real effect, no winner is
// declared before the minimum sample and duration, and it is declared
// after them.
func TestMinimumsHoldBackTheWinner(t *testing.T) {
	arms := []Arm{
		{Name: "v1", Share: 0.5, Assigned: 30000, Values: stats.Moments{N: 30000, Sum: 1500}},
		{Name: "v2", Share: 0.5, Assigned: 30000, Values: stats.Moments{N: 30000, Sum: 1950}},
	}
	cases := []struct {
		opt     Options
		elapsed time.Duration
		want    Decision
	}{
		{Options{}, 0, Winner},
		{Options{MinSamples: 30000, MinDuration: 7 * 24 * time.Hour}, 7 * 24 * time.Hour, Winner},
		{Options{MinSamples: 30001}, time.Hour, Waiting},
		{Options{MinDuration: 7 * 24 * time.Hour}, 6 * 24 * time.Hour, Waiting},
	}
	for _, c := range cases {
		r, err := Analyze(arms, c.elapsed, c.opt)
		if err != nil {
			t.Fatal(err)
		}
		if r.Decision != c.want {
			t.Errorf("minSamples %d, minDuration %v at %v: decision %v, want %v (%s)",
				c.opt.MinSamples, c.opt.MinDuration, c.elapsed, r.Decision, c.want, r.Summary)
		}
		if r.Arms[1].Verdict == NoDifference || r.Arms[1].Verdict == Worse {
			t.Errorf("v2 verdict %v: 6.5%% vs 5%% over 30,000 each is significantly better", r.Arms[1].Verdict)
		}
	}
}

// TestAssessIsAnalyze checks at every tick of a few runs that Analyze
// decides as assess does, so that the simulations speak for Analyze.
func TestAssessIsAnalyze(t *testing.T) {
	w := equalWorld(0.05, 0.05, 0.06)
	for run := range 5 {
		rng := rand.New(rand.NewPCG(300, uint64(run)))
		arms := w.arms()
		for tick := 1; tick <= 30; tick++ {
			for range w.perTick {
				i := rng.IntN(len(arms))
				arms[i].Assigned++
				arms[i].Values.Add(w.value(rng, i))
			}
			full, err := Analyze(arms, time.Hour, Options{})
			if err != nil {
				t.Fatal(err)
			}
			quick, _ := assess(arms, time.Hour, Options{}.withDefaults())
			if full.Decision != quick.Decision || full.Winner != quick.Winner {
				t.Fatalf("run %d tick %d: Analyze decided %v (%d), assess %v (%d)", run, tick, full.Decision, full.Winner, quick.Decision, quick.Winner)
			}
			sum := 0.0
			for _, a := range full.Arms {
				sum += a.ProbBest
			}
			if math.Abs(sum-1) > 1e-6 {
				t.Fatalf("run %d tick %d: chances to be best sum to %v", run, tick, sum)
			}
		}
	}
}

// TestSRMDetectsSkewedSplit: 51/49 against a configured 50/50 over
// 100,000 users is flagged in every seeded run.
func TestSRMDetectsSkewedSplit(t *testing.T) {
	n := runs(200)
	rng := rand.New(rand.NewPCG(400, 1))
	flagged := 0
	for range n {
		var a int64
		for range 100000 {
			if rng.Float64() < 0.51 {
				a++
			}
		}
		s, err := CheckSRM([]int64{a, 100000 - a}, []float64{0.5, 0.5}, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		if s.Mismatch {
			flagged++
		}
	}
	t.Logf("51/49 split over 100,000 users against 50/50: flagged in %d of %d runs", flagged, n)
	if flagged < n*99/100 {
		t.Errorf("skewed split flagged in only %d of %d runs", flagged, n)
	}
}

// TestSRMHonestSplit: an honest 50/50 (or 4 × 25%) split over 100,000
// users is flagged at one look in about 0.1% of runs, as the threshold
// says. The assignment is exact: every bit of a random word is a fair
// coin.
func TestSRMHonestSplit(t *testing.T) {
	cases := []struct {
		name   string
		shares []float64
	}{
		{"50/50", []float64{0.5, 0.5}},
		{"4 x 25", []float64{0.25, 0.25, 0.25, 0.25}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := runs(20000)
			rng := rand.New(rand.NewPCG(500, uint64(i)))
			flagged := 0
			for range n {
				counts := fairSplit(rng, 100000, len(c.shares))
				s, err := CheckSRM(counts, c.shares, 0, "")
				if err != nil {
					t.Fatal(err)
				}
				if s.Mismatch {
					flagged++
				}
			}
			rate := float64(flagged) / float64(n)
			t.Logf("honest %s split over 100,000 users, %d runs: flagged %.2f%% (threshold 0.1%%)", c.name, n, 100*rate)
			// Three standard errors above 0.1%, and at least one flag in
			// 1,000 runs' worth of tolerance.
			if limit := 0.001 + 3*math.Sqrt(0.001*0.999/float64(n)) + 1.0/float64(n); rate > limit {
				t.Errorf("false SRM rate %.4f > %.4f", rate, limit)
			}
		})
	}
}

// fairSplit assigns n users to k arms (k = 2 or 4) with equal
// probability, exactly: every bit of a random word is a fair coin, and
// for four arms two words give 64 users two bits each.
func fairSplit(rng *rand.Rand, n, k int) []int64 {
	counts := make([]int64, k)
	for left := n; left > 0; left -= 64 {
		mask := ^uint64(0)
		if left < 64 {
			mask = 1<<left - 1
		}
		users := int64(min(left, 64))
		lo := rng.Uint64() & mask
		if k == 2 {
			ones := int64(bits.OnesCount64(lo))
			counts[1] += ones
			counts[0] += users - ones
			continue
		}
		hi := rng.Uint64() & mask
		both := int64(bits.OnesCount64(hi & lo))
		onlyHi := int64(bits.OnesCount64(hi &^ lo))
		onlyLo := int64(bits.OnesCount64(lo &^ hi))
		counts[3] += both
		counts[2] += onlyHi
		counts[1] += onlyLo
		counts[0] += users - both - onlyHi - onlyLo
	}
	return counts
}

// TestSRMOverAnExperiment reports how often an honest split is flagged
// at some tick of an experiment checked 100 times, and that a split
// that loses 5% of one arm's users is caught by ~20,000 users per arm.
func TestSRMOverAnExperiment(t *testing.T) {
	n := runs(500)
	honest := simulate(600, n, equalWorld(0.05, 0.05), Options{})
	leaky := equalWorld(0.05, 0.05)
	leaky.assign = []float64{0.5 * 0.95 / 0.975, 0.5 / 0.975}
	leak := simulate(601, n, leaky, Options{})
	everHonest := share(honest, func(o outcome) bool { return o.anySRM })
	everLeak := share(leak, func(o outcome) bool { return o.anySRM })
	t.Logf("SRM over 100 looks, %d runs: honest split flagged at some look in %.1f%%, a 5%% loss in one arm in %.1f%%",
		n, 100*everHonest, 100*everLeak)
	if everHonest > 0.02 {
		t.Errorf("honest split flagged in %.3f of runs over 100 looks", everHonest)
	}
	if everLeak < 0.9 {
		t.Errorf("a 5%% loss flagged in only %.3f of runs", everLeak)
	}
}

// TestGuardrailAtTheMargin: a challenger exactly as much worse as
// allowed (errors up 10% with a 10% allowance) is breached in at most
// Alpha of the runs when checked at every tick, while one three times
// as bad is breached in most.
func TestGuardrailAtTheMargin(t *testing.T) {
	g := Guardrail{Metric: Metric{Name: "error rate", LowerIsBetter: true}, MaxDegradation: 0.1}
	cases := []struct {
		name     string
		rate     float64
		min, max float64
	}{
		{"at the margin", 0.011, 0, DefaultAlpha},
		{"three times the margin", 0.013, 0.5, 1},
		{"no degradation", 0.01, 0, DefaultAlpha},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := runs(500)
			w := equalWorld(0.01, c.rate)
			w.perTick, w.ticks = 2000, 100 // up to 100,000 users per arm
			breached, held := 0, 0
			for r := range n {
				rng := rand.New(rand.NewPCG(700+uint64(i), uint64(r)))
				arms := w.arms()
				for range w.ticks {
					for range w.perTick {
						j := rng.IntN(2)
						arms[j].Assigned++
						arms[j].Values.Add(w.value(rng, j))
					}
					res, err := CheckGuardrail(arms, g)
					if err != nil {
						t.Fatal(err)
					}
					if res[0].State == Breached {
						breached++
						break
					}
					if res[0].State == Held {
						held++
						break
					}
				}
			}
			rate := float64(breached) / float64(n)
			t.Logf("guardrail, errors 1%% vs %.1f%%, allowance 10%%, %d runs up to 100,000 users per arm: breached %.1f%%, held first %.1f%%",
				100*c.rate, n, 100*rate, 100*float64(held)/float64(n))
			if rate < c.min || rate > c.max {
				t.Errorf("breached in %.3f of runs, want within [%.2f, %.2f]", rate, c.min, c.max)
			}
		})
	}
}
