package serving_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/api"
)

// One slipway fronts another: versions registered by URL answer over HTTP
// and gRPC with the backend's exact predictions; a backend that is down,
// slow or broken gets 502/504 while the front stays healthy.
func TestRemoteVersions(t *testing.T) {
	backURL, back := gateway(t)
	frontURL, _ := gateway(t)
	c := &api.Client{BaseURL: frontURL}
	ctx := context.Background()

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Second)
	}))
	defer slow.Close()
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>not an inference server</html>"))
	}))
	defer garbage.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()

	var sig slipway.Signature
	if v, err := c.Version(ctx, slipway.Ref{Model: "fraud", Selector: "2.0.0"}); err == nil {
		sig = v.Signature
	}
	for _, r := range []struct {
		version, url string
		meta         map[string]string
	}{
		{"http", backURL + "/v2/models/fraud/versions/2.0.0", nil},
		{"grpc", "grpc://" + back.GRPCAddr() + "/fraud/2.0.0", nil},
		{"slow", slow.URL + "/v2/models/fraud", map[string]string{"timeout": "200ms"}},
		{"garbage", garbage.URL + "/v2/models/fraud", nil},
		{"down", down.URL + "/v2/models/fraud", nil},
	} {
		if _, err := c.Push(ctx, "fraud", slipway.Version{Version: r.version, URL: r.url, Signature: sig, Meta: r.meta}, "", nil); err != nil {
			t.Fatalf("push remote %s: %v", r.version, err)
		}
	}
	_, cols := holdout(t, examples+"fraud/holdout.csv")
	ref := referenceScores(t, "2")
	body := inferBody(cols, 0, 40)
	for _, v := range []string{"http", "grpc"} {
		resp, out := post(t, frontURL+"/v2/models/fraud/versions/"+v+"/infer", body)
		if resp.StatusCode != 200 || out.ModelVersion != v {
			t.Fatalf("remote %s: %d %q (version %q)", v, resp.StatusCode, out.Error, out.ModelVersion)
		}
		for i, got := range out.Outputs[0].Data {
			if d := got - ref[i]; d > 1e-6 || d < -1e-6 {
				t.Fatalf("remote %s row %d: %g, XGBoost %g", v, i, got, ref[i])
			}
		}
	}
	for _, tc := range []struct {
		version string
		status  int
		want    string
	}{
		{"slow", 504, "timed out"},
		{"garbage", 502, "not JSON"},
		{"down", 502, "connection refused"},
	} {
		start := time.Now()
		resp, out := post(t, frontURL+"/v2/models/fraud/versions/"+tc.version+"/infer", body)
		if resp.StatusCode != tc.status || !strings.Contains(out.Error, tc.want) {
			t.Errorf("remote %s: %d %q, want %d containing %q", tc.version, resp.StatusCode, out.Error, tc.status, tc.want)
		}
		if time.Since(start) > 1500*time.Millisecond {
			t.Errorf("remote %s took %s", tc.version, time.Since(start))
		}
	}
	if resp, out := post(t, frontURL+"/v2/models/fraud/infer", body); resp.StatusCode != 200 {
		t.Fatalf("front stopped answering its own versions: %d %s", resp.StatusCode, out.Error)
	}
	// Bad remote registrations are refused at push.
	for _, bad := range []slipway.Version{
		{Version: "x1", URL: "ftp://host/model"},
		{Version: "x2", URL: "not a url"},
	} {
		if _, err := c.Push(ctx, "fraud", bad, "", nil); err == nil || !strings.Contains(err.Error(), "URL") {
			t.Errorf("push %s with URL %q: %v", bad.Version, bad.URL, err)
		}
	}
}
