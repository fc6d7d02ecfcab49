package telemetry

import (
	"cmp"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Save and Load carry the measurements over a restart, so that a rollout
// or a bandit resumed by the controller still has its evidence, and
// `slipway model stats` its history. What is saved is every sealed bucket
// of every series, with the names that give its features their places,
// each model's feedback counts, and the predictions waiting for their
// feedback, so that ground truth arriving after a restart still joins.
// Not saved: the bucket still being written (at most one bucket width of
// traffic), and the Prometheus counters, which restart from zero as
// Prometheus expects of a restarted process.
//
// The format is gzipped JSON: a sealed bucket is already compact (its
// sketches encoded, see Aggregate), and JSON keeps the file readable
// with standard tools.

// savedFormat is the version of what Save writes.
const savedFormat = 1

type savedTelemetry struct {
	Format   int           `json:"format"`
	BucketNS int64         `json:"bucket_ns"`
	SavedAt  time.Time     `json:"saved_at"`
	Series   []savedSeries `json:"series"`
	Models   []savedModel  `json:"models"`
	// Pending are the predictions waiting for feedback.
	Pending *savedJoins `json:"pending,omitempty"`
}

// savedJoins holds the predictions waiting for feedback column by
// column: a full table is 100,000 of them, saved every minute while
// serving, and columns of numbers encode several times faster than as
// many objects, in about a third of the bytes.
type savedJoins struct {
	Labels [][3]string `json:"labels"` // model, version, segment
	Label  []int32     `json:"label"`  // each prediction's index in Labels
	// IDs are the request ids one after the other, IDLen their lengths:
	// one string to write instead of one per prediction.
	IDs   string     `json:"ids"`
	IDLen []int32    `json:"id_len"`
	At    []int64    `json:"at"`
	Kind  []predKind `json:"kind"`
	Score []float64  `json:"score"`
	Class []int      `json:"class"`
	// Probs are the class probabilities of the predictions of kind
	// predProbs, in their order.
	Probs [][]float64 `json:"probs,omitempty"`
}

type savedSeries struct {
	Model   string `json:"model"`
	Version string `json:"version"`
	Created int64  `json:"created_ns"`
	// Features are the input tensors' places in every bucket's Features,
	// in the order they were given; FeatureNames names each place.
	Features     []savedRange  `json:"features,omitempty"`
	FeatureNames []string      `json:"feature_names,omitempty"`
	Values       []string      `json:"values,omitempty"`
	Buckets      []savedBucket `json:"buckets"`
}

type savedRange struct {
	Name  string `json:"name"`
	First int    `json:"first"`
	N     int    `json:"n"`
}

type savedBucket struct {
	Epoch int64 `json:"epoch"`
	// Agg is the sealed bucket's exported fields (its sketches nil);
	// Packed its encoded sketches and histograms, in packedFields order.
	Agg    json.RawMessage `json:"agg"`
	Packed [][]byte        `json:"packed"`
}

type savedModel struct {
	Model    string        `json:"model"`
	Feedback []savedCounts `json:"feedback"`
}

type savedCounts struct {
	Epoch  int64                `json:"epoch"`
	Counts [numJoinStatus]int64 `json:"counts"`
}

// Restore says what became of the measurements of the previous run, for
// the people reading them (ModelStats.Restore): restored from a file
// saved at SavedAt, or not, and why.
type Restore struct {
	SavedAt time.Time `json:"saved_at,omitzero"`
	Buckets int       `json:"buckets,omitempty"`
	Pending int       `json:"pending,omitempty"` // predictions waiting for feedback
	// Error says why nothing was restored; File is where the file that
	// could not be restored was kept.
	Error string `json:"error,omitempty"`
	File  string `json:"file,omitempty"`
}

// RestoreFailed records that the previous run's measurements could not
// be restored (err), and where the file was kept, so that every
// ModelStats says the history before the restart is missing.
func (r *Recorder) RestoreFailed(err error, kept string) {
	r.restore.Store(&Restore{Error: err.Error(), File: kept})
}

// SaveStats says what Save wrote, or Load restored.
type SaveStats struct {
	Series, Buckets int
	Pending         int // predictions waiting for feedback
	// Skipped counts buckets and predictions left out: on Save, those
	// holding a number that is not finite (JSON has no infinity); on
	// Load, buckets older than the retention or not older than now.
	Skipped int
}

// Save writes the sealed buckets of every series and every model's
// feedback counts to w. Recording goes on meanwhile: each series is
// locked one bucket at a time.
func (r *Recorder) Save(w io.Writer) (SaveStats, error) {
	out := savedTelemetry{Format: savedFormat, BucketNS: r.width, SavedAt: r.cfg.Now().UTC()}
	var st SaveStats
	series := *r.series.Load()
	keys := make([]seriesKey, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].model < keys[j].model || keys[i].model == keys[j].model && keys[i].version < keys[j].version
	})
	for _, k := range keys {
		ss := series[k].save(&st)
		if len(ss.Buckets) > 0 {
			out.Series = append(out.Series, ss)
			st.Series++
		}
	}
	for name, m := range *r.models.Load() {
		if sm := m.save(name); len(sm.Feedback) > 0 {
			out.Models = append(out.Models, sm)
		}
	}
	sort.Slice(out.Models, func(i, j int) bool { return out.Models[i].Model < out.Models[j].Model })
	out.Pending = r.joins.save(&st)
	zw, _ := gzip.NewWriterLevel(w, gzip.HuffmanOnly) // saved every minute while serving: time matters more than bytes
	if err := json.NewEncoder(zw).Encode(out); err != nil {
		return st, fmt.Errorf("telemetry: saving: %w", err)
	}
	if err := zw.Close(); err != nil {
		return st, fmt.Errorf("telemetry: saving: %w", err)
	}
	return st, nil
}

