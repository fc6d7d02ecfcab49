package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/api"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

type running struct {
	url    string
	cancel context.CancelFunc
	errc   chan error
	srv    *Server
}

func start(t *testing.T, cfg Config) *running {
	t.Helper()
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	srv, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, errc: make(chan error, 1), srv: srv}
	addrc := make(chan string, 1)
	go func() { r.errc <- srv.Serve(ctx, func(a string) { addrc <- a }) }()
	r.url = "http://" + <-addrc
	return r
}

// slowBody is an artifact upload that sends half its bytes, then waits to
// be released before sending the rest.
type slowBody struct {
	data    []byte
	sent    int
	paused  bool // touched only by the reading goroutine
	halfway chan struct{}
	release chan struct{}
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.sent == len(b.data)/2 && !b.paused {
		b.paused = true
		close(b.halfway)
		<-b.release
	}
	if b.sent == len(b.data) {
		return 0, io.EOF
	}
	end := len(b.data)
	if b.sent < len(b.data)/2 {
		end = len(b.data) / 2
	}
	n := copy(p, b.data[b.sent:end])
	b.sent += n
	return n, nil
}

// A stop requested while a push is streaming lets the push finish, then
// closes the store: the version is there when the server comes back.
func TestGracefulShutdownFinishesInFlightPush(t *testing.T) {
	dir := t.TempDir()
	r := start(t, Config{DataDir: dir})
	data, err := os.ReadFile("../../examples/fraud/v2/model.json")
	if err != nil {
		t.Fatal(err)
	}
	halfway, release := make(chan struct{}), make(chan struct{})
	body := &slowBody{data: data, halfway: halfway, release: release}
	c := &api.Client{BaseURL: r.url}
	pushed := make(chan error, 1)
	go func() {
		_, err := c.Push(context.Background(), "fraud", slipway.Version{Version: "2.0.0"}, "model.json", body)
		pushed <- err
	}()
	<-halfway
	// The handler is in flight once it has begun spooling the upload.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if staged, _ := filepath.Glob(filepath.Join(dir, "tmp", "upload-*")); len(staged) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the push never reached the handler")
		}
	}
	r.cancel() // SIGTERM arrives mid-upload
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-r.errc:
		t.Fatalf("server stopped before the in-flight push finished: %v", err)
	default:
	}
	close(release)
	if err := <-pushed; err != nil {
		t.Fatalf("in-flight push: %v", err)
	}
	if err := <-r.errc; err != nil {
		t.Fatalf("Serve after graceful stop: %v", err)
	}
	if _, err := http.Get(r.url + "/api/v1/models"); err == nil {
		t.Fatal("server still answering after stop")
	}

	r2 := start(t, Config{DataDir: dir})
	defer func() { r2.cancel(); <-r2.errc }()
	v, err := (&api.Client{BaseURL: r2.url}).Version(context.Background(), slipway.Ref{Model: "fraud", Selector: "2.0.0"})
	if err != nil || v.Size != int64(len(data)) {
		t.Fatalf("after restart: %+v, %v", v, err)
	}
}

func TestOpenFailsFastOnUnreachableStore(t *testing.T) {
	start := time.Now()
	_, err := Open(context.Background(), Config{DataDir: t.TempDir(), Store: "postgres://postgres@127.0.0.1:1/x?sslmode=disable"})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("Open = %v, want an error naming 127.0.0.1:1", err)
	}
	if time.Since(start) > 12*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
	if _, err := Open(context.Background(), Config{DataDir: t.TempDir(), Store: "mysql://x"}); err == nil || !strings.Contains(err.Error(), "mysql://x") {
		t.Fatalf("unknown store scheme: %v", err)
	}
}

func TestAPIErrorsAreJSONWithStatus(t *testing.T) {
	r := start(t, Config{DataDir: t.TempDir()})
	defer func() { r.cancel(); <-r.errc }()
	c := &api.Client{BaseURL: r.url}
	if _, err := c.PushFile(context.Background(), "fraud", slipway.Version{Version: "1.0.0"}, "../../examples/fraud/v1/model.json"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path, ctype, body string
		status                    int
		want                      string
	}{
		{"GET", "/api/v1/models/nosuch", "", "", 404, "not found"},
		{"GET", "/api/v1/models/fraud/versions/9.9.9", "", "", 404, `no version or alias "9.9.9"`},
		{"GET", "/api/v1/nothing", "", "", 404, "no such endpoint"},
		{"PUT", "/api/v1/models/fraud/aliases/production", "application/json", `{"version": "9"}`, 404, "version fraud@9 not found"},
		{"PUT", "/api/v1/models/fraud/aliases/production", "application/json", `{"version": `, 400, "request body"},
		{"PUT", "/api/v1/models/fraud/aliases/production", "application/json", `{"versoin": "1.0.0"}`, 400, `unknown field "versoin"`},
		{"PUT", "/api/v1/models/fraud/aliases/production", "text/plain", `{"version": "1.0.0"}`, 415, "want application/json"},
		{"POST", "/api/v1/models/fraud/versions", "application/json", `{}`, 400, "multipart/form-data"},
		{"PUT", "/api/v1/models/fraud/versions/1.0.0/state", "application/json", `{"state": "live"}`, 400, `state "live"`},
	} {
		req, _ := http.NewRequest(tc.method, r.url+tc.path, strings.NewReader(tc.body))
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error string `json:"error"`
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("%s %s: body is not JSON: %s", tc.method, tc.path, raw)
			continue
		}
		if resp.StatusCode != tc.status || !strings.Contains(body.Error, tc.want) {
			t.Errorf("%s %s = %d %q, want %d containing %q", tc.method, tc.path, resp.StatusCode, body.Error, tc.status, tc.want)
		}
	}
}

