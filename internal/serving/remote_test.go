package serving_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/api"
	"github.com/slipway-ml/slipway/internal/telemetry"
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

// A client that hangs up while a remote version works on its request
// frees the backend: slipway abandons the call within a fraction of a
// second, not at the version's 30 s timeout, and counts the request as
// the client's doing (client_errors), not against the version's error
// rate.
func TestClientHangupAbandonsRemoteCall(t *testing.T) {
	frontURL, _ := gateway(t)
	c := &api.Client{BaseURL: frontURL}
	ctx := context.Background()
	arrived, abandoned := make(chan struct{}, 1), make(chan time.Time, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // net/http watches for a hang-up once the body is read
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
			abandoned <- time.Now()
		case <-time.After(30 * time.Second):
		}
	}))
	defer slow.Close()
	v, err := c.Version(ctx, slipway.Ref{Model: "fraud", Selector: "2.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Push(ctx, "fraud", slipway.Version{Version: "hang", URL: slow.URL + "/v2/models/fraud", Signature: v.Signature, Meta: map[string]string{"timeout": "30s"}}, "", nil); err != nil {
		t.Fatal(err)
	}
	_, cols := holdout(t, examples+"fraud/holdout.csv")
	body := inferBody(cols, 0, 1)
	conn, err := net.Dial("tcp", strings.TrimPrefix(frontURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /v2/models/fraud/versions/hang/infer HTTP/1.1\r\nHost: slipway\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the backend")
	}
	left := time.Now()
	conn.Close()
	select {
	case at := <-abandoned:
		t.Logf("backend call abandoned %v after the client left", at.Sub(left).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("the backend still works on the request 10 s after its client hung up")
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		stats, err := c.Telemetry(ctx, "fraud", 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var got *telemetry.VersionStats
		for i := range stats.Versions {
			if stats.Versions[i].Version == "hang" {
				got = &stats.Versions[i]
			}
		}
		if got != nil && got.Requests == 1 {
			if got.ClientErrors != 1 || got.ServerErrors != 0 || got.Timeouts != 0 || got.ErrorRate != 0 {
				t.Fatalf("hung-up request counted as %+v, want one client error and an error rate of 0", *got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no telemetry for the hung-up request: %+v", stats.Versions)
		}
	}
}
