package oip

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/runtime"
)

// output wraps one output tensor's members in a response body.
func output(members string) string {
	return `{"model_name":"m","model_version":"2","id":"r1","outputs":[{"name":"y",` + members + `}]}`
}

func TestDecodeJSONResponse(t *testing.T) {
	cases := []struct {
		name, body string
		want       any    // the output's data; nil to skip the comparison
		err        string // part of the error; "" for none
	}{
		{"FP32", output(`"datatype":"FP32","shape":[2],"data":[1.5, 2]`), []float32{1.5, 2}, ""},
		{"nested FP32", output(`"datatype":"FP32","shape":[2,2],"data":[[1, 2], [3, 4]]`), []float32{1, 2, 3, 4}, ""},
		{"FP64", output(`"datatype":"FP64","shape":[1],"data":[1e300]`), []float64{1e300}, ""},
		{"INT32", output(`"datatype":"INT32","shape":[1,2],"data":[[7, -8]]`), []int32{7, -8}, ""},
		{"INT64", output(`"datatype":"INT64","shape":[1],"data":[9007199254740993]`), []int64{9007199254740993}, ""},
		{"BOOL", output(`"datatype":"BOOL","shape":[2],"data":[true, false]`), []bool{true, false}, ""},
		{"BYTES", output(`"datatype":"BYTES","shape":[1],"data":["cat\u00e9"]`), []string{"caté"}, ""},
		{"data first", output(`"data":[3],"datatype":"INT64","shape":[1]`), []int64{3}, ""},
		{"parameters dropped", `{"parameters":{"x":1e400},"outputs":[{"name":"y","datatype":"FP32","shape":[1],"data":[1],"parameters":{"a":[1]}}]}`, []float32{1}, ""},
		{"too few elements", output(`"datatype":"FP32","shape":[3],"data":[1, 2]`), nil, "shape [3] holds 3 elements but data has 2"},
		{"fraction in INT32", output(`"datatype":"INT32","shape":[1],"data":[1.5]`), nil, "data is not INT32: element 0 is not an integer"},
		{"INT32 overflow", output(`"datatype":"INT32","shape":[1],"data":[4294967296]`), nil, "data is not INT32: element 0 is out of range"},
		{"null INT64", output(`"datatype":"INT64","shape":[1],"data":[null]`), nil, "data is not INT64: element 0 is null"},
		{"FP16", output(`"datatype":"FP16","shape":[1],"data":[1]`), nil, `datatype "FP16" not supported`},
		{"no data", output(`"datatype":"FP32","shape":[1]`), nil, `data is not FP32: no "data"`},
		{"negative shape", output(`"datatype":"FP32","shape":[-1],"data":[]`), nil, "negative"},
		{"no name", `{"outputs":[{"datatype":"FP32","shape":[1],"data":[1]}]}`, nil, "output has no name"},
		{"duplicate key", output(`"datatype":"FP32","shape":[1],"data":[1],"data":[2]`), nil, `duplicate key "data"`},
		{"outputs not an array", `{"outputs":{}}`, nil, "outputs: want an array, not an object"},
		{"not an object", `[1]`, nil, "want an object, not an array"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeJSONResponse([]byte(c.body))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want one containing %q", err, c.err)
				}
				if IsJSONSyntaxError(err) {
					t.Errorf("%v counted as a syntax error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Outputs) != 1 || got.Outputs[0].Name != "y" {
				t.Fatalf("outputs %+v, want one named y", got.Outputs)
			}
			if !reflect.DeepEqual(got.Outputs[0].Data, c.want) {
				t.Errorf("data %#v, want %#v", got.Outputs[0].Data, c.want)
			}
		})
	}
}

func TestDecodeJSONResponseFields(t *testing.T) {
	got, err := DecodeJSONResponse([]byte(output(`"datatype":"FP32","shape":[3],"data":[1,null,2]`)))
	if err != nil {
		t.Fatal(err)
	}
	if got.ModelName != "m" || got.ModelVersion != "2" || got.ID != "r1" {
		t.Errorf("model %q version %q id %q, want m, 2, r1", got.ModelName, got.ModelVersion, got.ID)
	}
	// null is a missing value, as in requests.
	d := got.Outputs[0].Data.([]float32)
	if len(d) != 3 || d[0] != 1 || !math.IsNaN(float64(d[1])) || d[2] != 2 {
		t.Errorf("data %v, want [1 NaN 2]", d)
	}
	for _, body := range []string{`{"outputs":null}`, `{"model_name":"m"}`, `null`} {
		got, err := DecodeJSONResponse([]byte(body))
		if err != nil || len(got.Outputs) != 0 {
			t.Errorf("%s: %d outputs, %v; want none and no error", body, len(got.Outputs), err)
		}
	}
}

