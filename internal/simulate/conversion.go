package simulate

import (
	"math/rand/v2"
	"slices"
)

// Autofill simulates the users of a sign-up form that reads a handwritten
// digit from a photo with a classifier: when the classifier's top
// probability reaches Confidence, the form fills the digit in; otherwise
// the user types it. A user converts (finishes the form) with probability
// Filled when the filled-in digit is right, Typed when they had to type
// it, and Wrong when it was filled in wrong. A user's chance to convert
// thus comes from the answering version's own outputs on the row sent,
// nothing else: a version that is sure and right more often converts more.
type Autofill struct {
	// Output names the probabilities tensor, one per class; the predicted
	// class is its argmax and the row's label the right one.
	Output string
	// Confidence is the top probability from which the digit is filled
	// in, from 0 to 1.
	Confidence float64
	// Filled, Typed and Wrong are the chances to convert, from 0 to 1.
	Filled, Typed, Wrong float64
	// Value names the business value sent: 1 when the user converted,
	// 0 otherwise. Empty means "conversion".
	Value string
}

// Probability is the chance that the user who got a converts; 0 when the
// answer lacks the probabilities.
func (f Autofill) Probability(a Answer) float64 {
	p := a.Outputs[f.Output]
	if len(p) == 0 {
		return 0
	}
	best := slices.Index(p, slices.Max(p))
	switch {
	case p[best] < f.Confidence:
		return f.Typed
	case float64(best) == a.Label:
		return f.Filled
	}
	return f.Wrong
}

// Values draws whether the user converted, for Traffic.Values.
func (f Autofill) Values(a Answer, rng *rand.Rand) map[string]float64 {
	name := f.Value
	if name == "" {
		name = "conversion"
	}
	v := 0.0
	if rng.Float64() < f.Probability(a) {
		v = 1
	}
	return map[string]float64{name: v}
}
