package telemetry

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/runtime"
)

func TestBucketRolloverAndWindows(t *testing.T) {
	r, c := newTestRecorder(Config{Bucket: 10 * time.Second, Retention: time.Minute})
	record := func(at time.Duration, n int) {
		c.Set(at)
		for range n {
			r.Record(Observation{Model: "m", Version: "1", Latency: 5 * time.Millisecond})
		}
	}
	record(1*time.Second, 5)  // bucket 0
	record(11*time.Second, 3) // bucket 1
	record(25*time.Second, 2) // bucket 2, now = 25s

	tests := []struct {
		window time.Duration
		want   int64
		span   float64 // seconds covered
	}{
		{5 * time.Second, 2, 5},    // bucket 2 only: [20s, 25s]
		{15 * time.Second, 5, 15},  // buckets 1-2: [10s, 25s]
		{30 * time.Second, 10, 24}, // buckets 0-2, cut to the first record at 1s
		{time.Hour, 10, 24},        // cut to Retention
		{0, 10, 24},                // zero means Retention
	}
	for _, tt := range tests {
		vs := version(t, r.Snapshot("m", tt.window), "1")
		if vs.Requests != tt.want || vs.OK != tt.want {
			t.Errorf("window %v: requests %d ok %d, want %d", tt.window, vs.Requests, vs.OK, tt.want)
		}
		if vs.SpanSeconds != tt.span {
			t.Errorf("window %v: span %vs, want %vs", tt.window, vs.SpanSeconds, tt.span)
		}
		if want := float64(tt.want) / tt.span; !within(vs.ThroughputRPS, want, 1e-12) {
			t.Errorf("window %v: throughput %v rps, want %v", tt.window, vs.ThroughputRPS, want)
		}
	}
	if got := r.Snapshot("m", time.Hour).WindowSeconds; got != 60 {
		t.Errorf("window_seconds = %v, want 60 (cut to Retention)", got)
	}
}

func TestOldBucketsExpireAfterRetention(t *testing.T) {
	r, c := newTestRecorder(Config{Bucket: 10 * time.Second, Retention: time.Minute}) // 7 buckets
	c.Set(time.Second)
	r.Record(Observation{Model: "m", Version: "1"})
	c.Set(15 * time.Second)
	r.Record(Observation{Model: "m", Version: "1"})

	c.Set(65 * time.Second) // bucket 6: buckets 0-6 still held
	if got := version(t, r.Snapshot("m", 0), "1").Requests; got != 2 {
		t.Fatalf("at 65s: %d requests, want 2", got)
	}
	c.Set(70 * time.Second) // bucket 7: bucket 0 is out of the ring
	if got := version(t, r.Snapshot("m", 0), "1").Requests; got != 1 {
		t.Fatalf("at 70s: %d requests, want 1 (bucket 0 expired)", got)
	}
	r.Record(Observation{Model: "m", Version: "1"}) // reuses bucket 0's slot
	if got := version(t, r.Snapshot("m", 0), "1").Requests; got != 2 {
		t.Fatalf("after reusing the slot: %d requests, want 2", got)
	}
	c.Set(time.Hour)
	vs := version(t, r.Snapshot("m", 0), "1")
	if vs.Requests != 0 || vs.LatencyMS != (LatencyStats{}) {
		t.Fatalf("an hour later: %+v, want nothing", vs)
	}
}

func TestClockSteppingBackIsNotLost(t *testing.T) {
	r, c := newTestRecorder(Config{Bucket: 10 * time.Second, Retention: time.Minute})
	c.Set(10 * time.Minute)
	r.Record(Observation{Model: "m", Version: "1"})
	c.Set(time.Minute) // older than the ring reaches
	r.Record(Observation{Model: "m", Version: "1"})
	c.Set(10 * time.Minute)
	if got := version(t, r.Snapshot("m", 0), "1").Requests; got != 2 {
		t.Fatalf("%d requests, want 2: a late record folds into the newest bucket", got)
	}
}

