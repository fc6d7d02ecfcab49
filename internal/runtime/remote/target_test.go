package remote

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway"
)

func nan() float64 { return math.NaN() }

func TestParseTarget(t *testing.T) {
	good := []struct {
		url  string
		want target
	}{
		{"http://10.0.0.5:8000/v2/models/fraud", target{scheme: "http", host: "10.0.0.5:8000", model: "fraud", base: "http://10.0.0.5:8000/v2/models/fraud"}},
		{"https://kserve.example/serving/v2/models/fraud/versions/3/", target{scheme: "https", host: "kserve.example", model: "fraud", version: "3",
			base: "https://kserve.example/serving/v2/models/fraud/versions/3"}},
		{"http://h:1/v2/models/v2", target{scheme: "http", host: "h:1", model: "v2", base: "http://h:1/v2/models/v2"}},
		{"grpc://triton:8001/resnet", target{scheme: "grpc", host: "triton:8001", model: "resnet"}},
		{"grpcs://triton:443/resnet/2", target{scheme: "grpcs", host: "triton:443", model: "resnet", version: "2"}},
	}
	for _, c := range good {
		got, err := parseTarget(c.url)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseTarget(%q) = %+v, %v; want %+v", c.url, got, err, c.want)
		}
	}
	bad := []struct{ url, why string }{
		{"", "empty"},
		{"fraud-host/v2/models/fraud", "no host"},
		{"ftp://h/v2/models/m", `scheme "ftp"`},
		{"http:///v2/models/m", "no host"},
		{"http://h:1/models/m", "no /v2/models/NAME"},
		{"http://h:1/v2/models/m/infer", "goes on after the model"},
		{"http://h:1/v2/models/m?x=1", "query"},
		{"grpc://h/m", "no port"},
		{"grpc://h:1/", "empty segment"},
		{"grpc://h:1/a/b/c", "not NAME or NAME/VERSION"},
	}
	for _, c := range bad {
		_, err := parseTarget(c.url)
		if err == nil || !strings.Contains(err.Error(), c.why) || !errors.Is(err, slipway.ErrInvalid) {
			t.Errorf("parseTarget(%q) = %v; want an invalid error about %q", c.url, err, c.why)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	for _, v := range []slipway.Version{
		{URL: "http://h:1/v2/models/m", Meta: map[string]string{"timeout": "soon"}},
		{URL: "http://h:1/v2/models/m", Meta: map[string]string{"timeout": "-1s"}},
		{URL: "s3://bucket/model"},
	} {
		if _, err := Open(t.Context(), v); !errors.Is(err, slipway.ErrInvalid) {
			t.Errorf("Open(%s, %v) = %v, want an invalid error", v.URL, v.Meta, err)
		}
	}
}

func TestDecodeOutput(t *testing.T) {
	cases := []struct {
		out  jsonOutput
		want any
		err  string
	}{
		{jsonOutput{Datatype: "FP32", Shape: []int64{2}, Data: []byte(`[1.5, 2]`)}, []float32{1.5, 2}, ""},
		{jsonOutput{Datatype: "FP32", Shape: []int64{2, 2}, Data: []byte(`[[1, 2], [3, null]]`)}, nil, ""},
		{jsonOutput{Datatype: "FP64", Shape: []int64{1}, Data: []byte(`[1e300]`)}, []float64{1e300}, ""},
		{jsonOutput{Datatype: "INT32", Shape: []int64{1, 2}, Data: []byte(`[[7, -8]]`)}, []int32{7, -8}, ""},
		{jsonOutput{Datatype: "INT64", Shape: []int64{1}, Data: []byte(`[9007199254740993]`)}, []int64{9007199254740993}, ""},
		{jsonOutput{Datatype: "BOOL", Shape: []int64{2}, Data: []byte(`[true, false]`)}, []bool{true, false}, ""},
		{jsonOutput{Datatype: "BYTES", Shape: []int64{1}, Data: []byte(`["cat"]`)}, []string{"cat"}, ""},
		{jsonOutput{Datatype: "FP32", Shape: []int64{3}, Data: []byte(`[1, 2]`)}, nil, "shape [3] holds 3 elements but data has 2"},
		{jsonOutput{Datatype: "INT32", Shape: []int64{1}, Data: []byte(`[1.5]`)}, nil, "data is not INT32"},
		{jsonOutput{Datatype: "INT32", Shape: []int64{1}, Data: []byte(`[4294967296]`)}, nil, "data is not INT32"},
		{jsonOutput{Datatype: "FP16", Shape: []int64{1}, Data: []byte(`[1]`)}, nil, "not supported"},
		{jsonOutput{Datatype: "FP32", Shape: []int64{1}}, nil, "data is not FP32"},
		{jsonOutput{Datatype: "FP32", Shape: []int64{-1}, Data: []byte(`[]`)}, nil, "negative"},
	}
	for _, c := range cases {
		got, err := decodeOutput(c.out)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %s: err = %v, want %q", c.out.Datatype, c.out.Data, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %s: %v", c.out.Datatype, c.out.Data, err)
			continue
		}
		if c.want != nil && !reflect.DeepEqual(got.Data, c.want) {
			t.Errorf("%s %s = %#v, want %#v", c.out.Datatype, c.out.Data, got.Data, c.want)
		}
		if c.want == nil { // the nested case with a null
			d := got.Data.([]float32)
			if len(d) != 4 || d[2] != 3 || !math.IsNaN(float64(d[3])) {
				t.Errorf("nested = %v, want [1 2 3 NaN]", d)
			}
		}
	}
}
