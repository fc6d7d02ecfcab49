package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The simulations check the sequential tests' decision quality: with no
// difference (A/A), the share of runs that ever reject when checked after
// every batch must stay within Alpha; with a doubled error rate, they
// report how many candidate observations the first rejection takes.
// Every run is seeded, so the figures are the same on every machine.

// binomial draws the number of successes in n trials of probability p by
// inversion, which is fast for the small n·p of a batch.
func binomial(r *rand.Rand, n int, p float64) int64 {
	if p <= 0 {
		return 0
	}
	u := r.Float64()
	q := p / (1 - p)
	prob := math.Pow(1-p, float64(n))
	cdf := prob
	k := 0
	for u > cdf && k < n {
		prob *= float64(n-k) / float64(k+1) * q
		k++
		cdf += prob
	}
	return int64(k)
}

// proportionTest is a sequential test on counts; known rates ignore the
// baseline's.
type proportionTest func(xc, nc, xb, nb int64) SeqResult

// stream is one simulated comparison: each look adds batchC candidate
// observations at rate pc and batchB baseline ones at rate pb, until the
// candidate has maxC.
type stream struct {
	pc, pb         float64
	batchC, batchB int
	maxC           int
}

// outcome is when a run first rejected, in candidate observations (0 if
// never), and first rejected with the candidate worse (Z > 0).
type outcome struct{ any, worse int64 }

func (s stream) run(r *rand.Rand, test proportionTest) outcome {
	var o outcome
	var xc, nc, xb, nb int64
	for nc < int64(s.maxC) && o.worse == 0 {
		xc += binomial(r, s.batchC, s.pc)
		xb += binomial(r, s.batchB, s.pb)
		nc += int64(s.batchC)
		nb += int64(s.batchB)
		res := test(xc, nc, xb, nb)
		if res.Rejects() {
			if o.any == 0 {
				o.any = nc
			}
			if res.Z > 0 {
				o.worse = nc
			}
		}
	}
	return o
}

// replicate runs reps seeded streams and returns their outcomes.
func replicate(seed uint64, reps int, s stream, test proportionTest) []outcome {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]outcome, reps)
	for i := range out {
		out[i] = s.run(r, test)
	}
	return out
}

// rates is the share of runs that ever rejected, and that ever rejected
// with the candidate worse.
func rates(out []outcome) (anyRate, worseRate float64) {
	var a, w int
	for _, o := range out {
		if o.any > 0 {
			a++
		}
		if o.worse > 0 {
			w++
		}
	}
	return float64(a) / float64(len(out)), float64(w) / float64(len(out))
}

// detection is the median and the 80th percentile of the candidate
// observations to the first rejection with the candidate worse, counting
// runs that never rejected as +Inf, and the share of runs that rejected.
func detection(out []outcome) (median, p80, power float64) {
	n := make([]float64, len(out))
	hits := 0
	for i, o := range out {
		n[i] = math.Inf(1)
		if o.worse > 0 {
			n[i] = float64(o.worse)
			hits++
		}
	}
	slices.Sort(n)
	return n[len(n)/2], n[len(n)*4/5], float64(hits) / float64(len(n))
}

var (
	seqTwoProportions = func(xc, nc, xb, nb int64) SeqResult { return TwoProportions(xc, nc, xb, nb, SeqOptions{}) }
	seqRiskRatio      = func(xc, nc, xb, nb int64) SeqResult { return RiskRatio(xc, nc, xb, nb, SeqOptions{}) }
)

func knownRate(p0 float64) proportionTest {
	return func(xc, nc, _, _ int64) SeqResult { return OneProportion(xc, nc, p0, SeqOptions{}) }
}

