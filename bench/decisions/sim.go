package main

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"

	"github.com/slipway-ml/slipway/internal/telemetry"
)

// arm is the ground truth of one version's traffic.
type arm struct {
	// errorRate is the chance that a request is a server error.
	errorRate float64
	// mu and sigma make the latency log-normal: ln(seconds) ~ N(mu, sigma²).
	mu, sigma float64
	// accuracy is the chance that a labelled prediction is right.
	accuracy float64
}

// The baseline, and the candidate of the A/A scenario.
const (
	baseErrorRate = 0.005
	baseP50       = 0.020 // seconds
	baseP99       = 0.080 // seconds
	baseAccuracy  = 0.90
	// z99 is the standard normal's 0.99 quantile.
	z99 = 2.3263478740408408
	// positiveShare is the share of positive labels; with the accuracy it
	// fixes the expected confusion matrix (TP = positiveShare·accuracy, …).
	positiveShare = 0.3
)

// baseline has p50 20 ms and p99 80 ms: mu = ln 0.020, sigma = ln(80/20)/z99
// ≈ 0.596.
var baseline = arm{
	errorRate: baseErrorRate,
	mu:        math.Log(baseP50),
	sigma:     math.Log(baseP99/baseP50) / z99,
	accuracy:  baseAccuracy,
}

// withP99 is a with its latency's p99 multiplied by f and its median kept:
// sigma grows so that the tail, not every request, slows down.
func (a arm) withP99(f float64) arm {
	p50 := math.Exp(a.mu)
	p99 := math.Exp(a.mu + z99*a.sigma)
	a.sigma = math.Log(f*p99/p50) / z99
	return a
}

// p99 is the true 0.99 quantile of a's latency, in seconds.
func (a arm) p99() float64 { return math.Exp(a.mu + z99*a.sigma) }

// traffic is the shape of the simulated request stream.
type traffic struct {
	// rps is the requests per second to both versions together.
	rps float64
	// share is the candidate's share of them.
	share float64
	// baselineLatencies is how many of the baseline's requests per second
	// have their latency recorded in its sketch (all of them are counted);
	// zero records all.
	baselineLatencies int
}

// stream simulates one canary stage, one second per tick, keeping each
// version's telemetry as the judge reads it: the aggregate of everything
// since the stage started.
type stream struct {
	rng              *rand.Rand
	traffic          traffic
	candArm, baseArm arm
	// cand and base are cumulative since the stage started.
	cand, base telemetry.Aggregate
}

func newStream(rng *rand.Rand, t traffic, cand, base arm) *stream {
	s := &stream{rng: rng, traffic: t, candArm: cand, baseArm: base}
	s.cand.Latency = newLatencySketch()
	s.base.Latency = newLatencySketch()
	return s
}

// tick adds one second of traffic to both versions.
func (s *stream) tick() {
	candRate := s.traffic.rps * s.traffic.share
	s.serve(&s.cand, s.candArm, poisson(s.rng, candRate), 0)
	s.serve(&s.base, s.baseArm, poisson(s.rng, s.traffic.rps-candRate), s.traffic.baselineLatencies)
}

// serve records n requests of one version: their errors, latencies and
// labels. Feedback arrives with its request, and every request is
// labelled. Latencies of at most keep requests go into the sketch (zero
// keeps all); LatencySum is scaled up from them.
func (s *stream) serve(agg *telemetry.Aggregate, a arm, n int64, keep int) {
	if n == 0 {
		return
	}
	errs := binomial(s.rng, n, a.errorRate)
	agg.Requests += n
	agg.ServerErrors += errs
	agg.OK += n - errs

	recorded := n
	if keep > 0 && int64(keep) < n {
		recorded = int64(keep)
	}
	var sum float64
	for range recorded {
		v := math.Exp(a.mu + a.sigma*s.rng.NormFloat64())
		_ = agg.Latency.Add(v) // a positive finite value; cannot fail
		sum += v
	}
	agg.LatencySum += time.Duration(sum * float64(n) / float64(recorded) * float64(time.Second))

	s.label(&agg.Quality, a.accuracy, n)
}

