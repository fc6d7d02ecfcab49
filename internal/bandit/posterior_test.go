package bandit

import (
	"math"
	"testing"

	"github.com/slipway-ml/slipway/internal/stats"
)

func TestBetaPosterior(t *testing.T) {
	for _, tc := range []struct {
		arm         Arm
		alpha, beta float64
	}{
		{Arm{}, 1, 1},                            // the prior
		{Arm{Pulls: 10, Sum: 3, SumSq: 3}, 4, 8}, // 3 successes, 7 failures
		{Arm{Pulls: 5210, Sum: 370, SumSq: 370}, 371, 4841},
	} {
		a, b := BetaPosterior(tc.arm)
		if a != tc.alpha || b != tc.beta {
			t.Errorf("BetaPosterior(%+v) = Beta(%v, %v), want Beta(%v, %v)", tc.arm, a, b, tc.alpha, tc.beta)
		}
	}
}

func TestStudentPosterior(t *testing.T) {
	var a Arm
	for _, r := range []float64{1, 2, 3, 4, 5} {
		a.Observe(r)
	}
	// n = 5, x̄ = 3, S = 10: df = 2, scale = √(10/(5·2)) = 1.
	center, scale, df, ok := StudentPosterior(a)
	if !ok || center != 3 || math.Abs(scale-1) > 1e-15 || df != 2 {
		t.Errorf("StudentPosterior(1..5) = %v + %v·t(%v), ok %v; want 3 + 1·t(2), ok true", center, scale, df, ok)
	}
	a = Arm{}
	for _, r := range []float64{0.5, 0.5, 2} {
		a.Observe(r)
	}
	if _, _, _, ok := StudentPosterior(a); ok {
		t.Errorf("StudentPosterior with 3 rewards is proper; want improper below %d", GaussianMinRewards)
	}
}

// The samplers' moments match their distributions' within five standard
// errors of 200,000 seeded draws.
func TestSamplerMoments(t *testing.T) {
	const n = 200000
	for _, tc := range []struct {
		name     string
		draw     func() float64
		mean, sd float64 // of one draw
	}{
		{"gamma(0.3)", func() float64 { return gammaDraw(0.3, rng1) }, 0.3, math.Sqrt(0.3)},
		{"gamma(1)", func() float64 { return gammaDraw(1, rng1) }, 1, 1},
		{"gamma(3.7)", func() float64 { return gammaDraw(3.7, rng1) }, 3.7, math.Sqrt(3.7)},
		{"gamma(5000)", func() float64 { return gammaDraw(5000, rng1) }, 5000, math.Sqrt(5000)},
		{"beta(2,5)", func() float64 { return betaDraw(2, 5, rng1) }, 2.0 / 7, math.Sqrt(10 / (49.0 * 8))},
		{"beta(371,4841)", func() float64 { return betaDraw(371, 4841, rng1) }, 371.0 / 5212, math.Sqrt(371 * 4841 / (5212.0 * 5212 * 5213))},
		{"t(6)", func() float64 { return studentDraw(6, rng1) }, 0, math.Sqrt(6.0 / 4)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sum, sq float64
			for range n {
				x := tc.draw()
				sum += x
				sq += x * x
			}
			mean := sum / n
			sd := math.Sqrt(sq/n - mean*mean)
			if se := tc.sd / math.Sqrt(n); math.Abs(mean-tc.mean) > 5*se {
				t.Errorf("mean %v, want %v ± %v", mean, tc.mean, 5*se)
			}
			if math.Abs(sd/tc.sd-1) > 0.02 {
				t.Errorf("standard deviation %v, want %v within 2%%", sd, tc.sd)
			}
		})
	}
}

var rng1 = newRand(1)

