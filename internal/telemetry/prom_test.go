package telemetry

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestPrometheusExport(t *testing.T) {
	r, c := newTestRecorder(Config{JoinTTL: time.Minute})
	reg := prometheus.NewRegistry()
	if err := r.Register(reg); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(reg); err == nil {
		t.Fatal("registering twice succeeded")
	}
	for range 3 {
		r.Record(Observation{Model: "fraud", Version: "1", Latency: 3 * time.Millisecond})
	}
	r.Record(Observation{Model: "fraud", Version: "1", Outcome: Timeout, Latency: time.Second})
	r.Record(Observation{Model: "fraud", Version: "2", RequestID: "a", Latency: 4 * time.Millisecond, Outputs: scoreOut(0.2)})
	r.Record(Observation{Model: "fraud", Version: "2", RequestID: "b", Outputs: scoreOut(0.2)})
	r.Feedback("fraud", Feedback{ID: "a", Label: ptr(0)})
	r.Feedback("fraud", Feedback{ID: "zzz"})
	c.Advance(2 * time.Minute)
	r.Feedback("fraud", Feedback{ID: "b"})
	r.MirrorResult("fraud", "2", MirrorSent)
	r.MirrorResult("fraud", "2", MirrorSent)
	r.MirrorResult("fraud", "2", MirrorDropped)
	r.SetRouteWeights("fraud", map[string]float64{"1": 0.9, "2": 0.1})
	r.SetRouteWeights("fraud", map[string]float64{"2": 1})

	want := `
# HELP slipway_feedback_total Feedback by model and join result (joined, unmatched, expired).
# TYPE slipway_feedback_total counter
slipway_feedback_total{model="fraud",result="expired"} 1
slipway_feedback_total{model="fraud",result="joined"} 1
slipway_feedback_total{model="fraud",result="unmatched"} 1
# HELP slipway_mirror_requests_total Requests mirrored to shadow versions by result (sent, dropped, failed, paused).
# TYPE slipway_mirror_requests_total counter
slipway_mirror_requests_total{model="fraud",result="dropped",version="2"} 1
slipway_mirror_requests_total{model="fraud",result="sent",version="2"} 2
# HELP slipway_requests_total Inference requests by model, answering version and outcome (ok, client_error, server_error, timeout).
# TYPE slipway_requests_total counter
slipway_requests_total{model="fraud",outcome="client_error",version="1"} 0
slipway_requests_total{model="fraud",outcome="client_error",version="2"} 0
slipway_requests_total{model="fraud",outcome="ok",version="1"} 3
slipway_requests_total{model="fraud",outcome="ok",version="2"} 2
slipway_requests_total{model="fraud",outcome="server_error",version="1"} 0
slipway_requests_total{model="fraud",outcome="server_error",version="2"} 0
slipway_requests_total{model="fraud",outcome="timeout",version="1"} 1
slipway_requests_total{model="fraud",outcome="timeout",version="2"} 0
# HELP slipway_route_weight Share of traffic the router sends to each version of a model.
# TYPE slipway_route_weight gauge
slipway_route_weight{model="fraud",version="2"} 1
`
	names := []string{"slipway_feedback_total", "slipway_mirror_requests_total", "slipway_requests_total", "slipway_route_weight"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, mf := range families {
		if mf.GetName() != "slipway_request_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			if h.GetSchema() == 0 && len(h.GetPositiveSpan()) == 0 {
				t.Errorf("%v: not a native histogram", m.GetLabel())
			}
			if len(h.GetBucket()) == 0 {
				t.Errorf("%v: no classic buckets", m.GetLabel())
			}
			if m.GetLabel()[0].GetValue() == "fraud" && m.GetLabel()[1].GetValue() == "1" {
				found = true
				if h.GetSampleCount() != 4 || !within(h.GetSampleSum(), 1.009, 1e-12) {
					t.Errorf("version 1: %d samples summing to %v, want 4 and 1.009", h.GetSampleCount(), h.GetSampleSum())
				}
				if h.GetSchema() != 3 { // factor 1.1 rounds to 2^(2^-3) ≈ 1.09
					t.Errorf("schema %d, want 3", h.GetSchema())
				}
			}
		}
	}
	if !found {
		t.Fatal("no slipway_request_duration_seconds for fraud version 1")
	}

	r.Forget("fraud", "1")
	if n := testutil.CollectAndCount(r.prom.requests); n != 4 {
		t.Errorf("after Forget: %d request series, want version 2's 4", n)
	}
	if n, err := testutil.GatherAndCount(reg, "slipway_request_duration_seconds"); err != nil || n != 1 {
		t.Errorf("after Forget: %d duration series (%v), want 1", n, err)
	}
	r.SetRouteWeights("fraud", nil)
	if n := testutil.CollectAndCount(r.prom.routes); n != 0 {
		t.Errorf("after clearing weights: %d route series, want 0", n)
	}
}
