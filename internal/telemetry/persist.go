package telemetry

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
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

// Save writes the sealed buckets of every series, every model's feedback
// counts and the predictions waiting for feedback to w. It runs beside
// the traffic (the server saves every minute), so it is written as it
// goes, through small buffers, and makes way for requests between one
// bucket or join shard and the next; each series and shard is locked
// only while it is copied.
func (r *Recorder) Save(w io.Writer) (SaveStats, error) {
	var st SaveStats
	zw, _ := gzip.NewWriterLevel(w, gzip.HuffmanOnly) // time matters more than bytes here
	bw := bufio.NewWriterSize(zw, 64<<10)
	savedAt, _ := json.Marshal(r.cfg.Now().UTC())
	fmt.Fprintf(bw, `{"format":%d,"bucket_ns":%d,"saved_at":%s,"series":[`, savedFormat, r.width, savedAt)
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
		if len(ss.Buckets) == 0 {
			continue
		}
		b, err := json.Marshal(ss)
		if err != nil {
			return st, fmt.Errorf("telemetry: saving %s@%s: %w", k.model, k.version, err)
		}
		if st.Series > 0 {
			bw.WriteByte(',')
		}
		bw.Write(b)
		st.Series++
	}
	var models []savedModel
	for name, m := range *r.models.Load() {
		if sm := m.save(name); len(sm.Feedback) > 0 {
			models = append(models, sm)
		}
	}
	sort.Slice(models, func(i, j int) bool { return models[i].Model < models[j].Model })
	b, err := json.Marshal(models)
	if err != nil {
		return st, fmt.Errorf("telemetry: saving feedback counts: %w", err)
	}
	bw.WriteString(`],"models":`)
	bw.Write(b)
	bw.WriteString(`,"pending":{"rows":[`)
	labels := r.joins.writeRows(bw, &st)
	if b, err = json.Marshal(labels); err != nil {
		return st, fmt.Errorf("telemetry: saving pending predictions: %w", err)
	}
	bw.WriteString(`],"labels":`)
	bw.Write(b)
	bw.WriteString("}}\n")
	if err := bw.Flush(); err != nil {
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
		runtime.Gosched() // see Save
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
