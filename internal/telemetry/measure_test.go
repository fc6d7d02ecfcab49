package telemetry

import (
	"strconv"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/runtime"
)

// The measures agree with the figures Snapshot shows people, and the
// sample counts with the labels each quality metric averages over.
func TestMeasures(t *testing.T) {
	r, _ := newTestRecorder(Config{})
	for _, o := range []Outcome{OK, OK, OK, ClientError, ServerError, Timeout, OK, OK} {
		r.Record(Observation{Model: "m", Version: "1", Outcome: o, Latency: time.Millisecond})
	}
	ids := 0
	label := func(version string, out []runtime.Tensor, y float64) {
		ids++
		id := "id-" + strconv.Itoa(ids)
		r.Record(Observation{Model: "m", Version: version, RequestID: id, Outputs: out})
		if _, err := r.Feedback("m", Feedback{ID: id, Label: &y}); err != nil {
			t.Fatal(err)
		}
	}
	// Version 2: three binary labels and two class-probability labels.
	label("2", scoreOut(0.9), 1)
	label("2", scoreOut(0.2), 1)
	label("2", scoreOut(0.1), 0)
	label("2", probsOut(3, 0.7, 0.2, 0.1), 0)
	label("2", probsOut(3, 0.7, 0.2, 0.1), 2)
	// Version 3: a regression score spoils the binary metrics.
	label("3", scoreOut(0.9), 1)
	label("3", scoreOut(4.5), 3)
	label("3", probsOut(3, 0.7, 0.2, 0.1), 0)

	a, _ := r.Window("m", "1", time.Minute)
	rate, ok := a.ErrorRate()
	if v := version(t, r.Snapshot("m", time.Minute), "1"); !ok || rate != v.ErrorRate || rate != 2.0/8 {
		t.Errorf("error rate %v, %v; snapshot %v; want 2/8", rate, ok, v.ErrorRate)
	}
	if _, ok := (&Aggregate{}).ErrorRate(); ok {
		t.Error("an error rate without requests")
	}

	tests := []struct {
		version                   string
		accuracy, binary, logLoss int64
	}{
		{"2", 5, 3, 5},
		{"3", 1, 0, 1}, // only the class label counts once a score is not binary
	}
	for _, tt := range tests {
		a, _ := r.Window("m", tt.version, time.Minute)
		q := &a.Quality
		if q.AccuracyN() != tt.accuracy || q.BinaryN() != tt.binary || q.LogLossN() != tt.logLoss {
			t.Errorf("version %s: n accuracy %d, binary %d, log loss %d; want %d, %d, %d",
				tt.version, q.AccuracyN(), q.BinaryN(), q.LogLossN(), tt.accuracy, tt.binary, tt.logLoss)
		}
	}
}
