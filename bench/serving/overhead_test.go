// Package serving holds the whole-system serving benchmark (run.sh: slipway
// against a FastAPI + uvicorn peer over HTTP, driven by wrk) and the
// in-process halves of its "serving overhead" figure:
//
//   - BenchmarkPredictOneRow: one fraud row through the Predictor the
//     gateway loads (runtime.Load of the XGBoost version, then Predict);
//   - BenchmarkHandlerOneRow: the same row as an HTTP request body through
//     the server's inference handler (decode, gateway, predict, encode),
//     without a network.
//
// run.sh subtracts the first from slipway's end-to-end p50 at concurrency
// 1; the second splits the difference into handler work and what HTTP over
// loopback (net/http, the kernel, wrk) costs.
package serving

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/blob"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/runtime"
	_ "github.com/slipway-ml/slipway/internal/runtime/xgboost"
	gateway "github.com/slipway-ml/slipway/internal/serving"
	"github.com/slipway-ml/slipway/internal/store/sqlite"
)

// The benchmark's model and data, relative to this directory.
const (
	modelFile     = "../../examples/fraud/v2/model.json"
	signatureFile = "../../examples/fraud/v2/signature.json"
	holdoutFile   = "../../examples/fraud/holdout.csv"
)

// features are the holdout columns the model reads, in the signature's
// order; the CSV's region and label columns are not features.
var features = []string{"amount", "hour", "merchant_risk", "distance_from_home", "tx_count_24h", "is_foreign", "card_age_days"}

// fixture is the fraud version and the single-row request run.sh sends at
// concurrency 1: the first holdout row.
type fixture struct {
	version  slipway.Version
	artifact []byte
	fields   []string // the row's feature values as written in the CSV
}

func load(tb testing.TB) fixture {
	tb.Helper()
	artifact, err := os.ReadFile(modelFile)
	if err != nil {
		tb.Fatal(err)
	}
	var sig slipway.Signature
	b, err := os.ReadFile(signatureFile)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, &sig); err != nil {
		tb.Fatalf("%s: %v", signatureFile, err)
	}
	f, err := os.Open(holdoutFile)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		tb.Fatal(err)
	}
	for i, name := range features {
		if header[i] != name {
			tb.Fatalf("%s: column %d is %q, want %q", holdoutFile, i, header[i], name)
		}
	}
	row, err := r.Read()
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(artifact)
	return fixture{
		version: slipway.Version{
			Model: "fraud", Version: "2.0.0", Format: slipway.FormatXGBoost, Signature: sig,
			Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(artifact)),
		},
		artifact: artifact,
		fields:   row[:len(features)],
	}
}

// missing reports whether a CSV field is a missing value.
func missing(field string) bool { return field == "" || strings.EqualFold(field, "nan") }

// tensors is the row as the gateway hands it to the predictor: one FP32
// tensor of shape [1] per feature, NaN for a missing value.
func (fx fixture) tensors(tb testing.TB) []runtime.Tensor {
	out := make([]runtime.Tensor, len(features))
	for i, name := range features {
		v := float32(math.NaN())
		if !missing(fx.fields[i]) {
			f, err := strconv.ParseFloat(fx.fields[i], 32)
			if err != nil {
				tb.Fatalf("%s: %v", name, err)
			}
			v = float32(f)
		}
		out[i] = runtime.Tensor{Name: name, Datatype: runtime.FP32, Shape: []int64{1}, Data: []float32{v}}
	}
	return out
}

