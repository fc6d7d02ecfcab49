package telemetry

import "math"

// Quality constants.
const (
	// AUCBins is the number of equal-width score bins over [0,1] kept per
	// label for ROC AUC. Pairs of a positive and a negative whose scores
	// share a bin count as ties (one half), so the AUC from the histogram
	// differs from the exact AUC by at most half the share of
	// positive-negative pairs that fall in a common bin. That is small
	// unless most scores of both labels crowd one 0.001-wide bin: 2.9e-4 on
	// the fraud example, whose legitimate scores crowd near 0.
	AUCBins = 1000
	// Threshold is the score at and above which a binary prediction is
	// positive, for accuracy, precision, recall and F1.
	Threshold = 0.5
	// LogLossEpsilon clips probabilities to [ε, 1-ε] in log loss.
	LogLossEpsilon = 1e-15
)

// QualityAggregate is a version's quality measured from joined feedback.
// The task is told by the prediction each label joins:
//
//   - A score (a [1] float output, or column 1 of [1,2] probabilities) with
//     a label: the absolute and squared errors always count (MAE, RMSE; for
//     a probability RMSE² is the Brier score). When the score is in [0,1]
//     and the label is 0 or 1 it also counts as a binary classification:
//     the confusion matrix at Threshold, log loss and the AUC histogram;
//     otherwise NotBinary counts it, and binary metrics are undefined for
//     the whole span.
//   - Class probabilities ([1,k], k ≥ 3): accuracy (argmax equals the
//     label) and the log loss of the label's probability (zero, clipped,
//     when the label is not a class id below k).
//   - A class id (an integer output): accuracy only.
type QualityAggregate struct {
	Joined  int64 // feedback joined to this version, labelled or not
	Labeled int64 // joined feedback with a label

	TP, FP, TN, FN int64
	LogLossSum     float64 // binary log loss, summed
	// AUCPositives and AUCNegatives count binary scores per bin by label:
	// bin i holds [i/AUCBins, (i+1)/AUCBins), the last also holds 1. Nil
	// until the first binary label. Counts are 32-bit (the live bucket's
	// pair takes 8 KiB) and saturate at 2³²-1, 4 billion labels in one bin
	// of one window.
	AUCPositives []uint32
	AUCNegatives []uint32
	NotBinary    int64

	ClassN          int64 // labelled class predictions
	ClassCorrect    int64
	ClassLogLossSum float64
	ClassLogLossN   int64

	RegressionN     int64 // labelled score predictions
	AbsErrorSum     float64
	SquaredErrorSum float64

	aucPacked []byte // the AUC histograms once sealed (see packCounts)
}

func (q *QualityAggregate) reset() {
	pos, neg, packed := q.AUCPositives, q.AUCNegatives, q.aucPacked[:0]
	clear(pos)
	clear(neg)
	*q = QualityAggregate{AUCPositives: pos, AUCNegatives: neg, aucPacked: packed}
}

func (q *QualityAggregate) seal(p *sketchPool) {
	p.sealCounts(&q.aucPacked, &q.AUCPositives, &q.AUCNegatives)
}

func (q *QualityAggregate) merge(o *QualityAggregate) {
	q.Joined += o.Joined
	q.Labeled += o.Labeled
	q.TP += o.TP
	q.FP += o.FP
	q.TN += o.TN
	q.FN += o.FN
	q.LogLossSum += o.LogLossSum
	if o.binaryN() > 0 {
		if q.AUCPositives == nil {
			q.AUCPositives = make([]uint32, AUCBins)
			q.AUCNegatives = make([]uint32, AUCBins)
		}
		if o.AUCPositives != nil {
			for i := range AUCBins {
				q.AUCPositives[i] = addSaturating(q.AUCPositives[i], o.AUCPositives[i])
				q.AUCNegatives[i] = addSaturating(q.AUCNegatives[i], o.AUCNegatives[i])
			}
		}
		unpackCounts(o.aucPacked, q.AUCPositives, q.AUCNegatives)
	}
	q.NotBinary += o.NotBinary
	q.ClassN += o.ClassN
	q.ClassCorrect += o.ClassCorrect
	q.ClassLogLossSum += o.ClassLogLossSum
	q.ClassLogLossN += o.ClassLogLossN
	q.RegressionN += o.RegressionN
	q.AbsErrorSum += o.AbsErrorSum
	q.SquaredErrorSum += o.SquaredErrorSum
}

func addSaturating(a, b uint32) uint32 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxUint32
}

func (q *QualityAggregate) binaryN() int64 { return q.TP + q.FP + q.TN + q.FN }