// save copies the series' sealed buckets, oldest first.
func (s *series) save(st *SaveStats) savedSeries {
	s.mu.Lock()
	out := savedSeries{Model: s.model, Version: s.version, Created: s.created,
		FeatureNames: append([]string(nil), s.features.names...)}
	for name, rg := range s.features.ranges {
		out.Features = append(out.Features, savedRange{Name: name, First: rg.first, N: rg.n})
	}
	for name := range s.values.names {
		out.Values = append(out.Values, name)
	}
	var epochs []int64
	for _, sl := range s.buckets.slots {
		if sl.epoch != math.MinInt64 && sl.epoch != s.buckets.latest { // the latest is still written
			epochs = append(epochs, sl.epoch)
		}
	}
	s.mu.Unlock()
	sort.Slice(out.Features, func(i, j int) bool { return out.Features[i].First < out.Features[j].First })
	sort.Strings(out.Values)
	sort.Slice(epochs, func(i, j int) bool { return epochs[i] < epochs[j] })

	for _, e := range epochs {
		s.mu.Lock()
		b, ok := s.buckets.get(e)
		var sb savedBucket
		var err error
		if ok {
			sb.Epoch = e
			sb.Agg, err = json.Marshal(b)
			for _, p := range b.packedFields() {
				sb.Packed = append(sb.Packed, append([]byte(nil), (*p)...))
			}
		}
		s.mu.Unlock()
		switch {
		case !ok: // reused for a newer bucket since the list was made
		case err != nil:
			st.Skipped++
		default:
			out.Buckets = append(out.Buckets, sb)
			st.Buckets++
		}
	}
	return out
}

func (m *modelState) save(name string) savedModel {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := savedModel{Model: name}
	for _, sl := range m.feedback.slots {
		if sl.epoch != math.MinInt64 {
			out.Feedback = append(out.Feedback, savedCounts{Epoch: sl.epoch, Counts: sl.v})
		}
	}
	sort.Slice(out.Feedback, func(i, j int) bool { return out.Feedback[i].Epoch < out.Feedback[j].Epoch })
	return out
}

// packedFields lists a sealed bucket's encoded sketches and histograms
// in a fixed order: Save writes them, Load puts them back, in this order.
func (a *Aggregate) packedFields() []*[]byte {
	fields := []*[]byte{&a.latencyPacked, &a.Predictions.scoresPacked, &a.Predictions.confidencePacked}
	for i := range a.Features {
		fields = append(fields, &a.Features[i].packed)
	}
	fields = append(fields, &a.Quality.aucPacked)
	shadows := make([]string, 0, len(a.Shadows))
	for name := range a.Shadows {
		shadows = append(shadows, name)
	}
	sort.Strings(shadows)
	for _, name := range shadows {
		sh := a.Shadows[name]
		fields = append(fields, &sh.diffPacked, &sh.primaryPacked, &sh.shadowPacked)
	}
	return fields
}

