package telemetry

import (
	"math"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/runtime"
)

// t0 is aligned to every bucket width the tests use.
var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// clock is a settable clock for Config.Now.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(t0.UnixNano())
	return c
}

func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// Set moves the clock to t0+d.
func (c *clock) Set(d time.Duration) { c.ns.Store(t0.Add(d).UnixNano()) }

func newTestRecorder(cfg Config) (*Recorder, *clock) {
	c := newClock()
	cfg.Now = c.Now
	return New(cfg), c
}

func scoreOut(scores ...float64) []runtime.Tensor {
	return []runtime.Tensor{{Name: "score", Datatype: runtime.FP64, Shape: []int64{int64(len(scores))}, Data: scores}}
}

func probsOut(k int, probs ...float64) []runtime.Tensor {
	return []runtime.Tensor{{Name: "probabilities", Datatype: runtime.FP64, Shape: []int64{int64(len(probs) / k), int64(k)}, Data: probs}}
}

func feature(name string, v ...float64) runtime.Tensor {
	return runtime.Tensor{Name: name, Datatype: runtime.FP64, Shape: []int64{int64(len(v))}, Data: v}
}

// fraudFeatures are the seven numeric inputs of the fraud example.
var fraudFeatures = []string{"amount", "hour", "merchant_risk", "distance_from_home", "tx_count_24h", "is_foreign", "card_age_days"}

// fraudRequest makes a realistic single-row fraud request: seven
// per-feature FP32 inputs and one FP32 score.
func fraudRequest(rng *rand.Rand, id string) Observation {
	values := []float32{
		float32(math.Exp(3 + 1.2*rng.NormFloat64())), // amount
		float32(rng.IntN(24)),                        // hour
		float32(rng.Float64()),                       // merchant_risk
		float32(math.Exp(2 + 1.5*rng.NormFloat64())), // distance_from_home
		float32(rng.IntN(12)),                        // tx_count_24h
		float32(rng.IntN(10) / 9),                    // is_foreign
		float32(1 + rng.IntN(3000)),                  // card_age_days
	}
	inputs := make([]runtime.Tensor, len(values))
	for i, v := range values {
		inputs[i] = runtime.Tensor{Name: fraudFeatures[i], Datatype: runtime.FP32, Shape: []int64{1}, Data: []float32{v}}
	}
	score := float32(1 / (1 + math.Exp(-(-3.5 + 1.5*rng.NormFloat64()))))
	return Observation{
		Model:     "fraud",
		Version:   "2",
		RequestID: id,
		Latency:   time.Duration(math.Exp(0.7+0.4*rng.NormFloat64()) * float64(time.Millisecond)),
		Inputs:    inputs,
		Outputs:   []runtime.Tensor{{Name: "score", Datatype: runtime.FP32, Shape: []int64{1}, Data: []float32{score}}},
	}
}

// fraudRequests pregenerates n requests with distinct ids.
func fraudRequests(n int, seed uint64) []Observation {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]Observation, n)
	for i := range out {
		out[i] = fraudRequest(rng, "req-"+strconv.Itoa(i))
	}
	return out
}

func version(t testing.TB, ms ModelStats, v string) VersionStats {
	t.Helper()
	for _, vs := range ms.Versions {
		if vs.Version == v {
			return vs
		}
	}
	t.Fatalf("snapshot of %s has no version %q (has %d versions)", ms.Model, v, len(ms.Versions))
	return VersionStats{}
}

func ptr(v float64) *float64 { return &v }

func within(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func relWithin(got, want, rel float64) bool { return math.Abs(got-want) <= rel*math.Abs(want) }
