// Package simulate plays labelled holdout data against a running slipway
// as live traffic: requests from a fixed population of users (so sticky
// routing shows), at a steady rate, with each request's ground truth sent
// back as feedback after a delay, the way labels arrive in production, and
// optionally what the user did next (a conversion) as a business value in
// the same feedback. `slipway demo` and the end-to-end tests of rollouts
// drive slipway with it.
package simulate

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Dataset is a model's labelled rows and how to send them.
type Dataset struct {
	// Features names each column; with Tensor set the row goes as one
	// [1,len(Features)] tensor of that name, otherwise as one [1] tensor
	// per feature.
	Features []string
	Tensor   string
	Rows     [][]float64 // NaN is sent as null (a missing value)
	Labels   []float64
}

// ParseCSV reads a holdout CSV whose label column is "label"; columns
// listed in skip (such as a group column that is no model input) are left
// out. Unparseable cells (NaN) are missing values.
func ParseCSV(data []byte, tensor string, skip ...string) (Dataset, error) {
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		return Dataset{}, fmt.Errorf("holdout: %w", err)
	}
	if len(recs) < 2 {
		return Dataset{}, fmt.Errorf("holdout: no rows")
	}
	header := recs[0]
	label := slices.Index(header, "label")
	if label < 0 {
		return Dataset{}, fmt.Errorf("holdout: no label column in %v", header)
	}
	var cols []int
	ds := Dataset{Tensor: tensor}
	for i, h := range header {
		if i != label && !slices.Contains(skip, h) {
			cols = append(cols, i)
			ds.Features = append(ds.Features, h)
		}
	}
	for n, rec := range recs[1:] {
		row := make([]float64, len(cols))
		for j, c := range cols {
			v, err := strconv.ParseFloat(rec[c], 64)
			if err != nil {
				v = math.NaN()
			}
			row[j] = v
		}
		y, err := strconv.ParseFloat(rec[label], 64)
		if err != nil {
			return Dataset{}, fmt.Errorf("holdout row %d: label %q: %w", n+2, rec[label], err)
		}
		ds.Rows = append(ds.Rows, row)
		ds.Labels = append(ds.Labels, y)
	}
	return ds, nil
}

