package telemetry

import (
	"encoding/binary"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// Sketch parameters. Every sketch maps values with a cubically
// interpolated logarithm (cheap to compute) and keeps at most maxSketchBins
// bins per sign; beyond that the bins nearest zero collapse, which no
// realistic latency, score or feature range reaches (2048 bins at 1% span a
// ratio of about 1e17 between the smallest and largest value).
const (
	// LatencyAccuracy is the relative accuracy of latency quantiles.
	LatencyAccuracy = 0.01
	// ValueAccuracy is the relative accuracy of every other sketch:
	// scores, confidences, score differences and input features. Drift
	// measures (PSI, KS) need far less; 2% halves the bins of 1%.
	ValueAccuracy = 0.02
	maxSketchBins = 2048
)

// sketchLayout holds the index mappings shared by all sketches of one
// kind, so any two of them merge.
type sketchLayout struct {
	latency mapping.IndexMapping
	values  mapping.IndexMapping
}

func newSketchLayout() *sketchLayout {
	lat, err := mapping.NewCubicallyInterpolatedMapping(LatencyAccuracy)
	if err != nil {
		panic("telemetry: sketch mapping: " + err.Error()) // a constant accuracy; cannot fail
	}
	val, err := mapping.NewCubicallyInterpolatedMapping(ValueAccuracy)
	if err != nil {
		panic("telemetry: sketch mapping: " + err.Error())
	}
	return &sketchLayout{latency: lat, values: val}
}

func newSketch(m mapping.IndexMapping) *ddsketch.DDSketch {
	return ddsketch.NewDDSketch(m,
		store.NewCollapsingLowestDenseStore(maxSketchBins),
		store.NewCollapsingLowestDenseStore(maxSketchBins))
}

// sketchPool hands the newest (live) bucket of a series its sketches and
// AUC histograms, reusing those released when the previous bucket was
// sealed, so a series allocates nothing once it has turned over a few
// buckets. It is guarded by its series' mutex.
type sketchPool struct {
	*sketchLayout
	latency []*ddsketch.DDSketch // cleared, for latency
	values  []*ddsketch.DDSketch // cleared, for everything else
	counts  [][]uint32           // zeroed AUC histograms
	scratch []byte               // encoding buffer
}

// add puts v into the value sketch *sk, taking a sketch on first use.
// Values a sketch cannot hold (NaN, beyond ±1.8e308) are skipped; callers
// filter them.
func (p *sketchPool) add(sk **ddsketch.DDSketch, v float64) {
	if *sk == nil {
		*sk = take(&p.values, p.sketchLayout.values)
	}
	_ = (*sk).Add(v)
}

// addLatency puts a latency, in seconds, into the latency sketch *sk.
func (p *sketchPool) addLatency(sk **ddsketch.DDSketch, d time.Duration) {
	if *sk == nil {
		*sk = take(&p.latency, p.sketchLayout.latency)
	}
	_ = (*sk).Add(d.Seconds())
}

func take(free *[]*ddsketch.DDSketch, m mapping.IndexMapping) *ddsketch.DDSketch {
	n := len(*free)
	if n == 0 {
		return newSketch(m)
	}
	sk := (*free)[n-1]
	*free = (*free)[:n-1]
	return sk
}

// histogram returns a zeroed AUC histogram of AUCBins counts.
func (p *sketchPool) histogram() []uint32 {
	n := len(p.counts)
	if n == 0 {
		return make([]uint32, AUCBins)
	}
	h := p.counts[n-1]
	p.counts = p.counts[:n-1]
	return h
}

// sealSketch encodes the live sketch *sk into *packed (ddsketch's binary
// format, without the mapping: about 250 bytes where the live sketch takes
// 2-3 KiB), and returns the sketch, cleared, to the pool. A sealed bucket
// is read only by merging its encodings.
func (p *sketchPool) sealSketch(sk **ddsketch.DDSketch, packed *[]byte, latency bool) {
	*packed = (*packed)[:0]
	if *sk == nil {
		return
	}
	if !(*sk).IsEmpty() {
		p.scratch = p.scratch[:0]
		(*sk).Encode(&p.scratch, true)
		*packed = append(*packed, p.scratch...)
	}
	(*sk).Clear()
	if latency {
		p.latency = append(p.latency, *sk)
	} else {
		p.values = append(p.values, *sk)
	}
	*sk = nil
}

// sealCounts packs AUC histograms into *packed (see packCounts) and
// returns them, zeroed, to the pool.
func (p *sketchPool) sealCounts(packed *[]byte, hs ...*[]uint32) {
	*packed = (*packed)[:0]
	if *hs[0] == nil {
		return
	}
	p.scratch = p.scratch[:0]
	for _, h := range hs {
		p.scratch = packCounts(p.scratch, *h)
	}
	*packed = append(*packed, p.scratch...)
	for _, h := range hs {
		clear(*h)
		p.counts = append(p.counts, *h)
		*h = nil
	}
}

// mergeSketch adds src into *dst, copying src when *dst is nil.
func mergeSketch(dst **ddsketch.DDSketch, src *ddsketch.DDSketch) {
	if src == nil || src.IsEmpty() {
		return
	}
	if *dst == nil {
		*dst = src.Copy()
		return
	}
	_ = (*dst).MergeWith(src) // one mapping per kind of sketch; cannot fail
}

// mergePacked adds a sealed sketch's encoding into *dst.
func mergePacked(dst **ddsketch.DDSketch, packed []byte, m mapping.IndexMapping) {
	if len(packed) == 0 {
		return
	}
	if *dst == nil {
		*dst = newSketch(m)
	}
	_ = (*dst).DecodeAndMergeWith(packed) // our own encoding with the same mapping
}

// packCounts appends one histogram to b, run-length encoded: for each
// non-zero count, the number of zeros before it and the count, both as
// uvarints, then the number of trailing zeros. Scores crowd a few bins, so
// this takes a few hundred bytes where the histogram takes 4 KiB.
func packCounts(b []byte, h []uint32) []byte {
	zeros := uint64(0)
	for _, c := range h {
		if c == 0 {
			zeros++
			continue
		}
		b = binary.AppendUvarint(b, zeros)
		b = binary.AppendUvarint(b, uint64(c))
		zeros = 0
	}
	return binary.AppendUvarint(b, zeros)
}

// unpackCounts adds packed histograms (as many as hs, each len(hs[i])
// long) into hs, saturating.
func unpackCounts(b []byte, hs ...[]uint32) {
	for _, h := range hs {
		for i := 0; ; {
			zeros, n := binary.Uvarint(b)
			if n <= 0 {
				return
			}
			b = b[n:]
			i += int(zeros)
			if i >= len(h) {
				break
			}
			c, n := binary.Uvarint(b)
			if n <= 0 {
				return
			}
			b = b[n:]
			h[i] = addSaturating(h[i], uint32(c))
			i++
		}
	}
}

func clearSketch(sk *ddsketch.DDSketch) {
	if sk != nil {
		sk.Clear()
	}
}
