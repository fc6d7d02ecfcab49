package onnx

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// TestBadInputs sends requests that do not fit digits (input "input" FP32
// [-1 64]): each is an *runtime.InputError that names the tensor and says
// what was expected. FP64 is refused rather than converted: the Open
// Inference Protocol has the client send the model's datatype.
func TestBadInputs(t *testing.T) {
	requireRuntime(t)
	p := loadDigits(t, "v2", slipway.Signature{})
	row := func(name, datatype string, shape []int64, data any) runtime.Tensor {
		return runtime.Tensor{Name: name, Datatype: datatype, Shape: shape, Data: data}
	}
	good := zeroRows(2)
	for _, tc := range []struct {
		name   string
		inputs []runtime.Tensor
		want   string
	}{
		{"wrong name", []runtime.Tensor{row("pixels", runtime.FP32, []int64{2, 64}, make([]float32, 128))},
			`input "pixels": not an input of this model; it takes "input" FP32 [-1 64]`},
		{"extra input", []runtime.Tensor{good, row("extra", runtime.FP32, []int64{2}, make([]float32, 2))},
			`input "extra": not an input of this model; it takes "input" FP32 [-1 64]`},
		{"missing input", nil,
			`input "input": missing; the model takes "input" FP32 [-1 64]`},
		{"twice", []runtime.Tensor{good, good},
			`input "input": sent twice`},
		{"FP64", []runtime.Tensor{row("input", runtime.FP64, []int64{2, 64}, make([]float64, 128))},
			`input "input": datatype FP64: want FP32`},
		{"shape", []runtime.Tensor{row("input", runtime.FP32, []int64{2, 63}, make([]float32, 126))},
			`input "input": shape [2 63]: want [-1 64]`},
		{"rank", []runtime.Tensor{row("input", runtime.FP32, []int64{128}, make([]float32, 128))},
			`input "input": shape [128]: want [-1 64]`},
		{"negative", []runtime.Tensor{row("input", runtime.FP32, []int64{-2, 64}, make([]float32, 128))},
			`input "input": shape [-2 64]: want [-1 64]`},
		{"too few values", []runtime.Tensor{row("input", runtime.FP32, []int64{2, 64}, make([]float32, 127))},
			`input "input": shape [2 64] holds 128 values, got 127`},
		{"too many values", []runtime.Tensor{row("input", runtime.FP32, []int64{1, 64}, make([]float32, 128))},
			`input "input": shape [1 64] holds 64 values, got 128`},
		{"overflow", []runtime.Tensor{row("input", runtime.FP32, []int64{1 << 58, 64}, make([]float32, 64))},
			`input "input": shape [288230376151711744 64]: too many values`},
		{"data type", []runtime.Tensor{row("input", runtime.FP32, []int64{2, 64}, make([]float64, 128))},
			`input "input": datatype FP32: data is []float64`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Predict(context.Background(), tc.inputs)
			var ie *runtime.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v (%T), want *runtime.InputError", err, err)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tc.want)
			}
			if !errors.Is(err, slipway.ErrInvalid) {
				t.Errorf("error does not match slipway.ErrInvalid")
			}
		})
	}
}

// TestEmptyBatch: zero rows are a valid request with zero rows of output.
func TestEmptyBatch(t *testing.T) {
	requireRuntime(t)
	p := loadDigits(t, "v2", slipway.Signature{})
	got := predict(t, p, zeroRows(0))
	if !reflect.DeepEqual(got.Shape, []int64{0, 10}) || len(got.Data.([]float32)) != 0 {
		t.Errorf("output %+v, want shape [0 10] and no values", got)
	}
}

