package analysis

import (
	"fmt"
	"sort"
	"strings"

	"github.com/slipway-ml/slipway/internal/telemetry"
)

// Metrics whose value compares the two versions: drift between their
// distributions, and a shadow's answers against the baseline's.

// predictionDrift is the PSI between the distributions of the two
// versions' outputs, predictionJS their Jensen–Shannon divergence.
var (
	predictionDrift = predictionDivergence(psiTerm)
	predictionJS    = predictionDivergence(jsTerm)
)

// predictionDivergence compares the distributions of the two versions'
// outputs by the divergence term sums over bins: scores in [0,1] over
// the fixed score histogram, other scores over the baseline's deciles,
// class ids over the classes.
func predictionDivergence(term binTerm) measure {
	return func(e *Evidence, _ target) measurement {
		ms := measurement{noun: nounPredictions, comparison: true, baseSamples: true}
		c, b, ok := e.compared(&ms)
		if !ok {
			return ms
		}
		cp, bp := &c.Predictions, &b.Predictions
		cScores, bScores := cp.ScoreCount > 0, bp.ScoreCount > 0
		cClasses, bClasses := classCount(cp) > 0, classCount(bp) > 0
		switch {
		case cScores && bScores:
			ms.base.n = bp.ScoreCount
			if cp.ScoresOutside == 0 && bp.ScoresOutside == 0 {
				ms.cand = measured(divergenceCounts(term, cp.ScoreHistogram[:], bp.ScoreHistogram[:], 0, 0), cp.ScoreCount)
			} else {
				ms.cand = measured(divergenceSketches(term, cp.Scores, bp.Scores), cp.ScoreCount)
			}
		case !cScores && !bScores && cClasses && bClasses:
			ms.cand = measured(divergenceCounts(term, cp.Classes, bp.Classes, cp.ClassesOther, bp.ClassesOther), classCount(cp))
			ms.base.n = classCount(bp)
		case (cScores || cClasses) && (bScores || bClasses):
			ms.cand = impossible("the versions' outputs differ in kind (scores against class ids), so their distributions cannot be compared")
		default:
			ms.cand = missing(max(cp.ScoreCount, classCount(cp)), "no predictions yet")
			ms.base.n = max(bp.ScoreCount, classCount(bp))
			if e.Query.Shadow && ms.cand.n == 0 {
				ms.cand = impossible(noPredictionsInShadow)
			}
		}
		return ms
	}
}

// compared returns both versions' measurements for a metric that compares
// them, or records in ms why there is nothing to compare yet.
func (e *Evidence) compared(ms *measurement) (c, b *telemetry.Aggregate, ok bool) {
	if e.Candidate == nil || e.Baseline == nil {
		ms.cand = missing(0, noTelemetry)
		if e.Query.Shadow {
			ms.cand = impossible(noPredictionsInShadow)
		}
		return nil, nil, false
	}
	return e.Candidate, e.Baseline, true
}

func classCount(p *telemetry.PredictionAggregate) int64 {
	n := p.ClassesOther
	for _, c := range p.Classes {
		n += c
	}
	return n
}

// scoreShift is the Kolmogorov-Smirnov distance between the versions'
// scores.
func scoreShift(e *Evidence, _ target) measurement {
	ms := measurement{noun: nounPredictions, comparison: true, baseSamples: true}
	c, b, ok := e.compared(&ms)
	if !ok {
		return ms
	}
	cp, bp := &c.Predictions, &b.Predictions
	ms.base.n = bp.ScoreCount
	switch {
	case cp.ScoreCount > 0 && bp.ScoreCount > 0:
		ms.cand = measured(ksDistance(cp.Scores, bp.Scores), cp.ScoreCount)
	case classCount(cp) > 0 && cp.ScoreCount == 0:
		ms.cand = impossible("score-shift needs score outputs and the candidate outputs class ids; use prediction-drift")
	case e.Query.Shadow && cp.ScoreCount == 0:
		ms.cand = impossible(noPredictionsInShadow)
	default:
		ms.cand = missing(cp.ScoreCount, "no scores yet")
	}
	return ms
}