// body encodes row i as an Open Inference Protocol request.
func (d Dataset) body(i int) []byte {
	var b bytes.Buffer
	num := func(v float64) string {
		if math.IsNaN(v) {
			return "null"
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	row := d.Rows[i]
	b.WriteString(`{"inputs":[`)
	if d.Tensor != "" {
		fmt.Fprintf(&b, `{"name":%q,"datatype":"FP32","shape":[1,%d],"data":[`, d.Tensor, len(row))
		for j, v := range row {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(num(v))
		}
		b.WriteString("]}")
	} else {
		for j, name := range d.Features {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"name":%q,"datatype":"FP32","shape":[1],"data":[%s]}`, name, num(row[j]))
		}
	}
	b.WriteString("]}")
	return b.Bytes()
}

// Response is one answered request, as Traffic saw it.
type Response struct {
	// Sent and Received bound the request.
	Sent, Received time.Time
	User           string
	// Version answered (the X-Slipway-Version header); Status is the HTTP
	// status, 0 when the request failed before an answer.
	Version string
	Status  int
}

// Traffic sends a Dataset's rows to one model, round robin, at Rate
// requests per second, each from one of Users users, and sends each row's
// label back as feedback FeedbackDelay later.
type Traffic struct {
	BaseURL string
	Model   string
	Data    Dataset
	// Users is the population; user i sends as X-User-Id "user-i".
	Users int
	// Rate is requests per second; Workers bounds requests in flight.
	Rate    float64
	Workers int
	// FeedbackDelay is how late ground truth arrives; negative sends none.
	FeedbackDelay time.Duration
	// IDPrefix makes request ids unique across runs against one server.
	IDPrefix string
	Client   *http.Client
	// OnResponse, when set, sees every response, from several goroutines.
	OnResponse func(Response)
	// Values, when set, says what the user did after the answer: its
	// business values (such as {"conversion": 1}) go with the label in
	// the request's feedback, under FeedbackDelay. The generator is the
	// request's own, seeded from Seed and the request's number, so a run
	// is repeatable whatever order the workers finish in. Nil values send
	// none. Called from several goroutines.
	Values func(a Answer, rng *rand.Rand) map[string]float64
	// Seed seeds Values' generators; zero is a seed like any other.
	Seed uint64
	// Headers, when set, adds a user's own request headers (a country, a
	// device), the same on every request of the user, for audiences and
	// contexts. Called from several goroutines.
	Headers func(user string) map[string]string

	sent, failed, feedback atomic.Int64
}

// Answer is one answered request as the user saw it, for Traffic.Values.
type Answer struct {
	// User sent the request (X-User-Id).
	User string
	// Version answered; Row is the Dataset row sent and Label its ground
	// truth.
	Version string
	Row     int
	Label   float64
	// Outputs are the response's output tensors by name, flattened.
	Outputs map[string][]float64
}

// Counts reports the requests sent, those that failed, and the feedback
// sent so far.
func (t *Traffic) Counts() (sent, failed, feedback int64) {
	return t.sent.Load(), t.failed.Load(), t.feedback.Load()
}

// Run sends traffic until ctx ends, then waits for requests in flight (not
// for pending feedback, which is dropped).
func (t *Traffic) Run(ctx context.Context) {
	client := t.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	workers := max(t.Workers, 1)
	users := max(t.Users, 1)
	jobs := make(chan int, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				t.one(ctx, client, i, users)
			}
		})
	}
	interval := time.Duration(float64(time.Second) / max(t.Rate, 0.001))
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			close(jobs)
			wg.Wait()
			return
		case <-tick.C:
		}
		select {
		case jobs <- i:
		default: // every worker busy: the server is slower than Rate; skip
		}
	}
}

func (t *Traffic) one(ctx context.Context, client *http.Client, i, users int) {
	row := i % len(t.Data.Rows)
	user := fmt.Sprintf("user-%d", (i*7919)%users)
	id := fmt.Sprintf("%s%s-%d", t.IDPrefix, t.Model, i)
	r := Response{Sent: time.Now(), User: user}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.BaseURL+"/v2/models/"+t.Model+"/infer", bytes.NewReader(t.Data.body(row)))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-User-Id", user)
	req.Header.Set("X-Request-Id", id)
	if t.Headers != nil {
		for k, v := range t.Headers(user) {
			req.Header.Set(k, v)
		}
	}
	t.sent.Add(1)
	resp, err := client.Do(req)
	r.Received = time.Now()
	if err != nil {
		if ctx.Err() == nil {
			t.failed.Add(1)
			t.report(r)
		}
		return
	}
	r.Status, r.Version = resp.StatusCode, resp.Header.Get("X-Slipway-Version")
	ok := resp.StatusCode == http.StatusOK
	var values map[string]float64
	if ok && t.Values != nil && t.FeedbackDelay >= 0 {
		// An answer whose outputs cannot be read fails: the user saw
		// nothing to act on.
		outs, err := decodeOutputs(resp.Body)
		ok = err == nil
		if ok {
			a := Answer{User: user, Version: r.Version, Row: row, Label: t.Data.Labels[row], Outputs: outs}
			values = t.Values(a, rand.New(rand.NewPCG(t.Seed, uint64(i))))
		}
	}
	resp.Body.Close()
	if !ok {
		t.failed.Add(1)
	}
	t.report(r)
	if !ok || t.FeedbackDelay < 0 {
		return
	}
	fb, err := json.Marshal(feedback{ID: id, Label: t.Data.Labels[row], Values: values})
	if err != nil {
		return // only non-finite values fail, and the server would refuse them too
	}
	time.AfterFunc(t.FeedbackDelay, func() {
		if ctx.Err() != nil {
			return
		}
		resp, err := client.Post(t.BaseURL+"/v2/models/"+t.Model+"/feedback", "application/json", bytes.NewReader(fb))
		if err == nil {
			resp.Body.Close()
			t.feedback.Add(1)
		}
	})
}

// feedback is the body of POST /v2/models/{model}/feedback.
type feedback struct {
	ID     string             `json:"id"`
	Label  float64            `json:"label"`
	Values map[string]float64 `json:"values,omitempty"`
}

// decodeOutputs reads an Open Inference Protocol response's output
// tensors, flattened, by name.
func decodeOutputs(r io.Reader) (map[string][]float64, error) {
	var body struct {
		Outputs []struct {
			Name string    `json:"name"`
			Data []float64 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.NewDecoder(r).Decode(&body); err != nil {
		return nil, fmt.Errorf("inference response: %w", err)
	}
	outs := make(map[string][]float64, len(body.Outputs))
	for _, o := range body.Outputs {
		outs[o.Name] = o.Data
	}
	return outs, nil
}

func (t *Traffic) report(r Response) {
	if t.OnResponse != nil {
		t.OnResponse(r)
	}
}
