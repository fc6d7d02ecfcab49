package experiment

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// SRM is the sample-ratio check: whether the units assigned to the arms
// match the configured shares. A mismatch means the assignment or the
// logging is broken (bots, redirects, crashes in one arm, a sticky hash
// that leaks), and any comparison of the arms is suspect.
type SRM struct {
	// Expected are the configured shares, normalized to sum to 1, and
	// Observed the shares of the assigned units (all 0 when none are).
	Expected, Observed []float64
	// Total is the number of assigned units.
	Total int64
	// ChiSquare is Pearson's goodness-of-fit statistic Σ (O − E)²/E over
	// the arms, with DF = arms − 1 degrees of freedom.
	ChiSquare float64
	DF        int
	// PValue is the chi-square tail probability of ChiSquare: 1 when
	// nothing is assigned.
	PValue float64
	// Threshold is the p-value below which the split counts as broken.
	Threshold float64
	// Mismatch reports PValue < Threshold.
	Mismatch bool
	// Summary says it in a sentence: "split 50/50 expected, saw
	// 52.3/47.7 over 20,000 users: p=1e-10, the split is broken".
	Summary string
}

// CheckSRM compares the units assigned to each arm with the configured
// shares by Pearson's chi-square goodness-of-fit test and flags a
// mismatch when its p-value falls below threshold (0 means
// DefaultSRMThreshold, 0.001). unit names what is counted in the
// summary (empty means DefaultUnit).
//
// The check is a fixed-sample test applied at every look, so over a long
// experiment its false alarms add up; the low threshold keeps them rare
// (measured in simulation_test.go), and a real mismatch of a few percent
// of the traffic drives the p-value far below it within thousands of
// units. It flags nothing until every arm expects SRMMinExpected units:
// below that the chi-square approximation does not hold, and the first
// handful of requests of a test (a few users, each kept on one arm) says
// nothing about the split. A split that sends everything to one arm is
// still caught at the first look past it (p ≈ 1e-12 with two arms).
func CheckSRM(assigned []int64, shares []float64, threshold float64, unit string) (SRM, error) {
	if err := validateSRM(assigned, shares, threshold); err != nil {
		return SRM{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if threshold == 0 {
		threshold = DefaultSRMThreshold
	}
	if unit == "" {
		unit = DefaultUnit
	}
	s := SRM{
		Expected: make([]float64, len(shares)), Observed: make([]float64, len(shares)),
		DF: len(shares) - 1, PValue: 1, Threshold: threshold,
	}
	sumShares := 0.0
	for i, a := range assigned {
		s.Total += a
		sumShares += shares[i]
	}
	for i := range shares {
		s.Expected[i] = shares[i] / sumShares
	}
	if s.Total > 0 {
		n := float64(s.Total)
		for i, a := range assigned {
			s.Observed[i] = float64(a) / n
			e := s.Expected[i] * n
			d := float64(a) - e
			s.ChiSquare += d * d / e
		}
		s.PValue = chiSquareSF(s.ChiSquare, float64(s.DF))
		s.Mismatch = s.PValue < threshold && s.enough()
	}
	s.Summary = s.summary(unit)
	return s, nil
}

// SRMMinExpected is how many units every arm must expect before a
// mismatch can be flagged.
const SRMMinExpected = 20

// enough reports whether every arm expects SRMMinExpected units.
func (s SRM) enough() bool {
	for _, e := range s.Expected {
		if e*float64(s.Total) < SRMMinExpected {
			return false
		}
	}
	return true
}

func validateSRM(assigned []int64, shares []float64, threshold float64) error {
	if len(assigned) != len(shares) {
		return fmt.Errorf("%d assigned counts for %d shares: need one share per arm", len(assigned), len(shares))
	}
	if len(assigned) < 2 {
		return fmt.Errorf("%d arms: a split needs at least 2", len(assigned))
	}
	var errs []error
	for i, a := range assigned {
		if a < 0 {
			errs = append(errs, fmt.Errorf("arms[%d].assigned %d: must not be negative", i, a))
		}
	}
	errs = append(errs, validateShares(shares)...)
	if !(threshold >= 0 && threshold < 1) {
		errs = append(errs, fmt.Errorf("srm threshold %v: must lie in (0, 1), or be 0 for %v", threshold, DefaultSRMThreshold))
	}
	return errors.Join(errs...)
}

func (s SRM) summary(unit string) string {
	exp := make([]string, len(s.Expected))
	obs := make([]string, len(s.Observed))
	for i := range s.Expected {
		exp[i] = formatShare(100 * s.Expected[i])
		obs[i] = fmt.Sprintf("%.1f", 100*s.Observed[i])
	}
	head := "split " + strings.Join(exp, "/") + " expected"
	if s.Total == 0 {
		return head + fmt.Sprintf(", no %s assigned yet", unit)
	}
	verdict := "consistent with it"
	switch {
	case s.Mismatch:
		verdict = "the split is broken"
	case !s.enough():
		verdict = fmt.Sprintf("too few %s to judge it yet", unit)
	}
	return fmt.Sprintf("%s, saw %s over %s %s: p=%s, %s",
		head, strings.Join(obs, "/"), formatCount(s.Total), unit, formatP(s.PValue), verdict)
}

// chiSquareSF is the upper tail probability of the chi-square
// distribution with df degrees of freedom at x: the regularized upper
// incomplete gamma function Q(df/2, x/2).
func chiSquareSF(x, df float64) float64 {
	if x <= 0 {
		return 1
	}
	return gammaQ(df/2, x/2)
}

// gammaQ is the regularized upper incomplete gamma function Q(a, x) for
// a > 0, x > 0: from the series of P(a, x) = 1 − Q (DLMF 8.11.4, with
// γ*(a, x) expanded as Σ xⁿ/Γ(a + n + 1)) when x < a + 1, and otherwise
// from the continued fraction of Γ(a, x) (DLMF 8.9.2) by the modified
// Lentz method, which keeps full relative precision far in the tail,
// where the p-values of a broken split lie.
func gammaQ(a, x float64) float64 {
	lga, _ := math.Lgamma(a)
	front := math.Exp(a*math.Log(x) - x - lga) // xᵃ e⁻ˣ / Γ(a)
	if x < a+1 {
		// P = xᵃ e⁻ˣ/Γ(a) · Σ xⁿ/(a(a + 1)…(a + n)).
		term := 1 / a
		sum := term
		for n := 1.0; n < 10000; n++ {
			term *= x / (a + n)
			sum += term
			if term < sum*1e-17 {
				break
			}
		}
		return max(0, 1-front*sum)
	}
	// Γ(a, x) = xᵃ e⁻ˣ · 1/(x + 1 − a − 1·(1 − a)/(x + 3 − a − 2(2 − a)/(x + 5 − a − …))).
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for n := 1.0; n < 10000; n++ {
		an := -n * (n - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		delta := d * c
		h *= delta
		if math.Abs(delta-1) <= 1e-16 {
			break
		}
	}
	return front * h
}