// betaGreater is the exact P(X_B > X_A) for X_A ~ Beta(aA, bA) and
// X_B ~ Beta(aB, bB) with aB a whole number: the finite sum
// Σᵢ₌₀^{aB−1} B(aA + i, bA + bB) / ((bB + i)·B(1 + i, bB)·B(aA, bA)).
func betaGreater(aA, bA, aB, bB float64) float64 {
	lbeta := func(a, b float64) float64 {
		x, _ := math.Lgamma(a)
		y, _ := math.Lgamma(b)
		z, _ := math.Lgamma(a + b)
		return x + y - z
	}
	p := 0.0
	for i := 0.0; i < aB; i++ {
		p += math.Exp(lbeta(aA+i, bA+bB) - math.Log(bB+i) - lbeta(1+i, bB) - lbeta(aA, bA))
	}
	return p
}

func TestProbBestBernoulli(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b Arm
	}{
		{"close", Arm{Pulls: 5000, Sum: 350, SumSq: 350}, Arm{Pulls: 5210, Sum: 370, SumSq: 370}},
		{"small", Arm{Pulls: 20, Sum: 3, SumSq: 3}, Arm{Pulls: 12, Sum: 3, SumSq: 3}},
		{"clear", Arm{Pulls: 2000, Sum: 80, SumSq: 80}, Arm{Pulls: 2000, Sum: 140, SumSq: 140}},
		{"untouched", Arm{}, Arm{Pulls: 3, Sum: 1, SumSq: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aA, bA := BetaPosterior(tc.a)
			aB, bB := BetaPosterior(tc.b)
			want := betaGreater(aA, bA, aB, bB)
			const draws = 100000
			got := ProbBest(Bernoulli, []Arm{tc.a, tc.b}, draws, newRand(7))
			if se := math.Sqrt(want * (1 - want) / draws); math.Abs(got[1]-want) > 5*se+1e-9 {
				t.Errorf("P(B best) = %v, exact %v ± %v", got[1], want, 5*se)
			}
			if math.Abs(got[0]+got[1]-1) > 1e-12 {
				t.Errorf("probabilities %v do not sum to 1", got)
			}
		})
	}
}

// With many rewards the Student t posterior is nearly normal, so two
// arms' probability of being best is Φ((m₂ − m₁)/√(se₁² + se₂²)).
func TestProbBestGaussian(t *testing.T) {
	arm := func(n int, mean, sd float64) Arm {
		// n rewards of exactly this mean and sample standard deviation.
		s := sd * math.Sqrt(float64(n-1)/float64(n))
		var a Arm
		for i := range n {
			a.Observe(mean + s*float64(2*(i%2)-1))
		}
		return a
	}
	a, b := arm(10000, 10, 4), arm(8000, 10.1, 5)
	ca, sa, _, _ := StudentPosterior(a)
	cb, sb, _, _ := StudentPosterior(b)
	want := stats.NormalCDF((cb - ca) / math.Hypot(sa, sb))
	const draws = 100000
	got := ProbBest(Gaussian, []Arm{a, b}, draws, newRand(3))
	if math.Abs(got[1]-want) > 5*math.Sqrt(want*(1-want)/draws)+0.002 {
		t.Errorf("P(B best) = %v, want about %v", got[1], want)
	}
	// An untried arm takes all the probability while it has too few rewards.
	got = ProbBest(Gaussian, []Arm{a, {Pulls: 2, Sum: 3, SumSq: 5}, b}, draws, newRand(3))
	if got[0] != 0 || got[1] != 1 || got[2] != 0 {
		t.Errorf("with an untried arm: %v, want [0 1 0]", got)
	}
}

func TestParseModel(t *testing.T) {
	for in, want := range map[string]Model{"bernoulli": Bernoulli, "binary": Bernoulli, "gaussian": Gaussian, "continuous": Gaussian} {
		if got, err := ParseModel(in); err != nil || got != want {
			t.Errorf("ParseModel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseModel("poisson"); err == nil || !contains(err.Error(), `reward model "poisson": want bernoulli`) {
		t.Errorf("ParseModel(poisson) = %v", err)
	}
}
