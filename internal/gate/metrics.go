package gate

import (
	"math"
	"sort"
)

// The offline quality metrics, defined as scikit-learn defines them so
// that a number in a gate report means what a data scientist's notebook
// says it means; testdata/reference.py checks each against scikit-learn.

// epsilon clips probabilities before a logarithm, as scikit-learn's
// log_loss does for float64 input (numpy's float64 machine epsilon).
const epsilon = 2.220446049250313e-16

// CalibrationBins is how many equal-width bins the expected calibration
// error uses.
const CalibrationBins = 10

// Binary computes the classification metrics of a binary classifier:
// labels are 0 or 1, scores the predicted probability of 1, and a row is
// predicted positive when its score is at least threshold.
func Binary(labels []int, scores []float64, threshold float64) map[string]float64 {
	pred := make([]int, len(scores))
	for i, s := range scores {
		if s >= threshold {
			pred[i] = 1
		}
	}
	precision, recall, f1 := binaryPRF(labels, pred, 1)
	return map[string]float64{
		MetricAccuracy:    accuracy(labels, pred),
		MetricPrecision:   precision,
		MetricRecall:      recall,
		MetricF1:          f1,
		MetricAUC:         rocAUC(labels, scores, 1),
		MetricLogLoss:     binaryLogLoss(labels, scores),
		MetricCalibration: calibrationError(positives(labels), scores),
	}
}

// Multiclass computes the classification metrics of a classifier with
// one probability per class (probs is rows × classes, row-major): the
// predicted class is the most probable (the first on a tie); precision,
// recall, F1 and ROC AUC (one class against the rest) are macro averages
// over the classes; the calibration error compares the top probability
// with whether that class was right.
func Multiclass(labels []int, probs []float64, classes int) map[string]float64 {
	n := len(labels)
	pred := make([]int, n)
	conf := make([]float64, n)
	for i := range n {
		row := probs[i*classes : (i+1)*classes]
		best := 0
		for k, p := range row {
			if p > row[best] {
				best = k
			}
		}
		pred[i], conf[i] = best, row[best]
	}
	precision, recall, f1 := macroPRF(labels, pred)
	var auc float64
	col := make([]float64, n)
	for k := range classes {
		for i := range n {
			col[i] = probs[i*classes+k]
		}
		auc += rocAUC(labels, col, k)
	}
	correct := make([]bool, n)
	for i := range n {
		correct[i] = pred[i] == labels[i]
	}
	return map[string]float64{
		MetricAccuracy:    accuracy(labels, pred),
		MetricPrecision:   precision,
		MetricRecall:      recall,
		MetricF1:          f1,
		MetricAUC:         auc / float64(classes),
		MetricLogLoss:     multiLogLoss(labels, probs, classes),
		MetricCalibration: calibrationError(correct, conf),
	}
}

// Regression computes mean absolute error, root mean squared error and
// the coefficient of determination.
func Regression(truth, pred []float64) map[string]float64 {
	n := float64(len(truth))
	var mean float64
	for _, y := range truth {
		mean += y
	}
	mean /= n
	var abs, sq, tot float64
	for i, y := range truth {
		d := y - pred[i]
		abs += math.Abs(d)
		sq += d * d
		tot += (y - mean) * (y - mean)
	}
	r2 := 1 - sq/tot
	if tot == 0 { // scikit-learn's convention for a constant truth
		r2 = 0
		if sq == 0 {
			r2 = 1
		}
	}
	return map[string]float64{MetricMAE: abs / n, MetricRMSE: math.Sqrt(sq / n), MetricR2: r2}
}

func accuracy(labels, pred []int) float64 {
	var ok int
	for i, y := range labels {
		if pred[i] == y {
			ok++
		}
	}
	return float64(ok) / float64(len(labels))
}

