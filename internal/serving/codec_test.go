package serving

import (
	"github.com/slipway-ml/slipway/internal/runtime"
	"math"
	"reflect"
	"testing"
)

func TestDecodeRequestNestedAndNull(t *testing.T) {
	req, err := decodeRequest([]byte(`{"id":"a","inputs":[
		{"name":"x","datatype":"FP32","shape":[2,2],"data":[[1, null],[3,4]]},
		{"name":"s","datatype":"BYTES","shape":[2],"data":["a,[b]","c\"]"]},
		{"name":"b","datatype":"BOOL","shape":[1],"data":[true]},
		{"name":"i","datatype":"INT64","shape":[1,2],"data":[[7,8]]}],
		"outputs":[{"name":"y"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	x := req.Inputs[0].Data.([]float32)
	if len(x) != 4 || x[0] != 1 || !math.IsNaN(float64(x[1])) || x[3] != 4 {
		t.Fatalf("x = %v", x)
	}
	if s := req.Inputs[1].Data.([]string); !reflect.DeepEqual(s, []string{"a,[b]", `c"]`}) {
		t.Fatalf("s = %q", s)
	}
	if i := req.Inputs[3].Data.([]int64); !reflect.DeepEqual(i, []int64{7, 8}) {
		t.Fatalf("i = %v", i)
	}
	if req.ID != "a" || !reflect.DeepEqual(req.Outputs, []string{"y"}) {
		t.Fatalf("id %q outputs %v", req.ID, req.Outputs)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[[1,2]]}]}`))
	f.Add([]byte(`{"inputs":[{"name":"s","datatype":"BYTES","shape":[1],"data":["[,]\""]}]}`))
	f.Add([]byte(`{"inputs":[{"name":"x","datatype":"INT32","shape":[2147483647,2147483647],"data":[]}]}`))
	f.Add([]byte(`{"inputs":[{"name":"x","datatype":"BOOL","shape":[-1],"data":[true]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeRequest(body)
		if err != nil {
			return
		}
		for _, in := range req.Inputs {
			n, _ := runtime.Elements(in.Shape)
			if in.Len() != n {
				t.Fatalf("accepted %q with %d elements for shape %v", in.Name, in.Len(), in.Shape)
			}
		}
	})
}
