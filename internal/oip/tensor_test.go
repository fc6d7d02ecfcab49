package oip

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/oip/inferencepb"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// rawCases pins the raw layout byte for byte: little-endian, no padding,
// BYTES with a 4-byte little-endian length before each element. Triton's
// clients write exactly these bytes.
var rawCases = []struct {
	name string
	t    runtime.Tensor
	raw  []byte
}{
	{"fp32", runtime.Tensor{Datatype: runtime.FP32, Shape: []int64{2}, Data: []float32{1, -2.5}},
		[]byte{0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0}},
	{"fp64", runtime.Tensor{Datatype: runtime.FP64, Shape: []int64{1}, Data: []float64{1}},
		[]byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}},
	{"int32", runtime.Tensor{Datatype: runtime.INT32, Shape: []int64{2}, Data: []int32{1, -1}},
		[]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}},
	{"int64", runtime.Tensor{Datatype: runtime.INT64, Shape: []int64{1}, Data: []int64{258}},
		[]byte{2, 1, 0, 0, 0, 0, 0, 0}},
	{"bool", runtime.Tensor{Datatype: runtime.BOOL, Shape: []int64{3}, Data: []bool{true, false, true}},
		[]byte{1, 0, 1}},
	{"bytes", runtime.Tensor{Datatype: runtime.BYTES, Shape: []int64{2}, Data: []string{"ab", ""}},
		[]byte{2, 0, 0, 0, 'a', 'b', 0, 0, 0, 0}},
	{"empty", runtime.Tensor{Datatype: runtime.FP32, Shape: []int64{0, 3}, Data: []float32{}}, nil},
}

func TestRawLayout(t *testing.T) {
	for _, c := range rawCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := AppendRaw(nil, c.t)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(c.raw) {
				t.Errorf("AppendRaw = % x, want % x", got, c.raw)
			}
			back, err := DecodeRaw("x", c.t.Datatype, c.t.Shape, c.raw)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.Data, c.t.Data) {
				t.Errorf("DecodeRaw = %#v, want %#v", back.Data, c.t.Data)
			}
		})
	}
}

func TestContentsRoundTrip(t *testing.T) {
	for _, c := range rawCases {
		t.Run(c.name, func(t *testing.T) {
			pc, err := EncodeContents(c.t)
			if err != nil {
				t.Fatal(err)
			}
			back, err := DecodeContents("x", c.t.Datatype, c.t.Shape, pc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.Data, c.t.Data) {
				t.Errorf("got %#v, want %#v", back.Data, c.t.Data)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	fp32 := &inferencepb.InferTensorContents{Fp32Contents: []float32{1, 2, 3}}
	cases := []struct {
		name     string
		datatype string
		shape    []int64
		contents *inferencepb.InferTensorContents
		raw      []byte // used when contents is nil
		want     string
	}{
		{"count", runtime.FP32, []int64{2, 2}, fp32, nil, `input "x": shape [2 2] holds 4 elements but contents have 3`},
		{"raw count", runtime.INT32, []int64{3}, nil, make([]byte, 8), "shape [3] holds 3 elements but raw contents have 2"},
		{"negative", runtime.FP32, []int64{-1, 3}, fp32, nil, "negative dimension"},
		{"no shape", runtime.FP32, nil, fp32, nil, "no shape"},
		{"too large", runtime.FP32, []int64{1 << 20, 1 << 20}, fp32, nil, "too large"},
		{"unknown datatype", "FP16", []int64{3}, fp32, nil, `datatype "FP16" not supported`},
		{"no datatype", "", []int64{3}, fp32, nil, "no datatype"},
		{"wrong field", runtime.FP64, []int64{3}, fp32, nil, "datatype FP64 carries its elements in fp64_contents, but fp32_contents is set"},
		{"ragged raw", runtime.FP64, []int64{1}, nil, make([]byte, 7), "not a whole number of 8-byte FP64 elements"},
		{"short bytes length", runtime.BYTES, []int64{1}, nil, []byte{1, 0}, "too few for a 4-byte length"},
		{"long bytes length", runtime.BYTES, []int64{1}, nil, []byte{9, 0, 0, 0, 'a'}, "length 9 but 1 bytes left"},
		{"raw unknown datatype", "UINT8", []int64{1}, nil, []byte{1}, `datatype "UINT8" not supported`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.contents != nil {
				_, err = DecodeContents("x", c.datatype, c.shape, c.contents)
			} else {
				_, err = DecodeRaw("x", c.datatype, c.shape, c.raw)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
			if !errors.Is(err, slipway.ErrInvalid) {
				t.Errorf("err does not match slipway.ErrInvalid")
			}
		})
	}
}

func TestEncodeMismatch(t *testing.T) {
	bad := runtime.Tensor{Name: "y", Datatype: runtime.FP32, Data: []float64{1}}
	if _, err := EncodeContents(bad); err == nil {
		t.Error("EncodeContents accepted []float64 as FP32")
	}
	if _, err := AppendRaw(nil, bad); err == nil {
		t.Error("AppendRaw accepted []float64 as FP32")
	}
}

func TestParams(t *testing.T) {
	in := map[string]*inferencepb.InferParameter{
		"b": {ParameterChoice: &inferencepb.InferParameter_BoolParam{BoolParam: true}},
		"i": {ParameterChoice: &inferencepb.InferParameter_Int64Param{Int64Param: -3}},
		"s": {ParameterChoice: &inferencepb.InferParameter_StringParam{StringParam: "x"}},
		"d": {ParameterChoice: &inferencepb.InferParameter_DoubleParam{DoubleParam: 0.5}},
		"u": {ParameterChoice: &inferencepb.InferParameter_Uint64Param{Uint64Param: 7}},
	}
	got, err := DecodeParams(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"b": true, "i": int64(-3), "s": "x", "d": 0.5, "u": int64(7)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeParams = %v, want %v", got, want)
	}
	back, err := DecodeParams(EncodeParams(want))
	if err != nil || !reflect.DeepEqual(back, want) {
		t.Errorf("round trip = %v, %v; want %v", back, err, want)
	}

	for name, p := range map[string]*inferencepb.InferParameter{
		"empty": {},
		"nil":   nil,
		"huge":  {ParameterChoice: &inferencepb.InferParameter_Uint64Param{Uint64Param: math.MaxUint64}},
	} {
		if _, err := DecodeParams(map[string]*inferencepb.InferParameter{name: p}); err == nil {
			t.Errorf("parameter %s: no error", name)
		}
	}
}
