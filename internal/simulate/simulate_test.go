package simulate

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/examples"
)

func TestParseBundledHoldouts(t *testing.T) {
	raw, err := examples.Holdout("fraud")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := ParseCSV(raw, "", "region")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Rows) != 2000 || len(ds.Features) != 7 || ds.Features[2] != "merchant_risk" {
		t.Fatalf("fraud: %d rows, features %v", len(ds.Rows), ds.Features)
	}
	missing := 0
	for _, r := range ds.Rows {
		if math.IsNaN(r[3]) {
			missing++
		}
	}
	if missing != 147 {
		t.Fatalf("fraud: %d rows miss distance_from_home, want 147 (examples/README.md)", missing)
	}
	var body struct {
		Inputs []struct {
			Name  string     `json:"name"`
			Shape []int      `json:"shape"`
			Data  []*float64 `json:"data"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal(ds.body(0), &body); err != nil {
		t.Fatalf("request body: %v", err)
	}
	if len(body.Inputs) != 7 || body.Inputs[0].Name != "amount" || *body.Inputs[0].Data[0] != 26.75 {
		t.Fatalf("row 0 body %+v", body)
	}

	raw, err = examples.Holdout("digits")
	if err != nil {
		t.Fatal(err)
	}
	dg, err := ParseCSV(raw, "input")
	if err != nil {
		t.Fatal(err)
	}
	if len(dg.Rows) != 450 || len(dg.Features) != 64 {
		t.Fatalf("digits: %d rows, %d features", len(dg.Rows), len(dg.Features))
	}
	if err := json.Unmarshal(dg.body(0), &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Inputs) != 1 || body.Inputs[0].Name != "input" || len(body.Inputs[0].Data) != 64 || body.Inputs[0].Shape[1] != 64 {
		t.Fatalf("digits body %+v", body)
	}
}

func TestParseCSVErrors(t *testing.T) {
	if _, err := ParseCSV([]byte("a,b\n1,2\n"), ""); err == nil || !strings.Contains(err.Error(), "no label column") {
		t.Fatalf("no label: %v", err)
	}
	if _, err := ParseCSV([]byte("a,label\n1,x\n"), ""); err == nil || !strings.Contains(err.Error(), "row 2") {
		t.Fatalf("bad label: %v", err)
	}
}

// TestTrafficSendsRowsUsersAndFeedback runs traffic against a stub model
// server and checks what reaches it.
func TestTrafficSendsRowsUsersAndFeedback(t *testing.T) {
	var mu sync.Mutex
	users := map[string]bool{}
	feedback := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/v2/models/m/infer":
			users[r.Header.Get("X-User-Id")] = true
			w.Header().Set("X-Slipway-Version", "1.0.0")
			w.Write([]byte(`{}`))
		case "/v2/models/m/feedback":
			var fb struct {
				ID    string  `json:"id"`
				Label float64 `json:"label"`
			}
			if err := json.Unmarshal(body, &fb); err != nil {
				t.Errorf("feedback body %s: %v", body, err)
			}
			feedback[fb.ID] = string(body)
		default:
			t.Errorf("unexpected %s", r.URL.Path)
		}
	}))
	defer srv.Close()
	ds := Dataset{Features: []string{"x"}, Rows: [][]float64{{1}, {2}}, Labels: []float64{0, 1}}
	var responses []Response
	tr := &Traffic{BaseURL: srv.URL, Model: "m", Data: ds, Users: 5, Rate: 400, Workers: 2,
		FeedbackDelay: 10 * time.Millisecond, IDPrefix: "t-",
		OnResponse: func(r Response) { mu.Lock(); responses = append(responses, r); mu.Unlock() }}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			if sent, _, fb := tr.Counts(); sent >= 40 && fb >= 20 {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	tr.Run(ctx)
	mu.Lock()
	defer mu.Unlock()
	if len(users) != 5 {
		t.Fatalf("%d distinct users, want 5", len(users))
	}
	if got := feedback["t-m-1"]; got != `{"id":"t-m-1","label":1}` {
		t.Fatalf("feedback of request 1: %q", got)
	}
	for _, r := range responses {
		if r.Version != "1.0.0" || r.Status != 200 {
			t.Fatalf("response %+v", r)
		}
	}
	if _, failed, _ := tr.Counts(); failed != 0 {
		t.Fatalf("%d failed", failed)
	}
}