func TestOutcomesAndErrorRate(t *testing.T) {
	r, _ := newTestRecorder(Config{})
	counts := map[Outcome]int{OK: 90, ClientError: 6, ServerError: 3, Timeout: 1}
	for o, n := range counts {
		for range n {
			r.Record(Observation{Model: "m", Version: "1", Outcome: o, Latency: time.Millisecond})
		}
	}
	r.Record(Observation{Model: "m", Version: "1", Outcome: Outcome(9)}) // unknown: a server error
	vs := version(t, r.Snapshot("m", time.Minute), "1")
	got := [4]int64{vs.OK, vs.ClientErrors, vs.ServerErrors, vs.Timeouts}
	if want := [4]int64{90, 6, 4, 1}; got != want || vs.Requests != 101 {
		t.Fatalf("ok, 4xx, 5xx, timeouts = %v of %d, want %v of 101", got, vs.Requests, want)
	}
	if want := 5.0 / 101; !within(vs.ErrorRate, want, 1e-15) {
		t.Fatalf("error rate %v, want %v (5xx and timeouts, not 4xx)", vs.ErrorRate, want)
	}
}

func TestLatencyQuantilesAcrossBuckets(t *testing.T) {
	r, c := newTestRecorder(Config{Bucket: 10 * time.Second})
	rng := rand.New(rand.NewPCG(1, 2))
	var all []float64
	var sum time.Duration
	for i := range 20000 {
		c.Set(time.Duration(i) * 5 * time.Millisecond) // 100 s: ten buckets
		d := time.Duration(math.Exp(1+0.8*rng.NormFloat64()) * float64(time.Millisecond))
		all = append(all, float64(d)/float64(time.Millisecond))
		sum += d
		r.Record(Observation{Model: "m", Version: "1", Latency: d})
	}
	slices.Sort(all)
	vs := version(t, r.Snapshot("m", time.Hour), "1")
	for _, q := range []struct {
		name string
		got  float64
		p    float64
	}{{"p50", vs.LatencyMS.P50, 0.50}, {"p95", vs.LatencyMS.P95, 0.95}, {"p99", vs.LatencyMS.P99, 0.99}} {
		want := all[int(q.p*float64(len(all)-1))]
		if !relWithin(q.got, want, LatencyAccuracy) {
			t.Errorf("%s = %.4fms, want %.4fms within 1%%", q.name, q.got, want)
		}
	}
	if want := float64(sum) / 20000 / 1e6; !within(vs.LatencyMS.Mean, want, 1e-9) {
		t.Errorf("mean %vms, want %vms exactly", vs.LatencyMS.Mean, want)
	}
	agg, ok := r.Window("m", "1", time.Hour)
	if !ok || agg.Requests != 20000 || agg.Latency.GetCount() != 20000 {
		t.Fatalf("Window: ok %v, %d requests, %v in the sketch; want 20000 each", ok, agg.Requests, agg.Latency.GetCount())
	}
	if _, ok := r.Window("m", "nope", time.Hour); ok {
		t.Fatal("Window of an unknown version reported ok")
	}
}