// TestAATwoProportions is the A/A test the issue asks for: two arms at
// the same 1% error rate, checked after every 50 requests of each, up to
// 20,000 each; at most Alpha of the runs may ever reject (0.06 allows
// for simulation noise: the standard error of 500 runs at 5% is 1%), and
// about Alpha/2 as worse (at most 0.035).
func TestAATwoProportions(t *testing.T) {
	reps := 500
	if testing.Short() {
		reps = 100
	}
	out := replicate(1, reps, stream{pc: 0.01, pb: 0.01, batchC: 50, batchB: 50, maxC: 20000}, seqTwoProportions)
	anyRate, worseRate := rates(out)
	t.Logf("A/A TwoProportions at 1%%, every 50 up to 20k per arm, %d runs: ever rejected %.1f%%, ever rejected as worse %.1f%% (Alpha %.0f%%)",
		reps, 100*anyRate, 100*worseRate, 100*DefaultAlpha)
	if anyRate > 0.06 || worseRate > 0.035 {
		t.Errorf("A/A false alarm rate %.3f > 0.06 or as worse %.3f > 0.035 (Alpha/2 and noise)", anyRate, worseRate)
	}
}

// TestAASequential runs the A/A check on the other sequential tests and
// on rarer events and unequal arms, where the normal approximation is
// weakest.
func TestAASequential(t *testing.T) {
	if testing.Short() {
		t.Skip("A/A simulations of every test take a few seconds")
	}
	cases := []struct {
		name string
		s    stream
		test proportionTest
	}{
		{"TwoProportions 0.5%, canary 10%", stream{pc: 0.005, pb: 0.005, batchC: 20, batchB: 180, maxC: 10000}, seqTwoProportions},
		{"TwoProportions 5%, balanced", stream{pc: 0.05, pb: 0.05, batchC: 50, batchB: 50, maxC: 20000}, seqTwoProportions},
		{"RiskRatio 1%, balanced", stream{pc: 0.01, pb: 0.01, batchC: 50, batchB: 50, maxC: 20000}, seqRiskRatio},
		{"RiskRatio 0.5%, canary 10%", stream{pc: 0.005, pb: 0.005, batchC: 20, batchB: 180, maxC: 10000}, seqRiskRatio},
		{"OneProportion 1%", stream{pc: 0.01, batchC: 50, maxC: 20000}, knownRate(0.01)},
		{"QuantileExceedance p99, canary 10%", stream{pc: 0.01, pb: 0.01, batchC: 50, batchB: 450, maxC: 20000},
			func(xc, nc, _, nb int64) SeqResult { return QuantileExceedance(xc, nc, nb, 0.99, SeqOptions{}) }},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out := replicate(uint64(10+i), 500, c.s, c.test)
			anyRate, worseRate := rates(out)
			t.Logf("A/A %s, %d runs: ever rejected %.1f%%, as worse %.1f%%", c.name, len(out), 100*anyRate, 100*worseRate)
			if anyRate > 0.06 || worseRate > 0.035 {
				t.Errorf("false alarm rate %.3f > 0.06 or as worse %.3f > 0.035", anyRate, worseRate)
			}
		})
	}
}

// TestAATwoMeans checks TwoMeans on skewed (log-normal) values, checked
// after every 50 of each up to 10,000 each.
func TestAATwoMeans(t *testing.T) {
	if testing.Short() {
		t.Skip("A/A simulation")
	}
	t.Parallel()
	r := rand.New(rand.NewPCG(20, 0x5eed))
	const reps, batch, maxN = 400, 50, 10000
	rejected := 0
	for range reps {
		var c, b Moments
		for c.N < maxN {
			for range batch {
				c.Add(math.Exp(3 + 0.5*r.NormFloat64()))
				b.Add(math.Exp(3 + 0.5*r.NormFloat64()))
			}
			if TwoMeans(c, b, SeqOptions{}).Rejects() {
				rejected++
				break
			}
		}
	}
	rate := float64(rejected) / reps
	t.Logf("A/A TwoMeans, log-normal values, every 50 up to 10k per arm, %d runs: ever rejected %.1f%%", reps, 100*rate)
	if rate > 0.06 {
		t.Errorf("A/A false alarm rate %.3f > 0.06", rate)
	}
}

