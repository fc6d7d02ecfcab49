package analysis

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"

	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

// sketchOf builds a sketch as telemetry does: the values mapping at
// ValueAccuracy and collapsing dense stores.
func sketchOf(t testing.TB, values ...float64) *ddsketch.DDSketch {
	t.Helper()
	m, err := mapping.NewCubicallyInterpolatedMapping(telemetry.ValueAccuracy)
	if err != nil {
		t.Fatal(err)
	}
	sk := ddsketch.NewDDSketch(m, store.NewCollapsingLowestDenseStore(2048), store.NewCollapsingLowestDenseStore(2048))
	for _, v := range values {
		if err := sk.Add(v); err != nil {
			t.Fatal(err)
		}
	}
	return sk
}

func TestEveryCatalogueMetricHasAMeasure(t *testing.T) {
	for _, m := range spec.Metrics() {
		if strings.HasPrefix(m.Name, spec.ValuesPrefix) {
			continue
		}
		if measures[m.Name] == nil {
			t.Errorf("no measure for %s", m.Name)
		}
	}
	if len(measures) != len(spec.Metrics())-1 {
		t.Errorf("%d measures for %d catalogue metrics", len(measures), len(spec.Metrics())-1)
	}
}

func TestPSICounts(t *testing.T) {
	// An empty bin counts as PSIEpsilon: a bin holding a share s of one
	// version and none of the other adds (s-ε)·ln(s/ε).
	half := (0.5 - PSIEpsilon) * math.Log(0.5/PSIEpsilon)
	whole := (1 - PSIEpsilon) * math.Log(1/PSIEpsilon)
	tests := []struct {
		name         string
		c, b         []int64
		cOther, bOth int64
		want         float64
	}{
		{"identical", []int64{3, 1}, []int64{6, 2}, 0, 0, 0},
		{"disjoint", []int64{5, 0}, []int64{0, 5}, 0, 0, 2 * whole},
		{"shorter", []int64{5}, []int64{0, 5}, 0, 0, 2 * whole},
		{"other", []int64{5}, []int64{5}, 5, 0, (0.5-1)*math.Log(0.5) + half},
		{"empty", nil, []int64{1}, 0, 0, 0},
	}
	for _, tt := range tests {
		if got := psiCounts(tt.c, tt.b, tt.cOther, tt.bOth); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: PSI %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPSISketches(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	normal := func(n int, mu float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = mu + rng.NormFloat64()
		}
		return out
	}
	base := normal(20000, 0)
	// Against the same distribution the PSI is the sampling noise of ten
	// bins: about 9/20000 × 2; against a shift of one standard deviation it
	// is about 1 (the exact PSI over the baseline's deciles).
	same := psiSketches(sketchOf(t, normal(20000, 0)...), sketchOf(t, base...))
	if same > 0.005 {
		t.Errorf("PSI of two samples of one distribution %v, want < 0.005", same)
	}
	shifted := psiSketches(sketchOf(t, normal(20000, 1)...), sketchOf(t, base...))
	want := exactDecilePSI(1)
	if math.Abs(shifted-want) > 0.05*want {
		t.Errorf("PSI of a 1σ shift %v, want %v within 5%%", shifted, want)
	}
	// Negative values, zeros and a constant feature.
	if got := psiSketches(sketchOf(t, -2, -1, 0, 0, 1, 2), sketchOf(t, -2, -1, 0, 0, 1, 2)); got != 0 {
		t.Errorf("PSI of identical mixed-sign sketches %v, want 0", got)
	}
	constant := psiSketches(sketchOf(t, 3, 3, 3, 3), sketchOf(t, 3, 3, 3, 3))
	moved := psiSketches(sketchOf(t, 5, 5, 5, 5), sketchOf(t, 3, 3, 3, 3))
	if wantMoved := 2 * (1 - PSIEpsilon) * math.Log(1/PSIEpsilon); constant != 0 || math.Abs(moved-wantMoved) > 1e-9 {
		t.Errorf("constant feature: PSI %v unmoved and %v moved, want 0 and %v", constant, moved, wantMoved)
	}
}

// exactDecilePSI is the PSI of N(shift,1) against N(0,1) over the deciles
// of N(0,1).
func exactDecilePSI(shift float64) float64 {
	cdf := func(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }
	edges := []float64{math.Inf(-1), -1.2816, -0.8416, -0.5244, -0.2533, 0, 0.2533, 0.5244, 0.8416, 1.2816, math.Inf(1)}
	psi := 0.0
	for i := 1; i < len(edges); i++ {
		c := cdf(edges[i]-shift) - cdf(edges[i-1]-shift)
		b := cdf(edges[i]) - cdf(edges[i-1])
		psi += (c - b) * math.Log(c/b)
	}
	return psi
}

func TestKSDistance(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sample := func(n int, f func() float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = f()
		}
		return out
	}
	a := sample(5000, rng.Float64)
	b := sample(5000, func() float64 { return 0.3 + 0.7*rng.Float64() })
	got := ksDistance(sketchOf(t, a...), sketchOf(t, b...))
	if want := exactKS(a, b); math.Abs(got-want) > 0.02 {
		t.Errorf("KS %v, want the samples' %v within 0.02", got, want)
	}
	if got := ksDistance(sketchOf(t, a...), sketchOf(t, a...)); got != 0 {
		t.Errorf("KS of one sample with itself %v, want 0", got)
	}
	if got := ksDistance(sketchOf(t, 1, 2, 3), sketchOf(t, 10, 20, 30)); got != 1 {
		t.Errorf("KS of disjoint samples %v, want 1", got)
	}
	if got := ksDistance(sketchOf(t), sketchOf(t, 1)); got != 0 {
		t.Errorf("KS with an empty sketch %v, want 0", got)
	}
}

