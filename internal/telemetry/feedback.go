package telemetry

import (
	"fmt"
	"hash/maphash"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slipway-ml/slipway"
)

// Feedback is what became known about a prediction after it was served.
type Feedback struct {
	ID string // the request id the prediction was recorded under; required
	// Label is the ground truth: 0 or 1 for a binary classifier, the class
	// id for a multiclass one, the value for a regression. Nil means none.
	Label *float64
	// Reward is a bandit reward. Nil means none.
	Reward *float64
	// Values are business values by name (revenue, clicks), summed and
	// averaged per version. Nil means none.
	Values map[string]float64
}

func (f *Feedback) validate() error {
	if f.ID == "" {
		return slipway.Errorf(slipway.ErrInvalid, "feedback needs the request id")
	}
	if f.Label != nil && !finite(*f.Label) {
		return slipway.Errorf(slipway.ErrInvalid, "feedback %q: label %v is not a finite number", f.ID, *f.Label)
	}
	if f.Reward != nil && !finite(*f.Reward) {
		return slipway.Errorf(slipway.ErrInvalid, "feedback %q: reward %v is not a finite number", f.ID, *f.Reward)
	}
	for name, v := range f.Values {
		if !finite(v) {
			return slipway.Errorf(slipway.ErrInvalid, "feedback %q: value %q is %v, not a finite number", f.ID, name, v)
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// FeedbackResult says what became of one Feedback.
type FeedbackResult struct {
	Status JoinStatus `json:"status"`
	// Version answered the request; "" when Status is Unmatched.
	Version string `json:"version,omitempty"`
}

// Feedback joins f to the prediction recorded under f.ID for model. A
// joined label, reward and values count toward the answering version's
// quality, reward and business values, in the bucket of the feedback's
// arrival. Each prediction joins once: a second feedback for one id is
// unmatched. Every feedback is counted per model as joined, unmatched or
// expired (Snapshot's Feedback, and slipway_feedback_total); feedback for a
// model never recorded counts as unmatched, and callers should check the
// model exists first, since each model named keeps a small state. The
// error is non-nil only for malformed feedback (no id, a non-finite
// number), which is neither joined nor counted and leaves the prediction
// waiting.
func (r *Recorder) Feedback(model string, f Feedback) (FeedbackResult, error) {
	if err := f.validate(); err != nil {
		return FeedbackResult{}, err
	}
	now := r.cfg.Now().UnixNano()
	j, status := r.joins.take(joinKey{model, f.ID}, now, f.Label)
	r.modelFor(model).count(now, status)
	res := FeedbackResult{Status: status, Version: j.version}
	if status != Joined {
		return res, nil
	}
	r.seriesFor(model, j.version).addFeedback(now, &j, &f)
	if j.segment != "" {
		r.seriesFor(model, SegmentSeries(j.version, j.segment)).addFeedback(now, &j, &f)
	}
	return res, nil
}

// addFeedback adds one joined piece of feedback to the series' bucket at
// now.
func (s *series) addFeedback(now int64, j *joined, f *Feedback) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bucketAt(now)
	b.Quality.Joined++
	if f.Label != nil {
		b.Quality.add(j, *f.Label, &s.pool)
	}
	if f.Reward != nil {
		b.Reward.add(*f.Reward)
	}
	for name, v := range f.Values {
		if !s.values.admit(name) {
			b.ValuesDropped++
			continue
		}
		if b.Values == nil {
			b.Values = map[string]SumCount{}
		}
		sc := b.Values[name]
		sc.add(v)
		b.Values[name] = sc
	}
}

// JoinStatus is what became of one piece of feedback.
type JoinStatus uint8

// Join statuses.
const (
	Joined    JoinStatus = iota // matched a remembered prediction within JoinTTL
	Unmatched                   // no prediction remembered under that id: never recorded, already joined, or evicted when the join table was full
	Expired                     // the prediction was remembered but waited longer than JoinTTL
	numJoinStatus
)

var joinStatusNames = [numJoinStatus]string{"joined", "unmatched", "expired"}

// String returns the Prometheus label value: "joined", "unmatched" or
// "expired".
func (j JoinStatus) String() string {
	if j >= numJoinStatus {
		return fmt.Sprintf("JoinStatus(%d)", uint8(j))
	}
	return joinStatusNames[j]
}

// MarshalText writes the status as its name, so JSON reads "joined".
func (j JoinStatus) MarshalText() ([]byte, error) { return []byte(j.String()), nil }

// modelState is what telemetry keeps per model rather than per version:
// the feedback join counts.
type modelState struct {
	prom [numJoinStatus]prometheus.Counter

	mu       sync.Mutex // guards feedback
	feedback ring[[numJoinStatus]int64]
}

func newModelState(model string, slots int, width int64, m *metrics) *modelState {
	ms := &modelState{
		feedback: newRing(slots, width, func(c *[numJoinStatus]int64) { *c = [numJoinStatus]int64{} }, nil),
	}
	for j := range numJoinStatus {
		ms.prom[j] = m.feedback.WithLabelValues(model, j.String())
	}
	return ms
}

func (m *modelState) count(now int64, j JoinStatus) {
	m.prom[j].Inc()
	m.mu.Lock()
	m.feedback.at(now)[j]++
	m.mu.Unlock()
}

func (m *modelState) window(now int64, w time.Duration) FeedbackCounts {
	m.mu.Lock()
	defer m.mu.Unlock()
	var c [numJoinStatus]int64
	first, last := m.feedback.span(now, w)
	for e := first; e <= last; e++ {
		if b, ok := m.feedback.get(e); ok {
			for j := range c {
				c[j] += b[j]
			}
		}
	}
	return FeedbackCounts{Joined: c[Joined], Unmatched: c[Unmatched], Expired: c[Expired]}
}

// joinKey names a remembered prediction: request ids are unique per model.
type joinKey struct{ model, id string }

// joined is a remembered prediction taken out of the table, with the
// label's probability looked up for class probabilities.
type joined struct {
	version   string
	segment   string // the measured route segment that took the request; "" for none
	kind      predKind
	score     float64
	class     int
	labelProb float64
}

// maxInlineID is the longest request id a slot holds itself: generated
// ids are 32 hex digits, UUIDs 36. Longer ones are kept aside (long).
const maxInlineID = 40

// longID marks a slot whose id is in its shard's long map.
const longID = 0xFF

// pending is one slot of a join shard's ring. It holds no pointers: a full
// table (100,000 slots by default) is most of a busy server's live heap,
// and memory without pointers is not scanned by the garbage collector.
// The model, version and segment are an index into the shard's labels;
// what does not fit (a long id, class probabilities) is kept aside.
type pending struct {
	hash   uint64 // of the key
	at     int64  // when it was recorded, Unix nanoseconds
	score  float64
	class  int
	labels uint32 // the shard's labels[labels]
	live   bool   // still in the index
	kind   predKind
	idLen  uint8 // the id's length in id, or longID
	id     [maxInlineID]byte
}

// labelSet is what names a prediction's series.
type labelSet struct{ model, version, segment string }

// Join table sharding: tables of at least 2×joinShardSize predictions are
// split into up to maxJoinShards shards by a hash of the request id, so
// Record on different requests rarely waits for the same lock. Each shard
// is a ring that evicts its own oldest prediction, which makes eviction
// oldest-first only approximately across shards; a table below
// 2×joinShardSize is one shard and strictly oldest-first.
const (
	joinShardSize = 4096
	maxJoinShards = 64
)

// joinTable remembers recent single-row predictions for feedback joins.
// Its memory is bounded by the JoinSize slots plus their index. The index
// maps a 64-bit hash of the key to its slot, which is cheaper to hash and
// compare than two strings; a join checks the slot's key. Two live keys
// with one hash (a chance of about 3e-10 for a full table of 100,000) make
// the older one forgotten, as if evicted.
type joinTable struct {
	seed   maphash.Seed
	ttl    int64
	shards []joinShard
}

type joinShard struct {
	mu    sync.Mutex       // guards the fields below
	index map[uint64]int32 // live predictions by key hash: their slot
	slots []pending        // grows to size, then reused oldest first
	size  int
	next  int // the slot to fill next
	// labels are the label sets of the slots, few (models × versions ×
	// segments), looked up in labelIndex.
	labels     []labelSet
	labelIndex map[labelSet]uint32
	lastLabel  uint32           // the last put's labels: most puts repeat them
	long       map[int32]string // ids over maxInlineID, by slot
	// probs holds class probabilities by slot, made at the first
	// prediction that has them; a slot reuses its slice's capacity.
	probs [][]float64
}

func newJoinTable(size int, ttl time.Duration) *joinTable {
	n := min(max(size/joinShardSize, 1), maxJoinShards)
	t := &joinTable{seed: maphash.MakeSeed(), ttl: int64(ttl), shards: make([]joinShard, n)}
	for i := range t.shards {
		sh := &t.shards[i]
		sh.size = size / n
		if i < size%n {
			sh.size++
		}
		sh.index = make(map[uint64]int32)
		sh.labelIndex = make(map[labelSet]uint32)
		sh.long = make(map[int32]string)
	}
	return t
}

func (t *joinTable) hash(k joinKey) uint64 {
	return maphash.String(t.seed, k.id) ^ maphash.String(t.seed, k.model)*0x9e3779b97f4a7c15
}

func (t *joinTable) shard(h uint64) *joinShard {
	return &t.shards[h%uint64(len(t.shards))]
}

// put remembers row under k, evicting the shard's oldest prediction when
// full. A repeated key replaces the earlier prediction.
func (t *joinTable) put(k joinKey, version, segment string, at int64, row *rowPrediction) {
	h := t.hash(k)
	sh := t.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if pos, ok := sh.index[h]; ok { // the key again (or a hash collision)
		sh.slots[pos].live = false
	}
	pos := sh.next
	if pos == len(sh.slots) {
		sh.grow()
	}
	sh.next = (pos + 1) % sh.size
	p := &sh.slots[pos]
	if p.live {
		delete(sh.index, p.hash)
	}
	if p.idLen == longID {
		delete(sh.long, int32(pos))
	}
	*p = pending{hash: h, at: at, live: true, labels: sh.label(labelSet{k.model, version, segment}),
		kind: row.kind, score: row.score, class: row.class}
	if len(k.id) <= maxInlineID {
		p.idLen = uint8(copy(p.id[:], k.id))
	} else {
		p.idLen = longID
		sh.long[int32(pos)] = k.id
	}
	if row.kind == predProbs {
		if sh.probs == nil {
			sh.probs = make([][]float64, sh.size)
		}
		probs := sh.probs[pos][:0]
		for j := range row.k {
			probs = append(probs, row.probs.at(j))
		}
		sh.probs[pos] = probs
	}
	sh.index[h] = int32(pos)
}

// label returns the index of ls in the shard's labels, adding it.
func (sh *joinShard) label(ls labelSet) uint32 {
	if int(sh.lastLabel) < len(sh.labels) && sh.labels[sh.lastLabel] == ls {
		return sh.lastLabel
	}
	i, ok := sh.labelIndex[ls]
	if !ok {
		i = uint32(len(sh.labels))
		sh.labels = append(sh.labels, ls)
		sh.labelIndex[ls] = i
	}
	sh.lastLabel = i
	return i
}

// holds reports whether the slot at pos holds key k.
func (sh *joinShard) holds(pos int32, k joinKey) bool {
	p := &sh.slots[pos]
	if sh.labels[p.labels].model != k.model {
		return false
	}
	if p.idLen == longID {
		return sh.long[pos] == k.id
	}
	return string(p.id[:p.idLen]) == k.id
}

// grow adds a slot, doubling the capacity up to the shard's size and never
// beyond it.
func (sh *joinShard) grow() {
	if len(sh.slots) == cap(sh.slots) {
		slots := make([]pending, len(sh.slots), min(sh.size, max(2*cap(sh.slots), 256)))
		copy(slots, sh.slots)
		sh.slots = slots
	}
	sh.slots = sh.slots[:len(sh.slots)+1]
}

// take removes the prediction under k and reports whether it joined,
// was never (or is no longer) known, or waited too long.
func (t *joinTable) take(k joinKey, now int64, label *float64) (joined, JoinStatus) {
	h := t.hash(k)
	sh := t.shard(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	pos, ok := sh.index[h]
	if !ok || !sh.holds(pos, k) {
		return joined{}, Unmatched
	}
	delete(sh.index, h)
	p := &sh.slots[pos]
	p.live = false
	ls := sh.labels[p.labels]
	j := joined{version: ls.version, segment: ls.segment, kind: p.kind, score: p.score, class: p.class}
	if now-p.at > t.ttl {
		return j, Expired
	}
	if label != nil && p.kind == predProbs {
		probs := sh.probs[pos]
		if y := *label; y >= 0 && y < float64(len(probs)) && y == math.Trunc(y) {
			j.labelProb = probs[int(y)]
		}
	}
	return j, Joined
}