// TestPowerDoubledErrorRate reports how many candidate requests the
// sequential tests take to reject a doubled error rate with the candidate
// worse, in units of 1/(baseline rate); the target is about 12,
// the fixed-sample minimum about 9 against a known rate. It fails only if
// the median exceeds 25, or fewer than 80% of runs reject within 60.
func TestPowerDoubledErrorRate(t *testing.T) {
	reps := 300
	if testing.Short() {
		reps = 60
	}
	cases := []struct {
		name string
		s    stream
		test proportionTest
	}{
		{"OneProportion vs known 1%", stream{pc: 0.02, batchC: 25}, knownRate(0.01)},
		{"OneProportion vs known 0.5%", stream{pc: 0.01, batchC: 50}, knownRate(0.005)},
		{"OneProportion vs known 5%", stream{pc: 0.1, batchC: 5}, knownRate(0.05)},
		{"TwoProportions 1%, canary 10%", stream{pc: 0.02, pb: 0.01, batchC: 25, batchB: 225}, seqTwoProportions},
		{"TwoProportions 1%, canary 50%", stream{pc: 0.02, pb: 0.01, batchC: 25, batchB: 25}, seqTwoProportions},
		{"RiskRatio 1%, canary 10%", stream{pc: 0.02, pb: 0.01, batchC: 25, batchB: 225}, seqRiskRatio},
	}
	for i, c := range cases {
		c.s.maxC = int(60 / c.s.pb)
		if c.s.pb == 0 {
			c.s.maxC = int(60 / (c.s.pc / 2))
		}
		base := c.s.pc / 2
		out := replicate(uint64(30+i), reps, c.s, c.test)
		median, p80, power := detection(out)
		t.Logf("2× error rate, %s: rejected as worse after %.1f/rate candidate requests (median), %.1f/rate (80%% of runs); %.0f%% of %d runs within 60/rate",
			c.name, median*base, p80*base, 100*power, reps)
		if median*base > 25 || power < 0.8 {
			t.Errorf("%s: median %.1f/rate, power %.2f within 60/rate", c.name, median*base, power)
		}
	}
}

// TestQuantileTolerance checks the latency judge: log-normal latencies,
// the candidate's scaled by a factor, judged at p99 with a 10% tolerance
// (the threshold is 1.1 times the baseline's p99), the baseline having
// nine times the candidate's requests. A 3% slowdown, which a test
// without tolerance would detect given enough requests, must not be
// rejected as worse more than Alpha/2 of the time; a 30% slowdown must be.
func TestQuantileTolerance(t *testing.T) {
	if testing.Short() {
		t.Skip("latency simulation")
	}
	t.Parallel()
	const (
		p, tolerance = 0.99, 0.10
		sigma        = 0.5
		batch, maxC  = 50, 20000
	)
	q := math.Exp(sigma * NormalQuantile(p)) // the baseline's p99 for median 1
	threshold := (1 + tolerance) * q
	for i, c := range []struct {
		slowdown float64
		detect   bool
	}{{1.03, false}, {1.30, true}} {
		r := rand.New(rand.NewPCG(uint64(40+i), 0x5eed))
		const reps = 300
		var worse int
		var at []float64
		for range reps {
			var above, nc int64
			for nc < maxC {
				for range batch {
					if c.slowdown*math.Exp(sigma*r.NormFloat64()) > threshold {
						above++
					}
				}
				nc += batch
				res := QuantileExceedance(above, nc, 9*nc, p, SeqOptions{})
				if res.Rejects() && res.Z > 0 {
					worse++
					at = append(at, float64(nc))
					break
				}
			}
		}
		rate := float64(worse) / reps
		slices.Sort(at)
		when := ""
		if len(at) > 0 {
			when = fmt.Sprintf(", after a median of %.0f candidate requests", at[len(at)/2])
		}
		t.Logf("p99 %.0f%% slower, tolerance 10%%: rejected as worse in %.1f%% of %d runs%s",
			100*(c.slowdown-1), 100*rate, reps, when)
		if c.detect && rate < 0.95 || !c.detect && rate > 0.035 {
			t.Errorf("slowdown %.2f: rejected as worse in %.3f of runs", c.slowdown, rate)
		}
	}
}