func TestPushOverSizeLimitIs413(t *testing.T) {
	r := start(t, Config{DataDir: t.TempDir()})
	defer func() { r.cancel(); <-r.errc }()
	r.srv.Registry.MaxArtifactBytes = 1000
	_, err := (&api.Client{BaseURL: r.url}).PushFile(context.Background(), "fraud", slipway.Version{Version: "1.0.0"}, "../../examples/fraud/v1/model.json")
	var re *api.ResponseError
	if !errors.As(err, &re) || re.Err.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("push over limit = %v, want 413", err)
	}
}

// With DebugAddr set, Go's profiles and trace are served there, and only
// there: the API's listener does not answer for them.
func TestDebugListenerServesProfilesApartFromAPI(t *testing.T) {
	r := start(t, Config{DataDir: t.TempDir(), DebugAddr: "127.0.0.1:0"})
	defer func() { r.cancel(); <-r.errc }()
	debug := r.srv.DebugAddr()
	if debug == "" {
		t.Fatal("DebugAddr is empty with a debug listener configured")
	}
	resp, err := http.Get("http://" + debug + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile:") {
		t.Fatalf("debug listener: %d %.200q, want the goroutine profile", resp.StatusCode, body)
	}
	resp, err = http.Get(r.url + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("API listener answered /debug/pprof/ with %d, want 404", resp.StatusCode)
	}
}

// A debug address that cannot be bound fails Serve with an error naming
// it, and leaves no API listener behind.
func TestDebugListenerBadAddressFailsServe(t *testing.T) {
	srv, err := Open(context.Background(), Config{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", DebugAddr: "127.0.0.1:notaport"})
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Serve(context.Background(), func(string) { t.Error("ready called although the debug listener failed") })
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:notaport (debug)") {
		t.Fatalf("Serve: %v, want a listen error naming the debug address", err)
	}
}

// Telemetry outlives a restart: what was measured before a graceful stop
// is in the version's stats after the next start. A damaged file is set
// aside, and the server starts without it.
func TestTelemetrySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: dir, Telemetry: telemetry.Config{Bucket: 200 * time.Millisecond}, TelemetrySave: 100 * time.Millisecond}
	ctx := context.Background()
	r := start(t, cfg)
	c := &api.Client{BaseURL: r.url}
	var sig slipway.Signature
	b, err := os.ReadFile("../../examples/fraud/v2/signature.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sig); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PushFile(ctx, "fraud", slipway.Version{Version: "2.0.0", Signature: sig}, "../../examples/fraud/v2/model.json"); err != nil {
		t.Fatal(err)
	}
	var inputs []string
	for _, in := range sig.Inputs {
		inputs = append(inputs, `{"name":"`+in.Name+`","datatype":"FP32","shape":[1],"data":[1]}`)
	}
	body := `{"inputs":[` + strings.Join(inputs, ",") + `]}`
	infer := func(url string) {
		t.Helper()
		resp, err := http.Post(url+"/v2/models/fraud/versions/2.0.0/infer", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("infer: %d", resp.StatusCode)
		}
	}
	for range 5 {
		infer(r.url)
	}
	// A request two bucket widths later seals the buckets of the first
	// five; its own bucket is still being written at the stop, and is
	// not saved.
	time.Sleep(2 * cfg.Telemetry.Bucket)
	infer(r.url)
	// Saved while serving, too: a crash loses at most one period.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		f, err := os.Open(filepath.Join(dir, telemetryFile))
		if err == nil {
			st, err := telemetry.New(telemetry.Config{Bucket: cfg.Telemetry.Bucket}).Load(f)
			f.Close()
			if err == nil && st.Buckets > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no telemetry saved while serving")
		}
	}
	r.cancel()
	if err := <-r.errc; err != nil {
		t.Fatal(err)
	}

	requests := func(url string) (int64, *telemetry.Restore) {
		t.Helper()
		stats, err := (&api.Client{BaseURL: url}).Telemetry(ctx, "fraud", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range stats.Versions {
			if v.Version == "2.0.0" {
				return v.Requests, stats.Restore
			}
		}
		return 0, stats.Restore
	}
	r2 := start(t, cfg)
	if got, restore := requests(r2.url); got != 5 || restore == nil || restore.SavedAt.IsZero() || restore.Buckets == 0 || restore.Error != "" {
		t.Errorf("after a restart 2.0.0 shows %d requests (restore %+v), want the 5 of sealed buckets, restored", got, restore)
	}
	r2.cancel()
	if err := <-r2.errc; err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(dir, telemetryFile)
	if err := os.WriteFile(path, []byte("not telemetry"), 0o644); err != nil {
		t.Fatal(err)
	}
	r3 := start(t, cfg)
	defer func() { r3.cancel(); <-r3.errc }()
	if got, restore := requests(r3.url); got != 0 || restore == nil || !strings.Contains(restore.Error, "not a saved telemetry file") || restore.File != path+".bad" {
		t.Errorf("with a damaged file 2.0.0 shows %d requests (restore %+v), want none and the reason", got, restore)
	}
	if kept, err := os.ReadFile(path + ".bad"); err != nil || string(kept) != "not telemetry" {
		t.Errorf("damaged file not set aside: %q, %v", kept, err)
	}
}