// Load restores what Save wrote into r, which must not have recorded
// anything yet. Buckets older than r's retention, or not older than now,
// are left out. A file saved with another bucket width is refused whole:
// its buckets would not line up with r's.
func (r *Recorder) Load(rd io.Reader) (SaveStats, error) {
	var st SaveStats
	if len(*r.series.Load()) > 0 {
		return st, errors.New("telemetry: load into a recorder that has measurements already")
	}
	zr, err := gzip.NewReader(rd)
	if err != nil {
		return st, fmt.Errorf("telemetry: not a saved telemetry file: %w", err)
	}
	var in savedTelemetry
	if err := json.NewDecoder(zr).Decode(&in); err != nil {
		return st, fmt.Errorf("telemetry: not a saved telemetry file: %w", err)
	}
	switch {
	case in.Format != savedFormat:
		return st, fmt.Errorf("telemetry: saved in format %d, this build reads %d", in.Format, savedFormat)
	case in.BucketNS != r.width:
		return st, fmt.Errorf("telemetry: saved with %v buckets, this server uses %v (--telemetry-bucket): not restored", time.Duration(in.BucketNS), time.Duration(r.width))
	}
	now := r.cfg.Now().UnixNano()
	// Check everything before restoring anything: a file that is wrong
	// anywhere restores nothing.
	type restored struct {
		epoch int64
		agg   Aggregate
	}
	buckets := make([][]restored, len(in.Series))
	for i, ss := range in.Series {
		if ss.Model == "" || ss.Version == "" {
			return st, fmt.Errorf("telemetry: series %d has no model or version", i)
		}
		for _, sb := range ss.Buckets {
			var agg Aggregate
			if err := json.Unmarshal(sb.Agg, &agg); err != nil {
				return st, fmt.Errorf("telemetry: %s@%s bucket %d: %w", ss.Model, ss.Version, sb.Epoch, err)
			}
			fields := agg.packedFields()
			if len(fields) != len(sb.Packed) {
				return st, fmt.Errorf("telemetry: %s@%s bucket %d: %d encoded sketches for %d places", ss.Model, ss.Version, sb.Epoch, len(sb.Packed), len(fields))
			}
			for j, p := range fields {
				*p = sb.Packed[j]
			}
			buckets[i] = append(buckets[i], restored{sb.Epoch, agg})
		}
	}
	pending, err := in.Pending.predictions()
	if err != nil {
		return st, err
	}
	for i, ss := range in.Series {
		s := r.seriesFor(ss.Model, ss.Version)
		s.mu.Lock()
		s.created = min(s.created, ss.Created)
		s.features.names = append(s.features.names[:0], ss.FeatureNames...)
		for _, rg := range ss.Features {
			s.features.ranges[rg.Name] = slotRange{first: rg.First, n: rg.N}
		}
		for _, name := range ss.Values {
			s.values.admit(name)
		}
		for _, b := range buckets[i] {
			if !r.restorable(b.epoch, now) {
				st.Skipped++
				continue
			}
			// The ring's latest epoch stays unset, so the next Record
			// starts a bucket of its own and never writes into, or seals
			// again, one restored here.
			sl := s.buckets.slot(b.epoch)
			sl.epoch, sl.v = b.epoch, b.agg
			st.Buckets++
		}
		s.mu.Unlock()
		st.Series++
	}
	for _, p := range pending {
		// Put as they were, past their time or not: feedback for one
		// that waited too long counts as expired, as it would have.
		r.joins.put(p.key, p.version, p.segment, p.at, &p.row)
		st.Pending++
	}
	for _, sm := range in.Models {
		m := r.modelFor(sm.Model)
		m.mu.Lock()
		for _, c := range sm.Feedback {
			if r.restorable(c.Epoch, now) {
				sl := m.feedback.slot(c.Epoch)
				sl.epoch, sl.v = c.Epoch, c.Counts
			}
		}
		m.mu.Unlock()
	}
	r.restore.Store(&Restore{SavedAt: in.SavedAt, Buckets: st.Buckets, Pending: st.Pending})
	return st, nil
}

// restorable reports whether a saved bucket of epoch e is within the
// retention at now and older than now's bucket.
func (r *Recorder) restorable(e, now int64) bool {
	cur := now / r.width
	return e < cur && e > cur-int64(r.slots)
}

