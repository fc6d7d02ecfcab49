package serving_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/api"
	"github.com/slipway-ml/slipway/internal/traffic"
)

func postJSON(t testing.TB, url string, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// Requests split between two versions, with ground truth fed back by
// request id and a shadow on a third: the telemetry shows each version's
// counts and quality equal to what the holdout labels say directly, and
// the shadow's comparison.
func TestTelemetryFeedbackAndShadow(t *testing.T) {
	url, srv := gateway(t)
	c := &api.Client{BaseURL: url}
	ctx := context.Background()
	_, err := c.SetRoute(ctx, "fraud", traffic.Policy{
		Splits:  []traffic.Split{{Version: "2.0.0", Weight: 5000}, {Version: "1.0.0", Weight: 5000}},
		Sticky:  "header:X-User-Id",
		Mirrors: []traffic.Mirror{{Version: "3.0.0", Percent: 10000}},
	}, "experiment")
	if err != nil {
		t.Fatal(err)
	}
	_, cols := holdout(t, examples+"fraud/holdout.csv")
	refs := map[string][]float64{"1.0.0": referenceScores(t, "1"), "2.0.0": referenceScores(t, "2")}
	const rows = 300
	type tally struct{ n, correct int }
	want := map[string]*tally{"1.0.0": {}, "2.0.0": {}}
	for r := range rows {
		status, b, v := postRaw(t, url+"/v2/models/fraud/infer", inferBody(cols, r, r+1),
			"X-User-Id", fmt.Sprintf("u%d", r), "X-Request-Id", fmt.Sprintf("req-%d", r))
		if status != 200 {
			t.Fatalf("%d %s", status, b)
		}
		label := cols["label"][r]
		code, res := postJSON(t, url+"/v2/models/fraud/feedback", fmt.Sprintf(`{"id": "req-%d", "label": %g, "values": {"conversion": 1}}`, r, label))
		if code != 200 || res["status"] != "joined" || res["version"] != v {
			t.Fatalf("feedback for req-%d (answered by %s): %d %v", r, v, code, res)
		}
		w := want[v]
		w.n++
		if (refs[v][r] >= 0.5) == (label == 1) {
			w.correct++
		}
	}
	if code, res := postJSON(t, url+"/v2/models/fraud/feedback", `{"id": "never-seen", "label": 1}`); code != 200 || res["status"] != "unmatched" {
		t.Fatalf("unknown id: %d %v", code, res)
	}
	if code, res := postJSON(t, url+"/v2/models/fraud/feedback", `{"label": 1}`); code != 400 || !strings.Contains(fmt.Sprint(res["error"]), "request id") {
		t.Fatalf("feedback without id: %d %v", code, res)
	}
	if code, _ := postJSON(t, url+"/v2/models/nosuch/feedback", `{"id": "x"}`); code != 404 {
		t.Fatalf("feedback for an unknown model: %d", code)
	}

	// Shadows run asynchronously: wait until all were compared.
	var st struct {
		Versions []struct {
			Version  string `json:"version"`
			Requests int64  `json:"requests"`
			Quality  struct {
				N        int64    `json:"n"`
				Accuracy *float64 `json:"accuracy"`
			} `json:"quality"`
			Values map[string]struct{ N int64 } `json:"values"`
		} `json:"versions"`
		Shadows []struct {
			Primary, Shadow string
			Compared        int64
			Agreement       *float64
		} `json:"shadows"`
		Feedback struct{ Joined, Unmatched int64 } `json:"feedback"`
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(url + "/api/v1/models/fraud/telemetry?window=10m")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		compared := int64(0)
		for _, s := range st.Shadows {
			compared += s.Compared
		}
		if compared == rows || time.Now().After(deadline) {
			break
		}
	}
	for _, v := range st.Versions {
		w := want[v.Version]
		if w == nil {
			t.Fatalf("telemetry has version %q, which answered nothing", v.Version)
		}
		if v.Requests != int64(w.n) || v.Quality.N != int64(w.n) || v.Values["conversion"].N != int64(w.n) {
			t.Errorf("%s: %d requests, %d labelled, want %d", v.Version, v.Requests, v.Quality.N, w.n)
		}
		if acc := float64(w.correct) / float64(w.n); v.Quality.Accuracy == nil || math.Abs(*v.Quality.Accuracy-acc) > 1e-12 {
			t.Errorf("%s: accuracy %v, computed directly %g", v.Version, v.Quality.Accuracy, acc)
		}
	}
	if len(st.Versions) != 2 || st.Feedback.Joined != rows || st.Feedback.Unmatched != 1 {
		t.Fatalf("telemetry: %d versions, feedback %+v", len(st.Versions), st.Feedback)
	}
	compared := int64(0)
	for _, s := range st.Shadows {
		if s.Shadow != "3.0.0" || s.Agreement == nil {
			t.Fatalf("shadow stats %+v", s)
		}
		compared += s.Compared
	}
	if compared != rows || srv.Gateway.MirrorStats().Dropped != 0 {
		t.Fatalf("compared %d shadow copies of %d (mirror %+v)", compared, rows, srv.Gateway.MirrorStats())
	}

	// Prometheus exposition carries the same counts.
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		fmt.Sprintf(`slipway_requests_total{model="fraud",outcome="ok",version="1.0.0"} %d`, want["1.0.0"].n),
		`slipway_route_weight{model="fraud",version="2.0.0"} 50`,
		fmt.Sprintf(`slipway_mirror_requests_total{model="fraud",result="sent",version="3.0.0"} %d`, rows),
		fmt.Sprintf(`slipway_feedback_total{model="fraud",result="joined"} %d`, rows),
		`slipway_request_duration_seconds_bucket{model="fraud",version="2.0.0"`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
