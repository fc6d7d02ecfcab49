package serving_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/api"
	"github.com/slipway-ml/slipway/internal/csvtest"
	"github.com/slipway-ml/slipway/internal/server"
)

const examples = "../../examples/"

// gateway starts a real slipway on loopback with the fraud versions
// pushed and fraud@production at 2.0.0.
func gateway(t testing.TB) (string, *server.Server) {
	t.Helper()
	srv, err := server.Open(context.Background(), server.Config{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc, errc := make(chan string, 1), make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, func(a string) { addrc <- a }) }()
	t.Cleanup(func() { cancel(); <-errc })
	url := "http://" + <-addrc
	c := &api.Client{BaseURL: url}
	for _, v := range []string{"1", "2", "3"} {
		var sig slipway.Signature
		b, _ := os.ReadFile(examples + "fraud/v" + v + "/signature.json")
		json.Unmarshal(b, &sig)
		if _, err := c.PushFile(context.Background(), "fraud", slipway.Version{Version: v + ".0.0", Signature: sig}, examples+"fraud/v"+v+"/model.json"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.MoveAlias(context.Background(), "fraud", "production", "2.0.0", ""); err != nil {
		t.Fatal(err)
	}
	return url, srv
}

// holdout reads a CSV into named columns.
func holdout(t testing.TB, path string) (header []string, cols map[string][]float64) {
	t.Helper()
	rows := csvtest.Read(t, path)
	cols = map[string][]float64{}
	for _, row := range rows[1:] {
		for j, name := range rows[0] {
			v, err := strconv.ParseFloat(row[j], 64)
			if err != nil {
				v = math.NaN() // region is text; NaN marks missing features
			}
			cols[name] = append(cols[name], v)
		}
	}
	return rows[0], cols
}

var fraudFeatures = []string{"amount", "hour", "merchant_risk", "distance_from_home", "tx_count_24h", "is_foreign", "card_age_days"}

// inferBody builds a v2 request with one tensor per fraud feature;
// NaN is sent as null.
func inferBody(cols map[string][]float64, from, to int) []byte {
	var b strings.Builder
	b.WriteString(`{"inputs":[`)
	for i, name := range fraudFeatures {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":%q,"datatype":"FP32","shape":[%d],"data":[`, name, to-from)
		for r := from; r < to; r++ {
			if r > from {
				b.WriteByte(',')
			}
			if v := cols[name][r]; math.IsNaN(v) {
				b.WriteString("null")
			} else {
				b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			}
		}
		b.WriteString("]}")
	}
	b.WriteString("]}")
	return []byte(b.String())
}

type inferResponse struct {
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	ID           string `json:"id"`
	Outputs      []struct {
		Name  string    `json:"name"`
		Shape []int64   `json:"shape"`
		Data  []float64 `json:"data"`
	} `json:"outputs"`
	Error string `json:"error"`
}

// post sends an inference request and decodes the answer.
func post(t testing.TB, url string, body []byte, header ...string) (*http.Response, inferResponse) {
	t.Helper()
	resp, raw := send(t, url, body, header...)
	var out inferResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("response is not JSON: %s", raw)
	}
	return resp, out
}

// postRaw sends an inference request and returns the status, the body
// and the version header.
func postRaw(t testing.TB, url string, body []byte, header ...string) (int, []byte, string) {
	t.Helper()
	resp, raw := send(t, url, body, header...)
	return resp.StatusCode, raw, resp.Header.Get("X-Slipway-Version")
}

// send posts body with the header name/value pairs given.
func send(t testing.TB, url string, body []byte, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

func referenceScores(t testing.TB, version string) []float64 {
	_, ref := holdout(t, examples+"fraud/v"+version+"/reference.csv")
	return ref["score"]
}

// Predictions served over HTTP equal XGBoost's own on the whole holdout.
func TestInferMatchesXGBoostReference(t *testing.T) {
	url, _ := gateway(t)
	_, cols := holdout(t, examples+"fraud/holdout.csv")
	n := len(cols["amount"])
	for _, v := range []string{"1", "2", "3"} {
		ref := referenceScores(t, v)
		resp, out := post(t, url+"/v2/models/fraud/versions/"+v+".0.0/infer", inferBody(cols, 0, n))
		if resp.StatusCode != 200 {
			t.Fatalf("v%s: %d %s", v, resp.StatusCode, out.Error)
		}
		got := out.Outputs[0].Data
		if len(got) != n || out.Outputs[0].Shape[0] != int64(n) {
			t.Fatalf("v%s: %d scores for %d rows", v, len(got), n)
		}
		maxDiff := 0.0
		for i := range got {
			maxDiff = math.Max(maxDiff, math.Abs(got[i]-ref[i]))
		}
		if maxDiff > 1e-6 {
			t.Errorf("v%s: max abs difference from XGBoost %g > 1e-6", v, maxDiff)
		}
		t.Logf("fraud v%s: %d rows, max abs diff from XGBoost %g", v, n, maxDiff)
	}
}

func TestUnpinnedRequestGoesToProductionAndNamesVersion(t *testing.T) {
	url, _ := gateway(t)
	_, cols := holdout(t, examples+"fraud/holdout.csv")
	resp, out := post(t, url+"/v2/models/fraud/infer", inferBody(cols, 0, 3), "X-Request-Id", "req-42")
	if resp.StatusCode != 200 || out.ModelVersion != "2.0.0" || resp.Header.Get("X-Slipway-Version") != "2.0.0" {
		t.Fatalf("answered by %q (header %q), status %d", out.ModelVersion, resp.Header.Get("X-Slipway-Version"), resp.StatusCode)
	}
	if out.ID != "req-42" || resp.Header.Get("X-Request-Id") != "req-42" {
		t.Fatalf("request id not honoured: %q / %q", out.ID, resp.Header.Get("X-Request-Id"))
	}
	// Moving the alias moves unpinned traffic at once.
	if _, err := (&api.Client{BaseURL: url}).MoveAlias(context.Background(), "fraud", "production", "1.0.0", "test"); err != nil {
		t.Fatal(err)
	}
	resp, out = post(t, url+"/v2/models/fraud/infer", inferBody(cols, 0, 3))
	if out.ModelVersion != "1.0.0" || len(out.ID) != 32 {
		t.Fatalf("after alias move answered by %q with id %q", out.ModelVersion, out.ID)
	}
}

func TestV1PredictWithNamedFeatures(t *testing.T) {
	url, _ := gateway(t)
	_, cols := holdout(t, examples+"fraud/holdout.csv")
	ref := referenceScores(t, "2")
	var inst []map[string]any
	for r := 0; r < 5; r++ {
		row := map[string]any{}
		for _, f := range fraudFeatures {
			if v := cols[f][r]; !math.IsNaN(v) {
				row[f] = v // a missing feature is left out
			}
		}
		inst = append(inst, row)
	}
	body, _ := json.Marshal(map[string]any{"instances": inst})
	resp, err := http.Post(url+"/v1/models/fraud:predict", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Predictions []float64 `json:"predictions"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 || len(out.Predictions) != 5 {
		t.Fatalf("status %d, %d predictions", resp.StatusCode, len(out.Predictions))
	}
	for i, p := range out.Predictions {
		if math.Abs(p-ref[i]) > 1e-6 {
			t.Errorf("row %d: %g, XGBoost says %g", i, p, ref[i])
		}
	}
}

func TestInferRefusesBadInput(t *testing.T) {
	url, srv := gateway(t)
	srv.Gateway.MaxBatch = 100
	_, cols := holdout(t, examples+"fraud/holdout.csv")
	good := string(inferBody(cols, 0, 2))
	for _, tc := range []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"wrong tensor name", "fraud/infer", strings.Replace(good, `"amount"`, `"amt"`, 1), 400, `input "amount": missing`},
		{"unknown datatype", "fraud/infer", strings.Replace(good, `"FP32"`, `"FP16"`, 1), 400, `input "amount": datatype "FP16" not supported`},
		{"text in numbers", "fraud/infer", strings.Replace(good, `"data":[`, `"data":["x",`, 1), 400, `input "amount": data is not FP32`},
		{"shape disagrees with data", "fraud/infer", strings.Replace(good, `"shape":[2]`, `"shape":[3]`, 1), 400, `input "amount": shape [3] holds 3 elements but data has 2`},
		{"rows differ between features", "fraud/infer", strings.Replace(strings.Replace(good, `"shape":[2],"data":[`, `"shape":[3],"data":[0,`, 2), `"shape":[3],"data":[0,`, `"shape":[2],"data":[`, 1), 400, `shape [3]: want [2] like the other features`},
		{"negative dimension", "fraud/infer", strings.Replace(good, `"shape":[2]`, `"shape":[-2]`, 1), 400, "negative dimension"},
		{"malformed JSON", "fraud/infer", `{"inputs": [`, 400, "not a valid inference request"},
		{"no inputs", "fraud/infer", `{"inputs": []}`, 400, `no "inputs"`},
		{"unknown output", "fraud/infer", strings.TrimSuffix(good, "}") + `,"outputs":[{"name":"proba"}]}`, 400, `requested output "proba"`},
		{"unknown model", "nosuch/infer", good, 404, "nosuch"},
		{"unknown version", "fraud/versions/9.9.9/infer", good, 404, `no version or alias "9.9.9"`},
		{"batch over limit", "fraud/infer", string(inferBody(cols, 0, 101)), 400, "batch of 101 rows is over the limit of 100"},
		{"body over limit", "fraud/infer", `{"inputs":[{"name":"amount","datatype":"FP32","shape":[1],"data":[` + strings.Repeat("1,", 17<<20) + `1]}]}`, 413, "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := post(t, url+"/v2/models/"+tc.path, []byte(tc.body))
			if resp.StatusCode != tc.status || !strings.Contains(out.Error, tc.want) {
				t.Fatalf("%d %q, want %d containing %q", resp.StatusCode, out.Error, tc.status, tc.want)
			}
		})
	}
	// The server is still healthy and answers correctly.
	resp, out := post(t, url+"/v2/models/fraud/infer", []byte(good))
	if resp.StatusCode != 200 || len(out.Outputs) != 1 {
		t.Fatalf("after bad input: %d %s", resp.StatusCode, out.Error)
	}
}

func TestMetadataAndHealth(t *testing.T) {
	url, _ := gateway(t)
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/v2", 200, `"name":"slipway"`},
		{"/v2/health/live", 200, `"live":true`},
		{"/v2/health/ready", 200, `"ready":true`},
		{"/v2/models/fraud", 200, `"name":"amount","datatype":"FP32","shape":[-1]`},
		{"/v2/models/fraud/versions/1.0.0", 200, `"versions":["1.0.0"]`},
		{"/v2/models/fraud/ready", 200, `"ready":true`},
		{"/v2/models/fraud/versions/3.0.0/ready", 200, `"ready":true`},
		{"/v2/models/nosuch/ready", 404, "nosuch"},
	} {
		resp, err := http.Get(url + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.want) {
			t.Errorf("GET %s = %d %s, want %d containing %s", tc.path, resp.StatusCode, body, tc.status, tc.want)
		}
	}
}

// A version whose artifact cannot be loaded fails alone: its requests get
// 503 with the reason, `model show` tells why, the others keep serving.
func TestBrokenVersionFailsAlone(t *testing.T) {
	url, _ := gateway(t)
	c := &api.Client{BaseURL: url}
	// A well-formed XGBoost file with an objective the runtime does not
	// implement: it passes the push checks and fails at load.
	v1, _ := os.ReadFile(examples + "fraud/v1/model.json")
	broken := strings.Replace(string(v1), `"objective":{"name":"binary:logistic"`, `"objective":{"name":"rank:pairwise"`, 1)
	if _, err := c.Push(context.Background(), "fraud", slipway.Version{Version: "4.0.0"}, "model.json", strings.NewReader(broken)); err != nil {
		t.Fatal(err)
	}
	_, cols := holdout(t, examples+"fraud/holdout.csv")
	resp, out := post(t, url+"/v2/models/fraud/versions/4.0.0/infer", inferBody(cols, 0, 2))
	if resp.StatusCode != 503 || !strings.Contains(out.Error, "fraud@4.0.0 failed to load") || !strings.Contains(out.Error, "rank:pairwise") {
		t.Fatalf("broken version: %d %q", resp.StatusCode, out.Error)
	}
	v, err := c.Version(context.Background(), slipway.Ref{Model: "fraud", Selector: "4.0.0"})
	if err != nil || v.Runtime == nil || v.Runtime.State != "failed" || !strings.Contains(v.Runtime.Error, "rank:pairwise") {
		t.Fatalf("model show of the broken version: %+v, %v", v.Runtime, err)
	}
	if resp, _ := post(t, url+"/v2/models/fraud/infer", inferBody(cols, 0, 2)); resp.StatusCode != 200 {
		t.Fatalf("production stopped answering: %d", resp.StatusCode)
	}
	ready, _ := http.Get(url + "/v2/models/fraud/versions/4.0.0/ready")
	ready.Body.Close()
	if ready.StatusCode != 503 {
		t.Fatalf("ready of a broken version = %d, want 503", ready.StatusCode)
	}
}

// The digits ONNX model answers over HTTP with torch's own probabilities,
// and refuses missing values, which it cannot handle.
func TestInferONNXDigits(t *testing.T) {
	url, _ := gateway(t)
	c := &api.Client{BaseURL: url}
	if _, err := c.PushFile(context.Background(), "digits", slipway.Version{Version: "2.0.0"}, examples+"digits/v2/model.onnx"); err != nil {
		t.Fatal(err)
	}
	header, cols := holdout(t, examples+"digits/holdout.csv")
	_, ref := holdout(t, examples+"digits/v2/reference.csv")
	const rows = 50
	var data []string
	for r := 0; r < rows; r++ {
		for _, name := range header[:64] {
			data = append(data, strconv.FormatFloat(cols[name][r], 'g', -1, 64))
		}
	}
	body := fmt.Sprintf(`{"inputs":[{"name":"input","datatype":"FP32","shape":[%d,64],"data":[%s]}]}`, rows, strings.Join(data, ","))
	resp, out := post(t, url+"/v2/models/digits/versions/2.0.0/infer", []byte(body))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, out.Error)
	}
	got := out.Outputs[0]
	if got.Name != "probabilities" || got.Shape[0] != rows || got.Shape[1] != 10 {
		t.Fatalf("output %s %v", got.Name, got.Shape)
	}
	maxDiff := 0.0
	for r := 0; r < rows; r++ {
		for k := 0; k < 10; k++ {
			maxDiff = math.Max(maxDiff, math.Abs(got.Data[r*10+k]-ref[fmt.Sprintf("prob%d", k)][r]))
		}
	}
	if maxDiff > 1e-5 {
		t.Fatalf("max abs diff from torch %g > 1e-5", maxDiff)
	}
	withNull := strings.Replace(body, `"data":[`, `"data":[null,`, 1)
	withNull = strings.Replace(withNull, fmt.Sprintf(`"shape":[%d,64]`, rows), fmt.Sprintf(`"shape":[%d,64]`, rows), 1)
	last := strings.LastIndex(withNull, ",")
	withNull = withNull[:last] + "]}]}" // keep the element count: drop the last value
	resp, out = post(t, url+"/v2/models/digits/versions/2.0.0/infer", []byte(withNull))
	if resp.StatusCode != 400 || !strings.Contains(out.Error, `input "input": element 0 is NaN`) {
		t.Fatalf("NaN input: %d %q", resp.StatusCode, out.Error)
	}
	wrongShape := strings.Replace(body, fmt.Sprintf(`"shape":[%d,64]`, rows), fmt.Sprintf(`"shape":[%d,32]`, rows*2), 1)
	resp, out = post(t, url+"/v2/models/digits/versions/2.0.0/infer", []byte(wrongShape))
	if resp.StatusCode != 400 || !strings.Contains(out.Error, `input "input": shape [100 32]: want [-1 64]`) {
		t.Fatalf("wrong shape: %d %q", resp.StatusCode, out.Error)
	}
}

// Pinning names versions, not aliases: the answer says which version the
// alias means instead of guessing.
func TestPinnedAliasIsRefusedWithTheVersion(t *testing.T) {
	url, _ := gateway(t)
	_, cols := holdout(t, examples+"fraud/holdout.csv")
	resp, out := post(t, url+"/v2/models/fraud/versions/production/infer", inferBody(cols, 0, 1))
	if resp.StatusCode != 404 || !strings.Contains(out.Error, "fraud@production is an alias, not a version: name the version (2.0.0)") {
		t.Fatalf("%d %q", resp.StatusCode, out.Error)
	}
}