// save copies the predictions waiting for feedback, column by column.
func (t *joinTable) save(st *SaveStats) *savedJoins {
	n := 0
	for i := range t.shards {
		n += t.shards[i].size
	}
	out := &savedJoins{Label: make([]int32, 0, n), IDLen: make([]int32, 0, n), At: make([]int64, 0, n),
		Kind: make([]predKind, 0, n), Score: make([]float64, 0, n), Class: make([]int, 0, n)}
	var ids strings.Builder
	ids.Grow(n * 32) // generated ids are 32 hex digits
	labels := map[labelSet]int32{}
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for pos := range sh.slots {
			p := &sh.slots[pos]
			if !p.live {
				continue
			}
			finite := !math.IsNaN(p.score) && !math.IsInf(p.score, 0)
			var probs []float64
			if p.kind == predProbs {
				probs = sh.probs[pos]
				for _, v := range probs {
					finite = finite && !math.IsNaN(v) && !math.IsInf(v, 0)
				}
			}
			if !finite {
				st.Skipped++
				continue
			}
			ls := sh.labels[p.labels]
			li, ok := labels[ls]
			if !ok {
				li = int32(len(out.Labels))
				labels[ls] = li
				out.Labels = append(out.Labels, [3]string{ls.model, ls.version, ls.segment})
			}
			if p.idLen == longID {
				id := sh.long[int32(pos)]
				ids.WriteString(id)
				out.IDLen = append(out.IDLen, int32(len(id)))
			} else {
				ids.Write(p.id[:p.idLen])
				out.IDLen = append(out.IDLen, int32(p.idLen))
			}
			out.Label, out.At = append(out.Label, li), append(out.At, p.at)
			out.Kind, out.Score, out.Class = append(out.Kind, p.kind), append(out.Score, p.score), append(out.Class, p.class)
			if probs != nil {
				out.Probs = append(out.Probs, slices.Clone(probs))
			}
		}
		sh.mu.Unlock()
	}
	out.IDs = ids.String()
	st.Pending = len(out.IDLen)
	return out
}

// pendingPrediction is one saved prediction, ready to be put back.
type pendingPrediction struct {
	key              joinKey
	version, segment string
	at               int64
	row              rowPrediction
}

// predictions checks the saved columns and returns the predictions,
// oldest first, so that the table evicts them in the order it would have.
func (j *savedJoins) predictions() ([]pendingPrediction, error) {
	if j == nil {
		return nil, nil
	}
	n := len(j.IDLen)
	if len(j.Label) != n || len(j.At) != n || len(j.Kind) != n || len(j.Score) != n || len(j.Class) != n {
		return nil, fmt.Errorf("telemetry: pending predictions: columns of %d, %d, %d, %d, %d and %d values", len(j.IDLen), len(j.Label), len(j.At), len(j.Kind), len(j.Score), len(j.Class))
	}
	out := make([]pendingPrediction, n)
	probs, rest := 0, j.IDs
	for i := range n {
		li, kind, idLen := j.Label[i], j.Kind[i], int(j.IDLen[i])
		if idLen <= 0 || idLen > len(rest) {
			return nil, fmt.Errorf("telemetry: pending prediction %d: id of %d bytes where %d remain", i, idLen, len(rest))
		}
		id := rest[:idLen]
		rest = rest[idLen:]
		if idLen > maxInlineID {
			id = strings.Clone(id) // kept as it is: not a window on all the ids
		}
		if li < 0 || int(li) >= len(j.Labels) || kind <= predNone || kind > predProbs {
			return nil, fmt.Errorf("telemetry: pending prediction %d (%q) is not one", i, id)
		}
		ls := j.Labels[li]
		if ls[0] == "" || ls[1] == "" {
			return nil, fmt.Errorf("telemetry: pending prediction %d (%q) has no model or version", i, id)
		}
		p := pendingPrediction{key: joinKey{ls[0], id}, version: ls[1], segment: ls[2], at: j.At[i],
			row: rowPrediction{kind: kind, score: j.Score[i], class: j.Class[i]}}
		if kind == predProbs {
			if probs >= len(j.Probs) {
				return nil, fmt.Errorf("telemetry: pending prediction %d (%q) has no class probabilities", i, id)
			}
			pr := j.Probs[probs]
			probs++
			p.row.probs, p.row.k = column{kind: dataF64, f64: pr, n: len(pr)}, len(pr)
		}
		out[i] = p
	}
	if rest != "" {
		return nil, fmt.Errorf("telemetry: pending predictions: %d bytes of ids left over", len(rest))
	}
	slices.SortStableFunc(out, func(a, b pendingPrediction) int { return cmp.Compare(a.at, b.at) })
	return out, nil
}
