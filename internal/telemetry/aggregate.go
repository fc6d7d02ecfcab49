package telemetry

import (
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
)

// Aggregate is the raw measurements of one version over a span of time,
// as Window returns them: the merge of the buckets the window covers.
// Counts merge exactly; sketches merge with their relative accuracy kept.
// Nil sketches and maps mean nothing was added to them. It is what the
// statistics engine reads (for example, Features[i].Sketch and
// Predictions.Scores for drift). Buckets use the same type, with their
// sketches encoded once sealed.
type Aggregate struct {
	// Start and End bound the span: Start is the start of the oldest bucket
	// in the window, or the series' creation when later; End is the time
	// of the query.
	Start, End time.Time

	Requests     int64 // every request, whatever its outcome
	OK           int64
	ClientErrors int64
	ServerErrors int64
	Timeouts     int64
	// Latency holds every request's latency in seconds, whatever its
	// outcome, at LatencyAccuracy; LatencySum is their exact total. Other
	// sketches are at ValueAccuracy.
	Latency    *ddsketch.DDSketch
	LatencySum time.Duration

	Rows        int64 // batch rows over all requests
	Predictions PredictionAggregate
	// Features holds one summary per input feature, in the order the
	// series first saw them.
	Features []FeatureAggregate
	// Quality is measured from feedback joined to predictions, in the
	// bucket of the feedback's arrival.
	Quality QualityAggregate
	Reward  SumCount
	// Values are business values from feedback, by name. ValuesDropped
	// counts values whose name came after the series' first 64 names.
	Values        map[string]SumCount
	ValuesDropped int64
	// Shadows compares this version (the primary) with each shadow
	// version, by shadow version name.
	Shadows map[string]*ShadowAggregate

	latencyPacked []byte // Latency once sealed (see sketchPool.sealSketch)
}

// SumCount is a running sum and the number of terms in it.
type SumCount struct {
	N   int64
	Sum float64
	// SumSq is the sum of squares, so that a mean can be tested
	// (stats.TwoMeans needs the variance).
	SumSq float64
}

func (s *SumCount) add(v float64) { s.N++; s.Sum += v; s.SumSq += v * v }

func (s *SumCount) merge(o SumCount) { s.N += o.N; s.Sum += o.Sum; s.SumSq += o.SumSq }

// reset empties a bucket for reuse, keeping its maps and slices, so a ring
// that has wrapped once records without allocating.
func (a *Aggregate) reset() {
	a.Requests, a.OK, a.ClientErrors, a.ServerErrors, a.Timeouts = 0, 0, 0, 0, 0
	clearSketch(a.Latency)
	a.latencyPacked = a.latencyPacked[:0]
	a.LatencySum = 0
	a.Rows = 0
	a.Predictions.reset()
	for i := range a.Features {
		a.Features[i].reset()
	}
	a.Quality.reset()
	a.Reward = SumCount{}
	clear(a.Values)
	a.ValuesDropped = 0
	for _, sh := range a.Shadows {
		sh.reset()
	}
}

// seal encodes every sketch and histogram of a bucket that will not be
// written again and gives their memory back to the pool for the next
// bucket.
func (a *Aggregate) seal(p *sketchPool) {
	p.sealSketch(&a.Latency, &a.latencyPacked, true)
	a.Predictions.seal(p)
	for i := range a.Features {
		f := &a.Features[i]
		p.sealSketch(&f.Sketch, &f.packed, false)
	}
	a.Quality.seal(p)
	for _, sh := range a.Shadows {
		sh.seal(p)
	}
}

func (a *Aggregate) addRequest(o Outcome, latency time.Duration, p *sketchPool) {
	a.Requests++
	switch o {
	case OK:
		a.OK++
	case ClientError:
		a.ClientErrors++
	case Timeout:
		a.Timeouts++
	default:
		a.ServerErrors++
	}
	p.addLatency(&a.Latency, latency)
	a.LatencySum += latency
}

// merge adds o, live or sealed, into a. Sketches and maps of o are copied,
// never shared; a is always live.
func (a *Aggregate) merge(o *Aggregate, l *sketchLayout) {
	a.Requests += o.Requests
	a.OK += o.OK
	a.ClientErrors += o.ClientErrors
	a.ServerErrors += o.ServerErrors
	a.Timeouts += o.Timeouts
	mergeSketch(&a.Latency, o.Latency)
	mergePacked(&a.Latency, o.latencyPacked, l.latency)
	a.LatencySum += o.LatencySum
	a.Rows += o.Rows
	a.Predictions.merge(&o.Predictions, l)
	for i := range o.Features {
		for len(a.Features) <= i {
			a.Features = append(a.Features, FeatureAggregate{})
		}
		a.Features[i].merge(&o.Features[i], l)
	}
	a.Quality.merge(&o.Quality)
	a.Reward.merge(o.Reward)
	for name, v := range o.Values {
		if a.Values == nil {
			a.Values = map[string]SumCount{}
		}
		sc := a.Values[name]
		sc.merge(v)
		a.Values[name] = sc
	}
	a.ValuesDropped += o.ValuesDropped
	for name, sh := range o.Shadows {
		if sh.empty() {
			continue
		}
		if a.Shadows == nil {
			a.Shadows = map[string]*ShadowAggregate{}
		}
		dst := a.Shadows[name]
		if dst == nil {
			dst = &ShadowAggregate{}
			a.Shadows[name] = dst
		}
		dst.merge(sh, l)
	}
}

// nameFeatures sets feature names from the series' index (buckets store
// summaries by position only).
func (a *Aggregate) nameFeatures(names []string) {
	for i := range a.Features {
		if i < len(names) {
			a.Features[i].Name = names[i]
		}
	}
}

// nameIndex bounds a set of names (business values per series).
type nameIndex struct {
	max   int
	names map[string]struct{}
}

// admit reports whether name is, or may become, one of the bounded set.
func (n *nameIndex) admit(name string) bool {
	if _, ok := n.names[name]; ok {
		return true
	}
	if len(n.names) >= n.max {
		return false
	}
	if n.names == nil {
		n.names = map[string]struct{}{}
	}
	n.names[name] = struct{}{}
	return true
}

// maxValueNames bounds the business value names kept per series.
const maxValueNames = 64