// exactKS is the two-sample Kolmogorov-Smirnov statistic of a and b.
func exactKS(a, b []float64) float64 {
	a, b = append([]float64(nil), a...), append([]float64(nil), b...)
	sort.Float64s(a)
	sort.Float64s(b)
	d, i, j := 0.0, 0, 0
	for i < len(a) && j < len(b) {
		x := min(a[i], b[j])
		for i < len(a) && a[i] <= x {
			i++
		}
		for j < len(b) && b[j] <= x {
			j++
		}
		d = max(d, math.Abs(float64(i)/float64(len(a))-float64(j)/float64(len(b))))
	}
	return d
}

func TestSketchSum(t *testing.T) {
	sk := sketchOf(t, 0.010, 0.020, 0.030, 0, -0.5)
	if got := sketchSum(sk); math.Abs(got-(-0.44)) > 0.5*telemetry.ValueAccuracy {
		t.Errorf("sum %v, want -0.44 within the sketch's accuracy", got)
	}
}

// TestDriftDoesNotAllocate guards the reason eachBin calls concrete
// stores: a judgement runs every second for every rollout.
func TestDriftDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var a, b []float64
	for range 2000 {
		a = append(a, rng.ExpFloat64())
		b = append(b, 1.1*rng.ExpFloat64())
	}
	c, d := sketchOf(t, a...), sketchOf(t, b...)
	allocs := testing.AllocsPerRun(100, func() {
		_ = psiSketches(c, d)
		_ = ksDistance(c, d)
		_ = sketchSum(c)
		_ = psiCounts([]int64{1, 2, 3}, []int64{3, 2, 1}, 0, 0)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per drift computation, want 0", allocs)
	}
}

func TestFormatNear(t *testing.T) {
	tests := []struct {
		v, limit float64
		want     string
	}{
		{91.234, 94.08, "91.2%"},
		{1.0004, 1, "1.0004%"},   // more digits until it shows which side
		{0.99996, 1, "0.99996%"}, // not "1%"
		{1, 1, "1%"},
		{0.0412345, 1, "0.0412%"},
		{12345.6, 1, "12346%"},
		{0, 1, "0%"},
	}
	for _, tt := range tests {
		if got := formatNear(spec.UnitPercent, tt.v, tt.limit); got != tt.want {
			t.Errorf("formatNear(%v, %v) = %q, want %q", tt.v, tt.limit, got, tt.want)
		}
	}
}