// TestTwoProportionsCoverage checks the running interval of
// TwoProportions, which combines the rates' intervals approximately: it
// must miss the true difference at some look in at most Alpha of the runs
// (0.06 with noise), and agree with the test (exclude zero when it
// rejects) on nearly every look.
func TestTwoProportionsCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("coverage simulation")
	}
	t.Parallel()
	for i, s := range []stream{
		{pc: 0.01, pb: 0.01, batchC: 50, batchB: 50, maxC: 20000},
		{pc: 0.02, pb: 0.01, batchC: 20, batchB: 180, maxC: 10000},
		{pc: 0.3, pb: 0.25, batchC: 50, batchB: 50, maxC: 20000},
		{pc: 0.001, pb: 0.002, batchC: 50, batchB: 450, maxC: 20000},
	} {
		r := rand.New(rand.NewPCG(uint64(50+i), 0x5eed))
		const reps = 300
		truth := s.pc - s.pb
		missed, looks, disagree := 0, 0, 0
		for range reps {
			var xc, nc, xb, nb int64
			var run SeqResult
			miss := false
			for nc < int64(s.maxC) {
				xc += binomial(r, s.batchC, s.pc)
				xb += binomial(r, s.batchB, s.pb)
				nc += int64(s.batchC)
				nb += int64(s.batchB)
				cur := TwoProportions(xc, nc, xb, nb, SeqOptions{})
				run = Running(run, cur)
				miss = miss || run.Lower > truth || run.Upper < truth
				looks++
				if cur.Rejects() != (cur.Lower > 0 || cur.Upper < 0) {
					disagree++
				}
			}
			if miss {
				missed++
			}
		}
		rate := float64(missed) / reps
		t.Logf("TwoProportions %.1f%% vs %.1f%%, %d:%d per look: running interval missed the difference in %.1f%% of %d runs; disagreed with the test on %.2f%% of looks",
			100*s.pc, 100*s.pb, s.batchC, s.batchB, 100*rate, reps, 100*float64(disagree)/float64(looks))
		if rate > 0.06 || float64(disagree) > 0.03*float64(looks) {
			t.Errorf("coverage miss rate %.3f > 0.06, or disagreement %d of %d looks", rate, disagree, looks)
		}
	}
}

// TestRiskRatioOneSided checks the mixture truncated to ratios above 1:
// on identical arms it may reject as worse up to Alpha of the time (all
// of Alpha is on that side now; 0.06 allows for noise), never as better;
// on a doubled rate it rejects sooner than the two-sided mixture, which is
// why rollback triggers use it.
func TestRiskRatioOneSided(t *testing.T) {
	reps := 400
	if testing.Short() {
		reps = 80
	}
	greater := func(xc, nc, xb, nb int64) SeqResult {
		return RiskRatio(xc, nc, xb, nb, SeqOptions{Side: Greater})
	}
	aa := stream{pc: 0.005, pb: 0.005, batchC: 20, batchB: 180, maxC: 10000}
	out := replicate(50, reps, aa, greater)
	anyRate, worseRate := rates(out)
	t.Logf("A/A RiskRatio greater 0.5%%, canary 10%%, %d runs: ever rejected %.1f%%, as worse %.1f%%", reps, 100*anyRate, 100*worseRate)
	if anyRate > 0.06 || anyRate != worseRate {
		t.Errorf("one-sided A/A: ever rejected %.3f (want ≤ 0.06), as worse %.3f (want all of them)", anyRate, worseRate)
	}

	doubled := stream{pc: 0.02, pb: 0.01, batchC: 25, batchB: 225, maxC: 6000}
	oneMedian, _, onePower := detection(replicate(51, reps, doubled, greater))
	twoMedian, _, twoPower := detection(replicate(51, reps, doubled, seqRiskRatio))
	t.Logf("2× error rate at 1%%: one-sided median %.1f/rate (power %.0f%%), two-sided %.1f/rate (power %.0f%%)",
		oneMedian*0.01, 100*onePower, twoMedian*0.01, 100*twoPower)
	if oneMedian >= twoMedian {
		t.Errorf("one-sided median %v candidate requests, not below two-sided %v", oneMedian, twoMedian)
	}
}