// TestPredictConcurrently shares one session between 8 goroutines with
// batches of different sizes, as the gateway does; run with -race.
func TestPredictConcurrently(t *testing.T) {
	requireRuntime(t)
	x, labels := holdout(t)
	p := loadDigits(t, "v2", slipway.Signature{})
	batch := func(rows int) runtime.Tensor {
		return runtime.Tensor{Name: "input", Datatype: runtime.FP32, Shape: []int64{int64(rows), 64}, Data: x[:rows*64]}
	}
	sizes := []int{1, 2, 7, 32, 100, len(labels)}
	want := map[int][]float32{}
	for _, rows := range sizes {
		want[rows] = predict(t, p, batch(rows)).Data.([]float32)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				rows := sizes[(g+i)%len(sizes)]
				out, err := p.Predict(context.Background(), []runtime.Tensor{batch(rows)})
				if err != nil {
					t.Error(err)
					return
				}
				if got := out[0].Data.([]float32); !slices.Equal(got, want[rows]) {
					t.Errorf("goroutine %d: %d rows: predictions differ from the sequential ones", g, rows)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestClose(t *testing.T) {
	requireRuntime(t)
	s, err := New(digitsModel(t, "v2"), slipway.Signature{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	predict(t, s, zeroRows(1))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Predict(context.Background(), []runtime.Tensor{zeroRows(1)}); !errors.Is(err, errClosed) {
		t.Errorf("Predict after Close: %v, want %v", err, errClosed)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCanceled(t *testing.T) {
	requireRuntime(t)
	p := loadDigits(t, "v2", slipway.Signature{})
	ctx, cancel := context.WithCancel(context.Background())
	// A live context goes through the run options that can stop a run.
	predict(t, p, zeroRows(3))
	if _, err := p.Predict(ctx, []runtime.Tensor{zeroRows(3)}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := p.Predict(ctx, []runtime.Tensor{zeroRows(3)}); !errors.Is(err, context.Canceled) {
		t.Errorf("Predict with a canceled context: %v, want context.Canceled", err)
	}
}

// TestDatatypes runs testdata/types.onnx, one input and one output of
// each supported datatype besides FP32, with inputs sent out of order.
func TestDatatypes(t *testing.T) {
	requireRuntime(t)
	s := newTestdata(t, "types")
	wantSig := slipway.Signature{
		Inputs: []slipway.TensorSpec{
			{Name: "a", Datatype: runtime.FP64, Shape: []int64{-1, 2}},
			{Name: "b", Datatype: runtime.INT64, Shape: []int64{-1}},
			{Name: "c", Datatype: runtime.INT32, Shape: []int64{-1}},
			{Name: "d", Datatype: runtime.BOOL, Shape: []int64{-1}},
		},
		Outputs: []slipway.TensorSpec{
			{Name: "a2", Datatype: runtime.FP64, Shape: []int64{-1, 2}},
			{Name: "b1", Datatype: runtime.INT64, Shape: []int64{-1}},
			{Name: "c_neg", Datatype: runtime.INT32, Shape: []int64{-1}},
			{Name: "d_not", Datatype: runtime.BOOL, Shape: []int64{-1}},
		},
	}
	if got := s.Signature(); !reflect.DeepEqual(got, wantSig) {
		t.Errorf("signature %+v, want %+v", got, wantSig)
	}
	out, err := s.Predict(context.Background(), []runtime.Tensor{
		{Name: "d", Datatype: runtime.BOOL, Shape: []int64{3}, Data: []bool{true, false, true}},
		{Name: "c", Datatype: runtime.INT32, Shape: []int64{3}, Data: []int32{1, -2, 3}},
		{Name: "b", Datatype: runtime.INT64, Shape: []int64{3}, Data: []int64{10, 20, 1 << 40}},
		{Name: "a", Datatype: runtime.FP64, Shape: []int64{3, 2}, Data: []float64{0.5, 1, 1.5, 2, 2.5, 1e200}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []runtime.Tensor{
		{Name: "a2", Datatype: runtime.FP64, Shape: []int64{3, 2}, Data: []float64{0.25, 1, 2.25, 4, 6.25, math.Inf(1)}},
		{Name: "b1", Datatype: runtime.INT64, Shape: []int64{3}, Data: []int64{11, 21, 1<<40 + 1}},
		{Name: "c_neg", Datatype: runtime.INT32, Shape: []int64{3}, Data: []int32{-1, 2, -3}},
		{Name: "d_not", Datatype: runtime.BOOL, Shape: []int64{3}, Data: []bool{false, true, false}},
	}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("outputs\n%+v\nwant\n%+v", out, want)
	}
}

// TestScalarInput sends a rank-0 tensor, which takes another path into
// ONNX Runtime than tensors with dimensions.
func TestScalarInput(t *testing.T) {
	requireRuntime(t)
	s := newTestdata(t, "scalar")
	out, err := s.Predict(context.Background(), []runtime.Tensor{
		{Name: "s", Datatype: runtime.FP32, Shape: []int64{}, Data: []float32{3}},
		{Name: "x", Datatype: runtime.FP32, Shape: []int64{2}, Data: []float32{1, 2}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Data.([]float32); !slices.Equal(got, []float32{3, 6}) {
		t.Errorf("y = %v, want [3 6]", got)
	}
}

// TestUnservableModels loads testdata models slipway cannot serve, or
// serves in part.
func TestUnservableModels(t *testing.T) {
	requireRuntime(t)
	t.Run("free dimensions", func(t *testing.T) {
		s := newTestdata(t, "free") // no warm-up: the second dimension is free
		out, err := s.Predict(context.Background(), []runtime.Tensor{{Name: "x", Datatype: runtime.FP32, Shape: []int64{1, 3}, Data: []float32{1, 2, 3}}})
		if err != nil || !reflect.DeepEqual(out[0].Shape, []int64{1, 3}) {
			t.Errorf("got %+v, %v", out, err)
		}
	})
	t.Run("sequence output", func(t *testing.T) {
		s := newTestdata(t, "sequence") // the sequence is left out
		want := []slipway.TensorSpec{{Name: "y", Datatype: runtime.FP32, Shape: []int64{-1}}}
		if got := s.Signature().Outputs; !reflect.DeepEqual(got, want) {
			t.Errorf("outputs %+v, want %+v", got, want)
		}
		out, err := s.Predict(context.Background(), []runtime.Tensor{{Name: "x", Datatype: runtime.FP32, Shape: []int64{2}, Data: []float32{1, 2}}})
		if err != nil || len(out) != 1 || out[0].Name != "y" {
			t.Errorf("got %+v, %v", out, err)
		}
	})
	for _, tc := range []struct{ name, want string }{
		{"only_sequence", `onnx model: no output slipway can return: "seq" (a sequence); it returns tensors of float, double, int32, int64 or bool`},
		{"uint8", `onnx model: input "x" is a tensor of uint8; slipway sends tensors of float, double, int32, int64 or bool`},
		{"unknown_op", `onnx model: `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(testdata(t, tc.name), slipway.Signature{}, Options{})
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want %s", err, tc.want)
			}
			if !errors.Is(err, slipway.ErrInvalid) {
				t.Errorf("error does not match slipway.ErrInvalid")
			}
			t.Log(err)
		})
	}
}

func testdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".onnx"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func newTestdata(tb testing.TB, name string) *Session {
	tb.Helper()
	s, err := New(testdata(tb, name), slipway.Signature{}, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkPredict predicts with digits v2 (64 -> 32 -> 10 MLP), one row
// at a time and 1000 rows a batch, through the Predictor interface.
func BenchmarkPredict(b *testing.B) {
	requireRuntime(b)
	x, _ := holdout(b)
	p := loadDigits(b, "v2", slipway.Signature{})
	for _, rows := range []int{1, 1000} {
		data := make([]float32, 0, rows*64)
		for len(data) < cap(data) {
			data = append(data, x[:min(len(x), cap(data)-len(data))]...)
		}
		in := []runtime.Tensor{{Name: "input", Datatype: runtime.FP32, Shape: []int64{int64(rows), 64}, Data: data}}
		for _, ctx := range []struct {
			name string
			ctx  context.Context
		}{{"background", context.Background()}, {"cancelable", cancelable(b)}} {
			b.Run(fmt.Sprintf("rows=%d/ctx=%s", rows, ctx.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := p.Predict(ctx.ctx, in); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
			})
		}
	}
}

func cancelable(tb testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	return ctx
}

// TestStopped cancels a large batch while ONNX Runtime runs it: the run
// stops early with the context's error, or finishes first; either way
// nothing crashes or races.
func TestStopped(t *testing.T) {
	requireRuntime(t)
	p := loadDigits(t, "v2", slipway.Signature{})
	big := zeroRows(20_000)
	stopped := 0
	for range 3 {
		_, err := p.Predict(newDoneContext(), []runtime.Tensor{big})
		switch {
		case err == nil:
		case errors.Is(err, context.Canceled):
			stopped++
		default:
			t.Fatal(err)
		}
	}
	t.Logf("%d of 3 runs stopped early", stopped)
	if stopped == 0 {
		t.Error("no run was stopped")
	}
}

// doneContext is canceled, but says so only once Predict has checked it
// before running: only the run options can then stop the run.
type doneContext struct {
	context.Context
	checked *atomic.Bool
}

func newDoneContext() doneContext {
	return doneContext{context.Background(), new(atomic.Bool)}
}

var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (doneContext) Done() <-chan struct{} { return closed }

func (c doneContext) Err() error {
	if c.checked.Swap(true) {
		return context.Canceled
	}
	return nil
}
