package experiment

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/slipway-ml/slipway/internal/stats"
)

// Defaults of Options and Guardrail (see the package documentation for
// why).
const (
	// DefaultAlpha is the family-wise false-winner rate when
	// Options.Alpha is zero.
	DefaultAlpha = 0.05
	// DefaultSRMThreshold is the p-value below which a split counts as
	// broken when Options.SRMThreshold is zero.
	DefaultSRMThreshold = 0.001
	// DefaultUnit is what Arm.Assigned counts when Options.Unit is empty.
	DefaultUnit = "users"
)

// Kind is the kind of a metric's values.
type Kind int

const (
	// Binary values are 0 or 1 (converted, clicked, churned): an arm's
	// Values.Sum is its number of ones, and Values.SumSq is ignored.
	Binary Kind = iota
	// Continuous values are any real numbers (revenue, session length),
	// summarized by their count, sum and sum of squares.
	Continuous
)

func (k Kind) String() string {
	switch k {
	case Binary:
		return "binary"
	case Continuous:
		return "continuous"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Metric describes the values compared.
type Metric struct {
	// Name stands where the verb stands in sentences: "v2 converts 5.4%
	// vs 4.9% control", "v2 errors 1.35% vs 1% v1". Empty means
	// "converts" for Binary and "averages" for Continuous.
	Name string
	// Kind is the kind of values; the zero value is Binary.
	Kind Kind
	// LowerIsBetter marks metrics where smaller values win (latency,
	// errors, churn). The zero value means larger values win.
	LowerIsBetter bool
}

// Arm is one version under test with what it has observed so far. The
// first arm of an experiment is the control.
type Arm struct {
	// Name is the version's name, unique in the experiment.
	Name string
	// Share is the configured share of traffic in (0, 1); the shares of
	// an experiment's arms sum to 1.
	Share float64
	// Assigned counts the units (users, or requests) routed to the arm,
	// which the sample-ratio check compares with Share. Zero is valid
	// before any traffic.
	Assigned int64
	// Values summarizes the metric's observations: N values with their
	// sum and sum of squares; for a Binary metric Sum is the number of
	// ones.
	Values stats.Moments
}

// Options configures Analyze. The zero value is ready to use: each zero
// field takes its default.
type Options struct {
	// Metric is the primary metric that decides the winner.
	Metric Metric
	// Alpha bounds the chance of ever declaring a false winner, however
	// often Analyze is called. It is split evenly (Bonferroni) over the
	// comparisons of each challenger with the control. Zero means
	// DefaultAlpha; otherwise it must lie in (0, 1).
	Alpha float64
	// Tau2 is the mixing variance of the sequential test in units of one
	// observation's variance (see stats.SeqOptions.Tau2). Zero means
	// stats.DefaultTau2.
	Tau2 float64
	// MinSamples is the number of observations every arm needs before a
	// winner is declared. Zero means no minimum.
	MinSamples int64
	// MinDuration is how long the experiment must have run before a
	// winner is declared, so that weekday and time-of-day cycles are
	// covered. Zero means no minimum.
	MinDuration time.Duration
	// SRMThreshold is the p-value of the sample-ratio check below which
	// the split counts as broken and no winner is declared. Zero means
	// DefaultSRMThreshold; otherwise it must lie in (0, 1).
	SRMThreshold float64
	// Unit names what Arm.Assigned counts, in sentences. Empty means
	// DefaultUnit.
	Unit string
}

// validate reports every field outside its range, naming it.
func (o Options) validate() error {
	errs := validateLevels("options", o.Alpha, o.Tau2, o.Metric.Kind)
	if o.MinSamples < 0 {
		errs = append(errs, fmt.Errorf("options.minSamples %d: must not be negative", o.MinSamples))
	}
	if o.MinDuration < 0 {
		errs = append(errs, fmt.Errorf("options.minDuration %v: must not be negative", o.MinDuration))
	}
	if !(o.SRMThreshold >= 0 && o.SRMThreshold < 1) {
		errs = append(errs, fmt.Errorf("options.srmThreshold %v: must lie in (0, 1), or be 0 for %v", o.SRMThreshold, DefaultSRMThreshold))
	}
	return errors.Join(errs...)
}

// validateLevels checks the fields Options and Guardrail share, under
// the prefix that names their owner.
func validateLevels(prefix string, alpha, tau2 float64, kind Kind) []error {
	var errs []error
	if !(alpha >= 0 && alpha < 1) {
		errs = append(errs, fmt.Errorf("%s.alpha %v: must lie in (0, 1), or be 0 for %v", prefix, alpha, DefaultAlpha))
	}
	if !(tau2 >= 0 && !math.IsInf(tau2, 1)) {
		errs = append(errs, fmt.Errorf("%s.tau2 %v: must be positive and finite, or 0 for %v", prefix, tau2, stats.DefaultTau2))
	}
	if kind != Binary && kind != Continuous {
		errs = append(errs, fmt.Errorf("%s.metric.kind %v: must be binary or continuous", prefix, kind))
	}
	return errs
}

func (o Options) withDefaults() Options {
	if o.Alpha == 0 {
		o.Alpha = DefaultAlpha
	}
	if o.Tau2 == 0 {
		o.Tau2 = stats.DefaultTau2
	}
	if o.SRMThreshold == 0 {
		o.SRMThreshold = DefaultSRMThreshold
	}
	if o.Unit == "" {
		o.Unit = DefaultUnit
	}
	return o
}

// ErrInvalid is wrapped by every error about bad input, for callers
// that map it to a client error.
var ErrInvalid = errors.New("invalid experiment input")

// validateArms reports every problem with the arms, naming the arm by
// index and name, and the field.
func validateArms(arms []Arm, kind Kind) error {
	if len(arms) < 2 {
		return fmt.Errorf("%w: %d arms: an experiment needs a control and at least one challenger", ErrInvalid, len(arms))
	}
	var errs []error
	seen := make(map[string]int, len(arms))
	shares := make([]float64, len(arms))
	for i, a := range arms {
		at := fmt.Sprintf("arms[%d] (%q)", i, a.Name)
		if a.Name == "" {
			errs = append(errs, fmt.Errorf("arms[%d].name: empty", i))
		} else if j, dup := seen[a.Name]; dup {
			errs = append(errs, fmt.Errorf("%s.name: duplicates arms[%d]", at, j))
		}
		seen[a.Name] = i
		shares[i] = a.Share
		if a.Assigned < 0 {
			errs = append(errs, fmt.Errorf("%s.assigned %d: must not be negative", at, a.Assigned))
		}
		errs = append(errs, validateValues(at, a.Values, kind)...)
	}
	errs = append(errs, validateShares(shares)...)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

func validateValues(at string, m stats.Moments, kind Kind) []error {
	var errs []error
	if m.N < 0 {
		errs = append(errs, fmt.Errorf("%s.values.n %d: must not be negative", at, m.N))
	}
	if math.IsNaN(m.Sum) || math.IsInf(m.Sum, 0) {
		errs = append(errs, fmt.Errorf("%s.values.sum %v: must be finite", at, m.Sum))
	}
	switch kind {
	case Binary:
		if m.Sum < 0 || m.Sum > float64(m.N) || m.Sum != math.Trunc(m.Sum) {
			errs = append(errs, fmt.Errorf("%s.values.sum %v: a binary metric's sum counts ones, a whole number in [0, n = %d]", at, m.Sum, m.N))
		}
	case Continuous:
		if !(m.SumSq >= 0) || math.IsInf(m.SumSq, 0) {
			errs = append(errs, fmt.Errorf("%s.values.sumSq %v: must be finite and not negative", at, m.SumSq))
		}
	}
	return errs
}

// shareTolerance is how far the shares' sum may stray from 1, for shares
// written as decimals (three arms of 0.333).
const shareTolerance = 1e-3

func validateShares(shares []float64) []error {
	var errs []error
	sum := 0.0
	for i, s := range shares {
		if !(s > 0 && s < 1) {
			errs = append(errs, fmt.Errorf("arms[%d].share %v: must lie in (0, 1)", i, s))
		}
		sum += s
	}
	if len(errs) == 0 && math.Abs(sum-1) > shareTolerance {
		errs = append(errs, fmt.Errorf("arms[*].share: sum to %v, must sum to 1", sum))
	}
	return errs
}

// binaryValues returns m with the sum of squares of 0/1 values, which
// equals their sum.
func binaryValues(m stats.Moments) stats.Moments {
	m.SumSq = m.Sum
	return m
}
