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