func TestPredictionDistributions(t *testing.T) {
	r, _ := newTestRecorder(Config{})
	rec := func(v string, out []runtime.Tensor) {
		r.Record(Observation{Model: "m", Version: v, Outputs: out})
	}
	rec("scores", scoreOut(0.01, 0.04, 0.51, 1))
	rec("scores", scoreOut(0.99, math.NaN()))
	rec("regression", scoreOut(-3, 12.5))
	rec("multiclass", probsOut(3, 0.2, 0.5, 0.3, 0.7, 0.2, 0.1, math.NaN(), math.NaN(), math.NaN()))
	rec("binary", probsOut(2, 0.9, 0.1, 0.3, 0.7))
	rec("ids", []runtime.Tensor{{Name: "class", Datatype: runtime.INT64, Shape: []int64{4}, Data: []int64{2, 2, 0, -1}}})
	ms := r.Snapshot("m", time.Minute)

	p := version(t, ms, "scores").Predictions
	wantHist := make([]int64, ScoreBins)
	wantHist[0], wantHist[10], wantHist[19] = 2, 1, 2
	if !slices.Equal(p.ScoreHistogram, wantHist) || p.Scores.N != 5 || p.ScoresInvalid != 1 {
		t.Errorf("scores: histogram %v, n %d, invalid %d; want %v, 5, 1", p.ScoreHistogram, p.Scores.N, p.ScoresInvalid, wantHist)
	}
	if want := (0.01 + 0.04 + 0.51 + 1 + 0.99) / 5; !within(p.Scores.Mean, want, 1e-15) {
		t.Errorf("score mean %v, want %v", p.Scores.Mean, want)
	}
	p = version(t, ms, "regression").Predictions
	if p.ScoreHistogram != nil || p.ScoresOutside != 2 || !relWithin(p.Scores.P50, -3, ValueAccuracy) || p.Scores.Mean != 4.75 {
		t.Errorf("regression: histogram %v, outside %d, scores %+v; want none, 2, p50 -3 and mean 4.75", p.ScoreHistogram, p.ScoresOutside, p.Scores)
	}
	p = version(t, ms, "multiclass").Predictions
	if !slices.Equal(p.Classes, []int64{1, 1}) || p.ClassesOther != 1 || p.Confidence.N != 2 || !within(p.Confidence.Mean, 0.6, 1e-15) {
		t.Errorf("multiclass: classes %v other %d confidence %+v; want [1 1], 1, mean 0.6 of 2", p.Classes, p.ClassesOther, p.Confidence)
	}
	p = version(t, ms, "binary").Predictions
	if !slices.Equal(p.Classes, []int64{1, 1}) || p.Scores.N != 2 || !within(p.Scores.Mean, 0.4, 1e-15) {
		t.Errorf("two-class: classes %v scores %+v; want [1 1] and mean 0.4 of column 1", p.Classes, p.Scores)
	}
	p = version(t, ms, "ids").Predictions
	if !slices.Equal(p.Classes, []int64{1, 0, 2}) || p.ClassesOther != 1 {
		t.Errorf("class ids: %v other %d; want [1 0 2], 1", p.Classes, p.ClassesOther)
	}
	if _, err := json.Marshal(ms); err != nil {
		t.Fatalf("snapshot does not marshal: %v", err)
	}
}

func TestFeatureSummaries(t *testing.T) {
	r, _ := newTestRecorder(Config{MaxFeatures: 4})
	r.Record(Observation{Model: "m", Version: "1", Inputs: []runtime.Tensor{
		feature("amount", 10, 20, math.NaN()),
		{Name: "x", Datatype: runtime.INT32, Shape: []int64{3, 2}, Data: []int32{1, 2, 3, 4, 5, 6}},
		feature("late", 1, 2, 3),    // the fourth feature
		feature("dropped", 1, 2, 3), // beyond MaxFeatures
		{Name: "region", Datatype: runtime.BYTES, Shape: []int64{3}, Data: []string{"eu", "us", "us"}},
	}})
	r.Record(Observation{Model: "m", Version: "1", Inputs: []runtime.Tensor{feature("amount", 30)}})
	r.Record(Observation{Model: "m", Version: "1", Outcome: ServerError, Inputs: []runtime.Tensor{feature("amount", 1e9)}})
	fs := version(t, r.Snapshot("m", time.Minute), "1").Features
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	if want := []string{"amount", "x[0]", "x[1]", "late"}; !slices.Equal(names, want) {
		t.Fatalf("features %v, want %v", names, want)
	}
	amount := fs[0]
	want := FeatureStats{Name: "amount", Count: 4, Missing: 1, Mean: 20, Std: math.Sqrt(200.0 / 3), Min: 10, Max: 30, P50: amount.P50}
	if !within(amount.Std, want.Std, 1e-12) {
		t.Errorf("amount std %v, want %v", amount.Std, want.Std)
	}
	amount.Std = want.Std
	if amount != want || !relWithin(amount.P50, 20, ValueAccuracy) {
		t.Errorf("amount %+v, want %+v with p50 ≈ 20 (the failed request's input is not counted)", amount, want)
	}
	if x1 := fs[2]; x1.Count != 3 || x1.Mean != 4 || x1.Min != 2 || x1.Max != 6 {
		t.Errorf("x[1] %+v, want count 3 mean 4 min 2 max 6", x1)
	}
}

func TestSnapshotListsVersionsInOrder(t *testing.T) {
	r, _ := newTestRecorder(Config{})
	for _, v := range []string{"3", "1", "2"} {
		r.Record(Observation{Model: "m", Version: v})
	}
	r.Record(Observation{Model: "other", Version: "9"})
	ms := r.Snapshot("m", time.Minute)
	var got []string
	for _, v := range ms.Versions {
		got = append(got, v.Version)
	}
	if !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Fatalf("versions %v, want [1 2 3]", got)
	}
	r.Forget("m", "2")
	if n := len(r.Snapshot("m", time.Minute).Versions); n != 2 {
		t.Fatalf("after Forget: %d versions, want 2", n)
	}
	if ms := r.Snapshot("unknown", time.Minute); ms.Versions == nil || len(ms.Versions) != 0 {
		t.Fatalf("unknown model: versions %v, want empty and non-nil", ms.Versions)
	}
}

func TestPackCountsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		pos  map[int]uint32
		neg  map[int]uint32
	}{
		{"empty", nil, nil},
		{"first and last bins", map[int]uint32{0: 1, AUCBins - 1: 7}, map[int]uint32{AUCBins - 1: 1}},
		{"large counts", map[int]uint32{3: math.MaxUint32, 500: 1 << 20}, map[int]uint32{0: 300, 1: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pos, neg := make([]uint32, AUCBins), make([]uint32, AUCBins)
			for i, c := range tt.pos {
				pos[i] = c
			}
			for i, c := range tt.neg {
				neg[i] = c
			}
			packed := packCounts(packCounts(nil, pos), neg)
			gotPos, gotNeg := make([]uint32, AUCBins), make([]uint32, AUCBins)
			gotPos[3] = 5 // unpacking adds, saturating
			unpackCounts(packed, gotPos, gotNeg)
			wantPos := slices.Clone(pos)
			wantPos[3] = addSaturating(wantPos[3], 5)
			if !slices.Equal(gotPos, wantPos) || !slices.Equal(gotNeg, neg) {
				t.Fatalf("round trip changed the counts (%d bytes packed)", len(packed))
			}
		})
	}
}

// TestSealedBucketsMergeLikeLiveOnes compares a window over sealed buckets
// with the same values added to one live sketch.
func TestSealedBucketsMergeLikeLiveOnes(t *testing.T) {
	r, c := newTestRecorder(Config{Bucket: time.Second})
	l := newSketchLayout()
	pool := sketchPool{sketchLayout: l}
	var direct Aggregate
	for i := range 5000 {
		c.Set(time.Duration(i) * time.Millisecond) // five buckets, four sealed
		x := float64(i%97) - 40
		o := Observation{Model: "m", Version: "1", Latency: time.Duration(1+i%13) * time.Millisecond,
			Inputs: []runtime.Tensor{feature("x", x)}, Outputs: scoreOut(float64(i%10) / 10)}
		r.Record(o)
		direct.addRequest(OK, o.Latency, &pool)
		direct.Predictions.addScore(float64(i%10)/10, &pool)
		var f FeatureAggregate
		if len(direct.Features) == 0 {
			direct.Features = append(direct.Features, f)
		}
		direct.Features[0].add(x, &pool)
	}
	got, _ := r.Window("m", "1", time.Minute)
	for _, q := range []float64{0, 0.1, 0.5, 0.9, 0.99, 1} {
		pairs := [][2]float64{
			{quantile(got.Latency, q), quantile(direct.Latency, q)},
			{quantile(got.Predictions.Scores, q), quantile(direct.Predictions.Scores, q)},
			{quantile(got.Features[0].Sketch, q), quantile(direct.Features[0].Sketch, q)},
		}
		for i, p := range pairs {
			if p[0] != p[1] {
				t.Errorf("sketch %d quantile %v: merged %v, live %v", i, q, p[0], p[1])
			}
		}
	}
	if got.Latency.GetCount() != 5000 || got.Features[0].Sketch.GetCount() != 5000 {
		t.Fatalf("counts %v and %v, want 5000", got.Latency.GetCount(), got.Features[0].Sketch.GetCount())
	}
}

func TestSnapshotIsJSONSafe(t *testing.T) {
	r, _ := newTestRecorder(Config{})
	huge := feature("huge", 1e308, 1e308, math.Inf(1))
	r.Record(Observation{Model: "m", Version: "1", Inputs: []runtime.Tensor{huge}, Outputs: scoreOut(math.Inf(-1), 1e308)})
	ms := r.Snapshot("m", time.Minute)
	if _, err := json.Marshal(ms); err != nil {
		t.Fatalf("snapshot with overflowing sums does not marshal: %v", err)
	}
	if f := version(t, ms, "1").Features[0]; f.Count != 3 || f.Missing != 1 || f.Max != 1e308 {
		t.Fatalf("feature %+v, want count 3, missing 1 (the infinity), max 1e308", f)
	}
}
