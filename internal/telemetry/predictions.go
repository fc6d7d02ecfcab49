package telemetry

import (
	"math"

	"github.com/DataDog/sketches-go/ddsketch"

	"github.com/slipway-ml/slipway/internal/runtime"
)

// Prediction distribution bounds.
const (
	// ScoreBins is the number of equal-width bins over [0,1] in
	// PredictionAggregate.ScoreHistogram (for PSI on probabilities).
	ScoreBins = 20
	// MaxClasses bounds PredictionAggregate.Classes; class ids at or beyond
	// it count in ClassesOther.
	MaxClasses = 1024
)

// PredictionAggregate is the distribution of a version's outputs, one value
// per row.
type PredictionAggregate struct {
	// Scores holds every finite score: a [rows] float output, or column 1
	// of a two-class probability output. ScoreCount and ScoreSum are exact.
	Scores     *ddsketch.DDSketch
	ScoreCount int64
	ScoreSum   float64
	// ScoreHistogram bins the scores in [0,1]: bin i holds [i/20, (i+1)/20),
	// the last bin also holds 1. Scores outside [0,1] count in
	// ScoresOutside instead, and the histogram is not a distribution of
	// probabilities when that is not zero.
	ScoreHistogram [ScoreBins]int64
	ScoresOutside  int64
	// ScoresInvalid counts NaN or infinite scores, kept out of every field
	// above.
	ScoresInvalid int64

	// Classes counts rows per predicted class: the argmax of a [rows,k]
	// probability output, or the id an integer or boolean output names.
	// ClassesOther counts rows whose class was negative, at least
	// MaxClasses, or undefined (all probabilities NaN).
	Classes      []int64
	ClassesOther int64
	// Confidence holds the largest probability of each row of a [rows,k]
	// probability output; ConfidenceSum is their exact total.
	Confidence    *ddsketch.DDSketch
	ConfidenceSum float64

	scoresPacked, confidencePacked []byte // the sketches once sealed
}

func (p *PredictionAggregate) reset() {
	clearSketch(p.Scores)
	p.scoresPacked, p.confidencePacked = p.scoresPacked[:0], p.confidencePacked[:0]
	p.ScoreCount, p.ScoreSum = 0, 0
	p.ScoreHistogram = [ScoreBins]int64{}
	p.ScoresOutside, p.ScoresInvalid = 0, 0
	p.Classes = p.Classes[:0]
	p.ClassesOther = 0
	clearSketch(p.Confidence)
	p.ConfidenceSum = 0
}

func (p *PredictionAggregate) seal(sp *sketchPool) {
	sp.sealSketch(&p.Scores, &p.scoresPacked, false)
	sp.sealSketch(&p.Confidence, &p.confidencePacked, false)
}

func (p *PredictionAggregate) merge(o *PredictionAggregate, l *sketchLayout) {
	mergeSketch(&p.Scores, o.Scores)
	mergePacked(&p.Scores, o.scoresPacked, l.values)
	p.ScoreCount += o.ScoreCount
	p.ScoreSum += o.ScoreSum
	for i, n := range o.ScoreHistogram {
		p.ScoreHistogram[i] += n
	}
	p.ScoresOutside += o.ScoresOutside
	p.ScoresInvalid += o.ScoresInvalid
	for c, n := range o.Classes {
		p.countClass(c, n)
	}
	p.ClassesOther += o.ClassesOther
	mergeSketch(&p.Confidence, o.Confidence)
	mergePacked(&p.Confidence, o.confidencePacked, l.values)
	p.ConfidenceSum += o.ConfidenceSum
}

func (p *PredictionAggregate) addScore(v float64, l *sketchPool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		p.ScoresInvalid++
		return
	}
	p.ScoreCount++
	p.ScoreSum += v
	l.add(&p.Scores, v)
	if v < 0 || v > 1 {
		p.ScoresOutside++
		return
	}
	p.ScoreHistogram[min(int(v*ScoreBins), ScoreBins-1)]++
}

func (p *PredictionAggregate) countClass(c int, n int64) {
	if c < 0 || c >= MaxClasses {
		p.ClassesOther += n
		return
	}
	for len(p.Classes) <= c {
		p.Classes = append(p.Classes, 0)
	}
	p.Classes[c] += n
}