// featureDrift is the PSI of the feature t names, or the largest PSI over
// the features both versions saw.
func featureDrift(e *Evidence, t target) measurement {
	ms := measurement{noun: "feature values", comparison: true, baseSamples: true}
	c, b, ok := e.compared(&ms)
	if !ok {
		return ms
	}
	if t.feature != "" {
		return namedFeatureDrift(ms, c, b, t.feature)
	}
	// The largest drift over the features with enough samples in both
	// versions; if none has, the feature with the most, to report the
	// shortage.
	best, bestPSI, ready, common := -1, -1.0, false, false
	var bestBase *telemetry.FeatureAggregate
	for i := range c.Features {
		cf := &c.Features[i]
		bf := findFeature(b, cf.Name, i)
		common = common || bf != nil
		if bf == nil || cf.Present() == 0 || bf.Present() == 0 {
			continue
		}
		enough := cf.Present() >= t.minSamples && bf.Present() >= t.minSamples
		switch {
		case enough:
			if psi := psiSketches(cf.Sketch, bf.Sketch); !ready || psi > bestPSI {
				best, bestPSI, bestBase, ready = i, psi, bf, true
			}
		case !ready && (best < 0 || min(cf.Present(), bf.Present()) > min(c.Features[best].Present(), bestBase.Present())):
			best, bestBase = i, bf
		}
	}
	switch {
	case best >= 0:
	case len(c.Features) > 0 && len(b.Features) > 0 && !common:
		ms.cand = impossible("the versions have no input feature in common; they have " + knownFeatures(c, b))
		return ms
	case len(c.Features) == 0 && len(b.Features) == 0 && c.OK > 0 && b.OK > 0:
		ms.cand = impossible("no numeric input features recorded (BYTES inputs and tensors of rank above 2 are not summarised)")
		return ms
	default:
		ms.cand = missing(0, "no input feature values yet")
		return ms
	}
	cf := &c.Features[best]
	ms.feature = cf.Name
	ms.base.n = bestBase.Present()
	if !ready {
		ms.cand = missing(cf.Present(), "too few values")
		return ms
	}
	ms.cand = measured(bestPSI, cf.Present())
	return ms
}

func namedFeatureDrift(ms measurement, c, b *telemetry.Aggregate, name string) measurement {
	ms.feature = name
	cf, bf := findFeature(c, name, -1), findFeature(b, name, -1)
	// A version that has recorded features but not this one will not.
	cLacks, bLacks := cf == nil && len(c.Features) > 0, bf == nil && len(b.Features) > 0
	switch {
	case cLacks || bLacks:
		which := "the candidate or the baseline"
		if !bLacks {
			which = "the candidate"
		} else if !cLacks {
			which = "the baseline"
		}
		ms.cand = impossible(fmt.Sprintf("no feature %q in %s; they have %s", name, which, knownFeatures(c, b)))
	case cf == nil || bf == nil || cf.Present() == 0 || bf.Present() == 0:
		ms.cand, ms.base.n = missing(present(cf), "no values yet"), present(bf)
	default:
		ms.cand, ms.base.n = measured(psiSketches(cf.Sketch, bf.Sketch), cf.Present()), bf.Present()
	}
	return ms
}

func present(f *telemetry.FeatureAggregate) int64 {
	if f == nil {
		return 0
	}
	return f.Present()
}

// findFeature finds a's feature by name, trying position hint first:
// versions usually see their features in the same order.
func findFeature(a *telemetry.Aggregate, name string, hint int) *telemetry.FeatureAggregate {
	if hint >= 0 && hint < len(a.Features) && a.Features[hint].Name == name {
		return &a.Features[hint]
	}
	for i := range a.Features {
		if a.Features[i].Name == name {
			return &a.Features[i]
		}
	}
	return nil
}

func knownFeatures(c, b *telemetry.Aggregate) string {
	seen := map[string]bool{}
	var names []string
	for _, a := range []*telemetry.Aggregate{c, b} {
		for i := range a.Features {
			if n := a.Features[i].Name; !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return "no features recorded"
	}
	sort.Strings(names)
	return "features " + strings.Join(names, ", ")
}

// Shadow metrics.

const (
	agreementNeedsShadow = "agreement compares the candidate's answers to mirrored requests with the baseline's, so it needs a shadow step"
	scoreDiffNeedsShadow = "score-diff compares the candidate's answers to mirrored requests with the baseline's, so it needs a shadow step"
)

func agreement(e *Evidence, _ target) measurement {
	ms := measurement{noun: "compared rows", comparison: true}
	sh, why := e.shadowFor(agreementNeedsShadow)
	switch {
	case why != "":
		ms.cand = impossible(why)
	case sh == nil || sh.Rows == 0:
		ms.cand = missing(0, "no mirrored requests compared yet")
	default:
		ms.cand = measured(100*float64(sh.Agreements)/float64(sh.Rows), sh.Rows)
	}
	return ms
}

func scoreDiff(e *Evidence, _ target) measurement {
	ms := measurement{noun: "compared scores", comparison: true}
	sh, why := e.shadowFor(scoreDiffNeedsShadow)
	switch {
	case why != "":
		ms.cand = impossible(why)
	case sh == nil || sh.Rows == 0:
		ms.cand = missing(0, "no mirrored requests compared yet")
	case sh.ScoreDiffN == 0:
		ms.cand = impossible("no score differences: the versions output class ids; use agreement")
	default:
		ms.cand = measured(sh.ScoreDiffSum/float64(sh.ScoreDiffN), sh.ScoreDiffN)
	}
	return ms
}

// shadowFor is the shadow comparison for a shadow-only metric, or
// outside a shadow step why the metric cannot be measured.
func (e *Evidence) shadowFor(outside string) (*telemetry.ShadowAggregate, string) {
	if !e.Query.Shadow {
		return nil, outside
	}
	return e.shadow(), ""
}
