package xgboost

import (
	"maps"
	"math"
	"slices"
	"strings"
)

// link says how a row's margins become its predictions.
type link uint8

const (
	linkIdentity link = iota // the margin itself
	linkSigmoid              // 1 / (1 + e^-margin)
	linkSoftmax              // one probability per class
	linkArgmax               // the index of the class with the largest margin
)

// objective is what the package needs to know about a learning objective.
type objective struct {
	link link
	// multiclass objectives have one output group per class.
	multiclass bool
	// probBase objectives keep base_score as a probability; the margin
	// starts from its logit.
	probBase bool
}

// objectives lists the supported learner.objective.name values.
var objectives = map[string]objective{
	"binary:logistic":  {link: linkSigmoid, probBase: true},
	"reg:logistic":     {link: linkSigmoid, probBase: true},
	"reg:squarederror": {link: linkIdentity},
	"multi:softprob":   {link: linkSoftmax, multiclass: true},
	"multi:softmax":    {link: linkArgmax, multiclass: true},
}

// supportedObjectives names the supported objectives for error messages.
func supportedObjectives() string {
	return "want " + strings.Join(slices.Sorted(maps.Keys(objectives)), ", ")
}

// XGBoost computes in float32 with the C library's expf and logf; these
// compute in float64 and round once, which gives the correctly rounded
// float32 result that glibc's expf and logf also return.

func expf(x float32) float32 { return float32(math.Exp(float64(x))) }

func logf(x float32) float32 { return float32(math.Log(float64(x))) }

// probToMargin is XGBoost's logistic ProbToMargin: -logf(1/p - 1).
func probToMargin(p float32) float32 {
	return -logf(1/p - 1)
}

// sigmoid is XGBoost's common::Sigmoid: the exponent is clamped so that
// expf cannot overflow.
func sigmoid(x float32) float32 {
	return 1 / (expf(min(-x, 88.7)) + 1)
}

// softmax replaces margins with class probabilities in place, as XGBoost's
// common::Softmax does: float32 exponentials of the margins less their
// maximum, summed in float64.
func softmax(v []float32) {
	wmax := v[0]
	for _, x := range v[1:] {
		wmax = max(wmax, x)
	}
	var wsum float64
	for i, x := range v {
		v[i] = expf(x - wmax)
		wsum += float64(v[i])
	}
	for i := range v {
		v[i] /= float32(wsum)
	}
}
