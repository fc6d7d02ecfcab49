package simulate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
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

// TestTrafficSendsValuesOfTheAnsweringVersion runs traffic with
// conversions against a stub server whose two versions answer
// alternately, one sure and one unsure, and checks that each feedback
// carries the conversion the answering version earned, and that a second
// run draws the same conversions for the same requests.
func TestTrafficSendsValuesOfTheAnsweringVersion(t *testing.T) {
	type result struct {
		version string
		values  map[string]float64
		label   float64
	}
	run := func() map[string]*result {
		var mu sync.Mutex
		got := map[string]*result{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			defer mu.Unlock()
			switch r.URL.Path {
			case "/v2/models/m/infer":
				id := r.Header.Get("X-Request-Id")
				n, _ := strconv.Atoi(id[strings.LastIndex(id, "-")+1:])
				v, probs := "sure", "[0.1,0.9]"
				if n%2 == 1 {
					v, probs = "unsure", "[0.4,0.6]"
				}
				got[id] = &result{version: v}
				w.Header().Set("X-Slipway-Version", v)
				fmt.Fprintf(w, `{"model_name":"m","outputs":[{"name":"p","datatype":"FP32","shape":[1,2],"data":%s}]}`, probs)
			case "/v2/models/m/feedback":
				var fb struct {
					ID     string             `json:"id"`
					Label  float64            `json:"label"`
					Values map[string]float64 `json:"values"`
				}
				if err := json.Unmarshal(body, &fb); err != nil {
					t.Errorf("feedback body %s: %v", body, err)
				}
				if got[fb.ID] == nil {
					t.Errorf("feedback for %q, never requested", fb.ID)
					return
				}
				got[fb.ID].values, got[fb.ID].label = fb.Values, fb.Label
			}
		}))
		defer srv.Close()
		ds := Dataset{Features: []string{"x"}, Rows: [][]float64{{1}, {2}}, Labels: []float64{1, 1}}
		tr := &Traffic{BaseURL: srv.URL, Model: "m", Data: ds, Users: 5, Rate: 400, Workers: 2, FeedbackDelay: time.Millisecond,
			Values: Autofill{Output: "p", Confidence: 0.8, Filled: 0.5, Typed: 0}.Values, Seed: 42}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for {
				if _, _, fb := tr.Counts(); fb >= 60 {
					cancel()
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		tr.Run(ctx)
		if _, failed, _ := tr.Counts(); failed != 0 {
			t.Errorf("%d requests failed", failed)
		}
		mu.Lock()
		defer mu.Unlock()
		return got
	}
	first, second := run(), run()
	sureConverted, sureAnswered := 0, 0
	for id, r := range first {
		if r.values == nil {
			continue
		}
		if r.label != 1 {
			t.Fatalf("%s: label %v lost beside the values", id, r.label)
		}
		c := r.values["conversion"]
		switch r.version {
		case "unsure":
			if c != 0 {
				t.Fatalf("%s answered unsure (Typed 0) converted %v", id, c)
			}
		case "sure":
			sureAnswered++
			if c == 1 {
				sureConverted++
			}
		}
		if s := second[id]; s != nil && s.values != nil && s.values["conversion"] != c {
			t.Fatalf("%s converted %v, then %v on a second run with the same seed", id, c, s.values["conversion"])
		}
	}
	// Filled 0.5: some of the sure answers convert, not all.
	if sureConverted == 0 || sureConverted == sureAnswered {
		t.Fatalf("%d of %d sure answers converted at a 50%% chance", sureConverted, sureAnswered)
	}
}

// TestTrafficCountsUnreadableAnswersAsFailed: with Values set, an answer
// whose outputs cannot be read is a failure and gets no feedback.
func TestTrafficCountsUnreadableAnswersAsFailed(t *testing.T) {
	var mu sync.Mutex
	feedback := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/v2/models/m/feedback" {
			feedback++
			return
		}
		w.Write([]byte(`{"outputs": not json`))
	}))
	defer srv.Close()
	ds := Dataset{Features: []string{"x"}, Rows: [][]float64{{1}}, Labels: []float64{1}}
	tr := &Traffic{BaseURL: srv.URL, Model: "m", Data: ds, Rate: 400, Workers: 2, FeedbackDelay: time.Millisecond,
		Values: Autofill{Output: "p", Filled: 1}.Values}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			if _, failed, _ := tr.Counts(); failed >= 10 {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	tr.Run(ctx)
	sent, failed, sentFeedback := tr.Counts()
	mu.Lock()
	defer mu.Unlock()
	// Requests cut off by the end of the run count as neither.
	if failed < 10 || sent-failed > int64(tr.Workers) || sentFeedback != 0 || feedback != 0 {
		t.Fatalf("sent %d, failed %d, feedback %d (server got %d): want every answer failed and no feedback", sent, failed, sentFeedback, feedback)
	}
}
