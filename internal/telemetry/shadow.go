package telemetry

import (
	"math"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"

	"github.com/slipway-ml/slipway/internal/runtime"
)

// ShadowAggregate compares a primary version with a shadow version that
// received mirrored copies of its requests. It is kept in the primary's
// buckets.
type ShadowAggregate struct {
	Compared     int64 // mirrored requests both versions answered with comparable outputs
	ShadowErrors int64 // mirrored requests the shadow failed
	// Paused counts copies not sent because the shadow kept failing
	// (serving pauses its copies for a while).
	Paused int64
	// Mismatched counts requests both answered whose first outputs cannot
	// be compared: different row counts, widths or kinds (scores against
	// classes), or an output that is not numeric.
	Mismatched int64
	Rows       int64 // rows compared over the Compared requests
	Agreements int64 // rows where both chose the same label
	// ScoreDiff holds |primary - shadow| per row for scores, and the
	// largest absolute difference over the classes for probabilities;
	// ScoreDiffSum is their exact total and ScoreDiffN their number.
	ScoreDiff    *ddsketch.DDSketch
	ScoreDiffSum float64
	ScoreDiffN   int64
	// PrimaryLatency and ShadowLatency hold both versions' latencies, in
	// seconds, for the requests both answered (Compared and Mismatched),
	// so the two describe the same requests.
	PrimaryLatency *ddsketch.DDSketch
	ShadowLatency  *ddsketch.DDSketch

	diffPacked, primaryPacked, shadowPacked []byte // the sketches once sealed
}

func (a *ShadowAggregate) empty() bool {
	return a.Compared == 0 && a.ShadowErrors == 0 && a.Mismatched == 0 && a.Paused == 0
}

func (a *ShadowAggregate) reset() {
	a.Compared, a.ShadowErrors, a.Mismatched, a.Paused, a.Rows, a.Agreements = 0, 0, 0, 0, 0, 0
	clearSketch(a.ScoreDiff)
	a.ScoreDiffSum, a.ScoreDiffN = 0, 0
	clearSketch(a.PrimaryLatency)
	clearSketch(a.ShadowLatency)
	a.diffPacked, a.primaryPacked, a.shadowPacked = a.diffPacked[:0], a.primaryPacked[:0], a.shadowPacked[:0]
}

func (a *ShadowAggregate) seal(p *sketchPool) {
	p.sealSketch(&a.ScoreDiff, &a.diffPacked, false)
	p.sealSketch(&a.PrimaryLatency, &a.primaryPacked, true)
	p.sealSketch(&a.ShadowLatency, &a.shadowPacked, true)
}

func (a *ShadowAggregate) merge(o *ShadowAggregate, l *sketchLayout) {
	a.Compared += o.Compared
	a.ShadowErrors += o.ShadowErrors
	a.Paused += o.Paused
	a.Mismatched += o.Mismatched
	a.Rows += o.Rows
	a.Agreements += o.Agreements
	mergeSketch(&a.ScoreDiff, o.ScoreDiff)
	mergePacked(&a.ScoreDiff, o.diffPacked, l.values)
	a.ScoreDiffSum += o.ScoreDiffSum
	a.ScoreDiffN += o.ScoreDiffN
	mergeSketch(&a.PrimaryLatency, o.PrimaryLatency)
	mergePacked(&a.PrimaryLatency, o.primaryPacked, l.latency)
	mergeSketch(&a.ShadowLatency, o.ShadowLatency)
	mergePacked(&a.ShadowLatency, o.shadowPacked, l.latency)
}

// Compare records one mirrored request: primary answered the caller with
// primaryOut, shadow answered the mirrored copy with shadowOut, or failed
// with shadowErr. Labels agree when both argmaxes are equal, when both
// class ids are equal, or when both scores are on the same side of
// Threshold. Only the first output of each is compared.
func (r *Recorder) Compare(model, primary, shadow string, primaryOut, shadowOut []runtime.Tensor, primaryLatency, shadowLatency time.Duration, shadowErr error) {
	s := r.seriesFor(model, primary)
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.shadowAt(r.cfg.Now().UnixNano(), shadow)
	if shadowErr != nil {
		sh.ShadowErrors++
		return
	}
	s.pool.addLatency(&sh.PrimaryLatency, primaryLatency)
	s.pool.addLatency(&sh.ShadowLatency, shadowLatency)
	if len(primaryOut) == 0 || len(shadowOut) == 0 || !sh.compare(&primaryOut[0], &shadowOut[0], &s.pool) {
		sh.Mismatched++
		return
	}
	sh.Compared++
}

// ShadowPaused counts a copy for shadow that serving held back because
// the shadow kept failing, in primary's window beside the comparisons.
func (r *Recorder) ShadowPaused(model, primary, shadow string) {
	s := r.seriesFor(model, primary)
	s.mu.Lock()
	s.shadowAt(r.cfg.Now().UnixNano(), shadow).Paused++
	s.mu.Unlock()
}

// shadowAt returns the bucket's aggregate for shadow at now, creating it.
// s.mu is held.
func (s *series) shadowAt(now int64, shadow string) *ShadowAggregate {
	b := s.bucketAt(now)
	sh := b.Shadows[shadow]
	if sh == nil {
		if b.Shadows == nil {
			b.Shadows = map[string]*ShadowAggregate{}
		}
		sh = &ShadowAggregate{}
		b.Shadows[shadow] = sh
	}
	return sh
}

// compare adds the row-by-row comparison of two outputs; false when they
// cannot be compared.
func (a *ShadowAggregate) compare(p, s *runtime.Tensor, l *sketchPool) bool {
	pc, ok1 := columnOf(p.Data)
	sc, ok2 := columnOf(s.Data)
	if !ok1 || !ok2 || pc.integer != sc.integer {
		return false
	}
	rows, k, ok1 := matrixShape(p.Shape, pc.n)
	srows, sk, ok2 := matrixShape(s.Shape, sc.n)
	if !ok1 || !ok2 || rows != srows || k != sk || (k > 1 && pc.integer) {
		return false
	}
	for i := range rows {
		var agree bool
		diff := math.NaN()
		switch {
		case pc.integer:
			agree = pc.at(i) == sc.at(i)
		case k == 1:
			pv, sv := pc.at(i), sc.at(i)
			agree = (pv >= Threshold) == (sv >= Threshold)
			diff = math.Abs(pv - sv)
		default:
			pb, _ := argmax(pc, i*k, k)
			sb, _ := argmax(sc, i*k, k)
			agree = pb == sb
			diff = maxAbsDiff(pc, sc, i*k, k)
		}
		a.Rows++
		if agree {
			a.Agreements++
		}
		if finite(diff) {
			l.add(&a.ScoreDiff, diff)
			a.ScoreDiffSum += diff
			a.ScoreDiffN++
		}
	}
	return true
}

func maxAbsDiff(a, b column, off, k int) float64 {
	d := 0.0
	for j := off; j < off+k; j++ {
		d = max(d, math.Abs(a.at(j)-b.at(j)))
	}
	return d
}