// add counts one labelled prediction.
func (q *QualityAggregate) add(j *joined, label float64, p *sketchPool) {
	q.Labeled++
	switch j.kind {
	case predScore:
		q.addScore(j.score, label, p)
	case predClass, predProbs:
		q.ClassN++
		if float64(j.class) == label {
			q.ClassCorrect++
		}
		if j.kind == predProbs {
			q.ClassLogLossSum -= math.Log(clip(j.labelProb))
			q.ClassLogLossN++
		}
	}
}

func (q *QualityAggregate) addScore(s, y float64, p *sketchPool) {
	if math.IsNaN(s) || math.IsInf(s, 0) {
		q.NotBinary++
		return
	}
	q.RegressionN++
	q.AbsErrorSum += math.Abs(s - y)
	q.SquaredErrorSum += (s - y) * (s - y)
	if s < 0 || s > 1 || (y != 0 && y != 1) {
		q.NotBinary++
		return
	}
	positive := s >= Threshold
	switch {
	case y == 1 && positive:
		q.TP++
	case y == 1:
		q.FN++
	case positive:
		q.FP++
	default:
		q.TN++
	}
	if y == 1 {
		q.LogLossSum -= math.Log(clip(s))
	} else {
		q.LogLossSum -= math.Log(1 - clip(s))
	}
	if q.AUCPositives == nil {
		q.AUCPositives, q.AUCNegatives = p.histogram(), p.histogram()
	}
	bin := min(int(s*AUCBins), AUCBins-1)
	if y == 1 {
		q.AUCPositives[bin] = addSaturating(q.AUCPositives[bin], 1)
	} else {
		q.AUCNegatives[bin] = addSaturating(q.AUCNegatives[bin], 1)
	}
}

func clip(p float64) float64 {
	return min(max(p, LogLossEpsilon), 1-LogLossEpsilon)
}

// binary reports whether binary metrics are defined: some binary labels
// and no score labels that were not binary.
func (q *QualityAggregate) binary() bool { return q.binaryN() > 0 && q.NotBinary == 0 }

// Accuracy is the share of correct binary (at Threshold) and class
// predictions.
func (q *QualityAggregate) Accuracy() (float64, bool) {
	n, correct := q.ClassN, q.ClassCorrect
	if q.binary() {
		n += q.binaryN()
		correct += q.TP + q.TN
	}
	return ratio(float64(correct), float64(n))
}

// Precision is TP / (TP + FP).
func (q *QualityAggregate) Precision() (float64, bool) {
	if !q.binary() {
		return 0, false
	}
	return ratio(float64(q.TP), float64(q.TP+q.FP))
}

// Recall is TP / (TP + FN).
func (q *QualityAggregate) Recall() (float64, bool) {
	if !q.binary() {
		return 0, false
	}
	return ratio(float64(q.TP), float64(q.TP+q.FN))
}

// F1 is 2TP / (2TP + FP + FN), the harmonic mean of precision and recall.
func (q *QualityAggregate) F1() (float64, bool) {
	if !q.binary() {
		return 0, false
	}
	return ratio(float64(2*q.TP), float64(2*q.TP+q.FP+q.FN))
}

// LogLoss is the mean log loss over binary and class-probability labels.
func (q *QualityAggregate) LogLoss() (float64, bool) {
	sum, n := q.ClassLogLossSum, q.ClassLogLossN
	if q.binary() {
		sum += q.LogLossSum
		n += q.binaryN()
	}
	return ratio(sum, float64(n))
}

// AUC is the area under the ROC curve from the binned scores (see
// AUCBins for its error); undefined without both labels.
func (q *QualityAggregate) AUC() (float64, bool) {
	if !q.binary() {
		return 0, false
	}
	var pos, neg float64
	for i := range AUCBins {
		pos += float64(q.AUCPositives[i])
		neg += float64(q.AUCNegatives[i])
	}
	if pos == 0 || neg == 0 {
		return 0, false
	}
	var below, area float64
	for i := range AUCBins {
		area += float64(q.AUCPositives[i]) * (below + 0.5*float64(q.AUCNegatives[i]))
		below += float64(q.AUCNegatives[i])
	}
	return area / (pos * neg), true
}

// MAE is the mean absolute error of labelled scores.
func (q *QualityAggregate) MAE() (float64, bool) {
	return ratio(q.AbsErrorSum, float64(q.RegressionN))
}

// RMSE is the root mean squared error of labelled scores.
func (q *QualityAggregate) RMSE() (float64, bool) {
	mse, ok := ratio(q.SquaredErrorSum, float64(q.RegressionN))
	return math.Sqrt(mse), ok
}

// ratio is a/b, undefined when b is zero.
func ratio(a, b float64) (float64, bool) {
	if b == 0 {
		return 0, false
	}
	return a / b, true
}