func TestDecodeJSONResponseSyntax(t *testing.T) {
	for _, body := range []string{``, `<html>`, `{"outputs":[`, `{"outputs":[{"name":"y","data":[1,]}]}`, `{} x`,
		`000`, `{"model_version":0`, `{"outputs":[{"shape":["x"]`} {
		_, err := DecodeJSONResponse([]byte(body))
		if err == nil || !IsJSONSyntaxError(err) {
			t.Errorf("%q: err %v, want a syntax error", body, err)
		}
		if json.Valid([]byte(body)) {
			t.Errorf("%q is valid JSON: the case is wrong", body)
		}
	}
}

// The strings and data of a response are the decoder's own: the body's
// buffer can be reused at once.
func TestDecodeJSONResponseOwnsItsMemory(t *testing.T) {
	body := []byte(`{"model_name":"fraud","outputs":[{"name":"label","datatype":"BYTES","shape":[2],"data":["cat","dog"]}]}`)
	got, err := DecodeJSONResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = 'x'
	}
	if got.ModelName != "fraud" || got.Outputs[0].Name != "label" || !reflect.DeepEqual(got.Outputs[0].Data, []string{"cat", "dog"}) {
		t.Errorf("after the body was overwritten: %+v", got)
	}
}

// stdRequest is the request body as the remote runtime encoded it with
// encoding/json, NaN and infinities made null.
type stdRequest struct {
	Inputs  []stdTensor `json:"inputs"`
	Outputs []stdName   `json:"outputs,omitempty"`
}

type stdTensor struct {
	Name     string  `json:"name"`
	Shape    []int64 `json:"shape"`
	Datatype string  `json:"datatype"`
	Data     any     `json:"data"`
}

type stdName struct {
	Name string `json:"name"`
}

func stdNullable[F float32 | float64](d []F) any {
	if d == nil {
		return d
	}
	out := make([]any, len(d))
	for i, v := range d {
		if f := float64(v); !math.IsNaN(f) && !math.IsInf(f, 0) {
			out[i] = v
		}
	}
	return out
}

// randomTensor is a tensor of any datatype with awkward values: NaN,
// infinities, tiny and huge floats, extreme integers, strings that need
// escaping.
func randomTensor(rng *rand.Rand, i int) (runtime.Tensor, any) {
	n := rng.IntN(6)
	floats := []float64{0, -0.0, 1, -1.5, 1e-7, 1e21, 3.4e38, 5e-324, 0.1, math.NaN(), math.Inf(1), math.Inf(-1), 123456789.125}
	names := []string{"x", "a<b>&c", "é\u2028", "tab\there", "quote\"back\\", "\x01", "\xff"}
	t := runtime.Tensor{Name: names[rng.IntN(len(names))], Shape: []int64{int64(n)}}
	if i%7 == 6 {
		t.Shape = nil
	}
	switch rng.IntN(6) {
	case 0:
		d := make([]float32, n)
		for j := range d {
			d[j] = float32(floats[rng.IntN(len(floats))])
		}
		t.Datatype, t.Data = runtime.FP32, d
		return t, stdNullable(d)
	case 1:
		d := make([]float64, n)
		for j := range d {
			d[j] = floats[rng.IntN(len(floats))]
		}
		t.Datatype, t.Data = runtime.FP64, d
		return t, stdNullable(d)
	case 2:
		d := make([]int32, n)
		for j := range d {
			d[j] = int32(rng.Uint32())
		}
		t.Datatype, t.Data = runtime.INT32, d
	case 3:
		d := make([]int64, n)
		for j := range d {
			d[j] = int64(rng.Uint64())
		}
		t.Datatype, t.Data = runtime.INT64, d
	case 4:
		d := make([]bool, n)
		for j := range d {
			d[j] = rng.IntN(2) == 1
		}
		t.Datatype, t.Data = runtime.BOOL, d
	default:
		d := make([]string, n)
		for j := range d {
			d[j] = names[rng.IntN(len(names))]
		}
		t.Datatype, t.Data = runtime.BYTES, d
	}
	return t, t.Data
}

// AppendJSONRequest writes the bytes encoding/json wrote for the same
// request, NaN as null.
func TestAppendJSONRequestMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 500 {
		var inputs []runtime.Tensor
		var std stdRequest
		for i := range rng.IntN(4) {
			in, data := randomTensor(rng, i)
			inputs = append(inputs, in)
			std.Inputs = append(std.Inputs, stdTensor{Name: in.Name, Shape: in.Shape, Datatype: in.Datatype, Data: data})
		}
		var outputs []string
		for range rng.IntN(3) {
			name := []string{"score", "label", "<p>"}[rng.IntN(3)]
			outputs = append(outputs, name)
			std.Outputs = append(std.Outputs, stdName{name})
		}
		want, err := json.Marshal(std)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendJSONRequest([]byte("prefix"), inputs, outputs)
		if err != nil {
			t.Fatal(err)
		}
		if string(got[len("prefix"):]) != string(want) {
			t.Fatalf("AppendJSONRequest\n%s\nencoding/json\n%s", got[len("prefix"):], want)
		}
	}
}