// body is the row as the request body infer.lua sends, byte for byte.
func (fx fixture) body() []byte {
	var b bytes.Buffer
	b.WriteString(`{"inputs":[`)
	for i, name := range features {
		if i > 0 {
			b.WriteByte(',')
		}
		v := fx.fields[i]
		if missing(v) {
			v = "null"
		}
		b.WriteString(`{"name":"` + name + `","datatype":"FP32","shape":[1],"data":[` + v + `]}`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func (fx fixture) predictor(tb testing.TB) runtime.Predictor {
	tb.Helper()
	p, err := runtime.Load(context.Background(), fx.version, fx.artifact)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// handler is the server's inference handler over a real registry (SQLite
// and a blob directory in a temporary directory) holding the fixture as
// fraud@production.
func (fx fixture) handler(tb testing.TB) http.Handler {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "slipway.db"))
	if err != nil {
		tb.Fatal(err)
	}
	blobs, err := blob.OpenDir(filepath.Join(dir, "blobs"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close(); blobs.Close() })
	reg := registry.New(st, blobs)
	v := fx.version
	if _, err := reg.Push(ctx, registry.Push{Version: v, Artifact: bytes.NewReader(fx.artifact)}); err != nil {
		tb.Fatal(err)
	}
	if _, err := reg.MoveAlias(ctx, v.Model, slipway.AliasProduction, v.Version, "bench", ""); err != nil {
		tb.Fatal(err)
	}
	return gateway.NewHTTP(gateway.NewGateway(reg))
}

func score(tb testing.TB, outs []runtime.Tensor) float32 {
	tb.Helper()
	if len(outs) != 1 {
		tb.Fatalf("%d outputs, want 1", len(outs))
	}
	d, ok := outs[0].Data.([]float32)
	if !ok || len(d) != 1 {
		tb.Fatalf("output %q: data %T %v, want one float32", outs[0].Name, outs[0].Data, outs[0].Data)
	}
	return d[0]
}

// The handler answers the benchmark's request with the score the
// predictor computes, so both benchmarks time the same work.
func TestOneRowRequest(t *testing.T) {
	fx := load(t)
	want := score(t, must(fx.predictor(t).Predict(context.Background(), fx.tensors(t))))

	rec := httptest.NewRecorder()
	fx.handler(t).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v2/models/fraud/infer", bytes.NewReader(fx.body())))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var resp struct {
		ModelName    string `json:"model_name"`
		ModelVersion string `json:"model_version"`
		ID           string `json:"id"`
		Outputs      []struct {
			Name string    `json:"name"`
			Data []float32 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("response %s: %v", rec.Body, err)
	}
	if resp.ModelName != "fraud" || resp.ModelVersion != "2.0.0" || resp.ID == "" {
		t.Fatalf("response names %q@%q id %q, want fraud@2.0.0 and an id", resp.ModelName, resp.ModelVersion, resp.ID)
	}
	if len(resp.Outputs) != 1 || resp.Outputs[0].Name != "score" || len(resp.Outputs[0].Data) != 1 {
		t.Fatalf("outputs %+v, want one score", resp.Outputs)
	}
	if got := resp.Outputs[0].Data[0]; got != want {
		t.Fatalf("handler score %v, predictor %v", got, want)
	}
}

func must(outs []runtime.Tensor, err error) []runtime.Tensor {
	if err != nil {
		panic(err)
	}
	return outs
}

// BenchmarkPredictOneRow times Predict for one row, the model work of one
// request.
func BenchmarkPredictOneRow(b *testing.B) {
	fx := load(b)
	p := fx.predictor(b)
	ctx := context.Background()
	in := fx.tensors(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Predict(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandlerOneRow times the server's handler for one request, from
// the body's bytes to the encoded response: everything but the network.
func BenchmarkHandlerOneRow(b *testing.B) {
	fx := load(b)
	h := fx.handler(b)
	body := bytes.NewReader(fx.body())
	// One request, its body rewound each time, so the benchmark times the
	// handler rather than building requests.
	req := httptest.NewRequest(http.MethodPost, "/v2/models/fraud/infer", body)
	serve := func() int {
		body.Seek(0, io.SeekStart)
		req.Body = io.NopCloser(body)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := serve(); code != http.StatusOK { // loads the version
		b.Fatalf("status %d", code)
	}
	b.ReportAllocs()
	for b.Loop() {
		if code := serve(); code != http.StatusOK {
			b.Fatalf("status %d", code)
		}
	}
}