// add summarises an output tensor row by row. For a single-row output it
// also fills row with what a feedback join needs.
func (p *PredictionAggregate) add(t *runtime.Tensor, l *sketchPool, row *rowPrediction) {
	c, ok := columnOf(t.Data)
	if !ok {
		return
	}
	rows, k, ok := matrixShape(t.Shape, c.n)
	if !ok {
		return
	}
	switch {
	case k == 1 && c.integer:
		for i := range rows {
			p.countClass(int(c.at(i)), 1)
		}
		if rows == 1 {
			*row = rowPrediction{kind: predClass, class: int(c.at(0))}
		}
	case k == 1:
		for i := range rows {
			p.addScore(c.at(i), l)
		}
		if rows == 1 {
			*row = rowPrediction{kind: predScore, score: c.at(0)}
		}
	case !c.integer:
		p.addProbabilities(c, rows, k, l, row)
	}
}

func (p *PredictionAggregate) addProbabilities(c column, rows, k int, l *sketchPool, row *rowPrediction) {
	for i := range rows {
		best, top := argmax(c, i*k, k)
		if best < 0 {
			p.ClassesOther++
		} else {
			p.countClass(best, 1)
			if finite(top) {
				l.add(&p.Confidence, top)
				p.ConfidenceSum += top
			}
		}
		if k == 2 {
			p.addScore(c.at(i*k+1), l)
		}
	}
	if rows != 1 {
		return
	}
	if k == 2 {
		*row = rowPrediction{kind: predScore, score: c.at(1)}
		return
	}
	best, _ := argmax(c, 0, k)
	*row = rowPrediction{kind: predProbs, class: best, probs: c, k: k}
}

// argmax returns the index (relative to off) and value of the largest of
// the k values from off, ignoring NaN; -1 when all are NaN. Ties go to the
// lowest index.
func argmax(c column, off, k int) (int, float64) {
	best, top := -1, math.Inf(-1)
	for j := range k {
		if v := c.at(off + j); v > top || (best < 0 && v == top) {
			best, top = j, v
		}
	}
	return best, top
}

// predKind says what a remembered single-row prediction is.
type predKind uint8

const (
	predNone  predKind = iota
	predScore          // a score: binary probability or regression value
	predClass          // a class id with no probabilities
	predProbs          // class probabilities (k ≥ 3)
)

// rowPrediction is one row's prediction as Record hands it to the join
// table. probs is a view of the request's output tensor, copied by the
// join table before Record returns.
type rowPrediction struct {
	kind  predKind
	score float64
	class int
	probs column
	k     int
}

// column is a numeric tensor's data read as float64, without copying.
type column struct {
	kind    dataKind
	f32     []float32
	f64     []float64
	i32     []int32
	i64     []int64
	b       []bool
	n       int
	integer bool // integer or boolean data
}

type dataKind uint8

const (
	dataF32 dataKind = iota
	dataF64
	dataI32
	dataI64
	dataBool
)

// columnOf reads a tensor's Data; false for BYTES or unknown data.
func columnOf(data any) (column, bool) {
	switch d := data.(type) {
	case []float32:
		return column{kind: dataF32, f32: d, n: len(d)}, true
	case []float64:
		return column{kind: dataF64, f64: d, n: len(d)}, true
	case []int32:
		return column{kind: dataI32, i32: d, n: len(d), integer: true}, true
	case []int64:
		return column{kind: dataI64, i64: d, n: len(d), integer: true}, true
	case []bool:
		return column{kind: dataBool, b: d, n: len(d), integer: true}, true
	}
	return column{}, false
}

func (c *column) at(i int) float64 {
	switch c.kind {
	case dataF32:
		return float64(c.f32[i])
	case dataF64:
		return c.f64[i]
	case dataI32:
		return float64(c.i32[i])
	case dataI64:
		return float64(c.i64[i])
	default:
		if c.b[i] {
			return 1
		}
		return 0
	}
}

// matrixShape reads a tensor of rank 0, 1 or 2 as rows × cols (rank 0 is
// 1×1, rank 1 is rows×1), trimmed to the n elements actually present.
func matrixShape(shape []int64, n int) (rows, cols int, ok bool) {
	switch len(shape) {
	case 0:
		rows, cols = 1, 1
	case 1:
		rows, cols = int(shape[0]), 1
	case 2:
		rows, cols = int(shape[0]), int(shape[1])
	default:
		return 0, 0, false
	}
	if rows <= 0 || cols <= 0 {
		return 0, 0, false
	}
	if rows > n/cols { // the data is short: read what is there
		rows = n / cols
	}
	return rows, cols, rows > 0
}