// positives is whether each row's label is 1: what a binary classifier's
// score is calibrated against.
func positives(labels []int) []bool {
	out := make([]bool, len(labels))
	for i, y := range labels {
		out[i] = y == 1
	}
	return out
}

// binaryPRF is precision, recall and F1 of class pos; an undefined ratio
// (no predicted or no actual positives) is 0, as scikit-learn reports it.
func binaryPRF(labels, pred []int, pos int) (precision, recall, f1 float64) {
	var tp, fp, fn int
	for i, y := range labels {
		switch {
		case pred[i] == pos && y == pos:
			tp++
		case pred[i] == pos:
			fp++
		case y == pos:
			fn++
		}
	}
	precision = ratio(tp, tp+fp)
	recall = ratio(tp, tp+fn)
	f1 = ratio(2*tp, 2*tp+fp+fn)
	return precision, recall, f1
}

// macroPRF averages binaryPRF over every class seen in labels or pred.
func macroPRF(labels, pred []int) (precision, recall, f1 float64) {
	seen := map[int]bool{}
	for i, y := range labels {
		seen[y], seen[pred[i]] = true, true
	}
	for k := range seen {
		p, r, f := binaryPRF(labels, pred, k)
		precision, recall, f1 = precision+p, recall+r, f1+f
	}
	n := float64(len(seen))
	return precision / n, recall / n, f1 / n
}

func ratio(num, den int) float64 {
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

// rocAUC is the area under the ROC curve of class pos against the rest:
// the probability that a random positive scores above a random negative,
// ties counting one half (the Mann-Whitney statistic, which equals the
// trapezoidal area scikit-learn computes). NaN when only one class occurs.
func rocAUC(labels []int, scores []float64, pos int) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var rankSum float64
	var npos int
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // mean of the 1-based ranks i+1 … j
		for _, k := range idx[i:j] {
			if labels[k] == pos {
				rankSum += mid
				npos++
			}
		}
		i = j
	}
	nneg := len(labels) - npos
	if npos == 0 || nneg == 0 {
		return math.NaN()
	}
	p := float64(npos)
	return (rankSum - p*(p+1)/2) / (p * float64(nneg))
}

func clip(p float64) float64 { return min(max(p, epsilon), 1-epsilon) }

// binaryLogLoss follows scikit-learn: clip, pair with its complement,
// renormalise, average the negative log of the true class's share.
func binaryLogLoss(labels []int, scores []float64) float64 {
	var sum float64
	for i, y := range labels {
		p := clip(scores[i])
		q := 1 - p
		if y == 1 {
			sum -= math.Log(p / (q + p))
		} else {
			sum -= math.Log(q / (q + p))
		}
	}
	return sum / float64(len(labels))
}

func multiLogLoss(labels []int, probs []float64, classes int) float64 {
	var sum float64
	for i, y := range labels {
		var total float64
		for _, p := range probs[i*classes : (i+1)*classes] {
			total += clip(p)
		}
		sum -= math.Log(clip(probs[i*classes+y]) / total)
	}
	return sum / float64(len(labels))
}

// calibrationError is the expected calibration error over
// CalibrationBins equal-width bins of conf (scikit-learn's
// calibration_curve binning): the row-weighted mean, over non-empty bins,
// of |share of hits − mean confidence|.
func calibrationError(hit []bool, conf []float64) float64 {
	var count [CalibrationBins]int
	var hits, sums [CalibrationBins]float64
	for i, c := range conf {
		b := 0 // how many inner edges lie strictly below c
		for b < CalibrationBins-1 && float64(b+1)*(1.0/CalibrationBins) < c {
			b++
		}
		count[b]++
		sums[b] += c
		if hit[i] {
			hits[b]++
		}
	}
	var ece float64
	n := float64(len(conf))
	for b := range CalibrationBins {
		if count[b] == 0 {
			continue
		}
		k := float64(count[b])
		ece += k / n * math.Abs(hits[b]/k-sums[b]/k)
	}
	return ece
}