// label adds n labelled binary predictions, each right with chance
// accuracy, positives being positiveShare of the labels.
func (s *stream) label(q *telemetry.QualityAggregate, accuracy float64, n int64) {
	pos := binomial(s.rng, n, positiveShare)
	tp := binomial(s.rng, pos, accuracy)
	tn := binomial(s.rng, n-pos, accuracy)
	q.Joined += n
	q.Labeled += n
	q.TP += tp
	q.FN += pos - tp
	q.TN += tn
	q.FP += n - pos - tn
}

// Latency sketches are built as telemetry builds them (sketch.go), so that
// analysis reads them alike: seconds, a cubically interpolated mapping at
// telemetry.LatencyAccuracy, collapsing dense stores of maxSketchBins.
const maxSketchBins = 2048

var latencyMapping = func() mapping.IndexMapping {
	m, err := mapping.NewCubicallyInterpolatedMapping(telemetry.LatencyAccuracy)
	if err != nil {
		panic("latency sketch mapping: " + err.Error()) // a constant accuracy; cannot fail
	}
	return m
}()

func newLatencySketch() *ddsketch.DDSketch {
	return ddsketch.NewDDSketch(latencyMapping,
		store.NewCollapsingLowestDenseStore(maxSketchBins),
		store.NewCollapsingLowestDenseStore(maxSketchBins))
}

// poisson draws from Poisson(lambda): by multiplying uniforms below 10,
// and by Hörmann's transformed rejection (PTRS, as NumPy does) above.
func poisson(rng *rand.Rand, lambda float64) int64 {
	if lambda <= 0 {
		return 0
	}
	if lambda < 10 {
		limit, prod := math.Exp(-lambda), rng.Float64()
		var k int64
		for prod > limit {
			prod *= rng.Float64()
			k++
		}
		return k
	}
	slam, loglam := math.Sqrt(lambda), math.Log(lambda)
	b := 0.931 + 2.53*slam
	a := -0.059 + 0.02483*b
	invAlpha := 1.1239 + 1.1328/(b-3.4)
	vr := 0.9277 - 3.6224/(b-2)
	for {
		u := rng.Float64() - 0.5
		v := rng.Float64()
		us := 0.5 - math.Abs(u)
		k := math.Floor((2*a/us+b)*u + lambda + 0.43)
		if us >= 0.07 && v <= vr {
			return int64(k)
		}
		if k < 0 || (us < 0.013 && v > us) {
			continue
		}
		lg, _ := math.Lgamma(k + 1)
		if math.Log(v)+math.Log(invAlpha)-math.Log(a/(us*us)+b) <= -lambda+k*loglam-lg {
			return int64(k)
		}
	}
}

// binomial draws from Binomial(n, p) exactly, by inversion of the smaller
// tail, in chunks small enough that (1-p)^chunk does not underflow.
func binomial(rng *rand.Rand, n int64, p float64) int64 {
	switch {
	case n <= 0 || p <= 0:
		return 0
	case p >= 1:
		return n
	case p > 0.5:
		return n - binomial(rng, n, 1-p)
	}
	chunk := max(int64(100/p), 1) // mean ≤ 100 per chunk
	var k int64
	for n > 0 {
		m := min(n, chunk)
		k += binomialInversion(rng, m, p)
		n -= m
	}
	return k
}

// binomialInversion walks the CDF of Binomial(n, p), p ≤ ½, from 0.
func binomialInversion(rng *rand.Rand, n int64, p float64) int64 {
	q := 1 - p
	r := p / q
	f := math.Pow(q, float64(n))
	u := rng.Float64()
	var k int64
	for u > f && k < n {
		u -= f
		k++
		f *= r * float64(n-k+1) / float64(k)
	}
	return k
}