func TestAppendJSONRequestRefusesForeignData(t *testing.T) {
	in := []runtime.Tensor{{Name: "c", Datatype: "FP32", Shape: []int64{1}, Data: []complex64{1}}}
	got, err := AppendJSONRequest([]byte("keep"), in, nil)
	var ue *json.UnsupportedTypeError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `input "c"`) || string(got) != "keep" {
		t.Errorf("got %q, %v; want dst unchanged and an unsupported type error naming the input", got, err)
	}
}

// A request the remote runtime encodes reads back, through the gateway's
// decoder, as the same tensors.
func TestJSONRequestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 200 {
		var inputs []runtime.Tensor
		for i := range 1 + rng.IntN(3) {
			in, _ := randomTensor(rng, i%6) // always a shape
			in.Name = []string{"x", "y", "z"}[i]
			inputs = append(inputs, in)
		}
		body, err := AppendJSONRequest(nil, inputs, []string{"score"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeJSONRequest(body)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if !reflect.DeepEqual(got.Outputs, []string{"score"}) || len(got.Inputs) != len(inputs) {
			t.Fatalf("%s: decoded %+v", body, got)
		}
		for i, in := range inputs {
			g := got.Inputs[i]
			if g.Name != in.Name || g.Datatype != in.Datatype || !reflect.DeepEqual(g.Shape, in.Shape) || !sameValues(g.Data, in.Data) {
				t.Fatalf("%s: input %d decoded as %+v, want %+v", body, i, g, in)
			}
		}
	}
}

// sameValues compares data as it reads back: NaN and infinities (sent as
// null) as NaN, invalid UTF-8 as U+FFFD.
func sameValues(got, want any) bool {
	switch w := want.(type) {
	case []float32:
		g := got.([]float32)
		for i := range w {
			if wf := float64(w[i]); math.IsNaN(wf) || math.IsInf(wf, 0) {
				if !math.IsNaN(float64(g[i])) {
					return false
				}
			} else if g[i] != w[i] {
				return false
			}
		}
		return len(g) == len(w)
	case []float64:
		g := got.([]float64)
		for i := range w {
			if math.IsNaN(w[i]) || math.IsInf(w[i], 0) {
				if !math.IsNaN(g[i]) {
					return false
				}
			} else if g[i] != w[i] {
				return false
			}
		}
		return len(g) == len(w)
	case []string: // invalid UTF-8 is sent replaced, as encoding/json does
		valid := make([]string, len(w))
		for i, s := range w {
			valid[i] = strings.ToValidUTF8(s, "\ufffd")
		}
		return reflect.DeepEqual(got, valid)
	}
	return reflect.DeepEqual(got, want)
}

// Any answer decodes without a panic; one that is not JSON is a syntax
// error; one that decodes reads back the same through the encoder.
func FuzzDecodeJSONResponse(f *testing.F) {
	f.Add([]byte(output(`"datatype":"FP32","shape":[3],"data":[1,null,2.5e-7]`)))
	f.Add([]byte(output(`"datatype":"BYTES","shape":[1,2],"data":[["a\u00e9","\ud800"]]`)))
	f.Add([]byte(`{"OUTPUTS":[{"NAME":"y","Datatype":"INT64","shape":[1],"data":[-9223372036854775808]}]}`))
	f.Add([]byte(`{"outputs":[{"name":"y","datatype":"BOOL","shape":[0],"data":[]}],"parameters":{"a":1}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := DecodeJSONResponse(body)
		if !json.Valid(body) {
			if err == nil || !IsJSONSyntaxError(err) {
				t.Fatalf("%q is not JSON, err %v", body, err)
			}
			return
		}
		if err != nil {
			if IsJSONSyntaxError(err) {
				t.Fatalf("%q is JSON, but %v", body, err)
			}
			return
		}
		var again []byte
		again = append(again, `{"outputs":[`...)
		for i, o := range got.Outputs {
			if i > 0 {
				again = append(again, ',')
			}
			if again, err = AppendJSONTensor(again, o); err != nil {
				t.Fatal(err)
			}
		}
		again = append(again, "]}"...)
		back, err := DecodeJSONResponse(again)
		if err != nil {
			t.Fatalf("%s, encoded again as %s: %v", body, again, err)
		}
		for i, o := range got.Outputs {
			b := back.Outputs[i]
			if b.Name != o.Name || b.Datatype != o.Datatype || !reflect.DeepEqual(b.Shape, o.Shape) || !sameValues(b.Data, o.Data) {
				t.Fatalf("%s: output %d read back as %+v, want %+v", body, i, b, o)
			}
		}
	})
}
