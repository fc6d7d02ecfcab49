package serving

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
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

var nan32, nan64 = float32(math.NaN()), math.NaN()

func input(name, datatype string, shape []int64, data any) runtime.Tensor {
	return runtime.Tensor{Name: name, Datatype: datatype, Shape: shape, Data: data}
}

func TestDecodeRequest(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       *Request
	}{
		{"fraud row", fraudOneRow, &Request{Inputs: []runtime.Tensor{
			input("amount", "FP32", []int64{1}, []float32{26.75}),
			input("hour", "FP32", []int64{1}, []float32{19}),
			input("merchant_risk", "FP32", []int64{1}, []float32{0.086}),
			input("distance_from_home", "FP32", []int64{1}, []float32{nan32}),
			input("tx_count_24h", "FP32", []int64{1}, []float32{2}),
			input("is_foreign", "FP32", []int64{1}, []float32{0}),
			input("card_age_days", "FP32", []int64{1}, []float32{689}),
		}}},
		{"every datatype", `{"inputs":[
			{"name":"a","datatype":"FP32","shape":[3],"data":[1.5,-0,null]},
			{"name":"b","datatype":"FP64","shape":[4],"data":[0.1,1e-400,-2.5E+3,null]},
			{"name":"c","datatype":"INT32","shape":[3],"data":[2147483647,-2147483648,-0]},
			{"name":"d","datatype":"INT64","shape":[2],"data":[9223372036854775807,-9223372036854775808]},
			{"name":"e","datatype":"BOOL","shape":[2],"data":[true,false]},
			{"name":"f","datatype":"BYTES","shape":[2],"data":["","x"]}]}`, &Request{Inputs: []runtime.Tensor{
			input("a", "FP32", []int64{3}, []float32{1.5, float32(math.Copysign(0, -1)), nan32}),
			input("b", "FP64", []int64{4}, []float64{0.1, 0, -2500, nan64}),
			input("c", "INT32", []int64{3}, []int32{math.MaxInt32, math.MinInt32, 0}),
			input("d", "INT64", []int64{2}, []int64{math.MaxInt64, math.MinInt64}),
			input("e", "BOOL", []int64{2}, []bool{true, false}),
			input("f", "BYTES", []int64{2}, []string{"", "x"}),
		}}},
		{"FP32 rounds the float64, beyond range to infinity", `{"inputs":[{"name":"a","datatype":"FP32","shape":[2],"data":[1e39,0.1]}]}`,
			&Request{Inputs: []runtime.Tensor{input("a", "FP32", []int64{2}, []float32{float32(math.Inf(1)), 0.1})}}},
		{"nested rows", `{"inputs":[{"name":"x","datatype":"INT64","shape":[2,2,1],"data":[[[1],[2]],[[3],[4]]]}]}`,
			&Request{Inputs: []runtime.Tensor{input("x", "INT64", []int64{2, 2, 1}, []int64{1, 2, 3, 4})}}},
		{"nested, ragged and empty rows flattened as before", `{"inputs":[{"name":"x","datatype":"FP32","shape":[3],"data":[[],[1,2],[[]],3]}]}`,
			&Request{Inputs: []runtime.Tensor{input("x", "FP32", []int64{3}, []float32{1, 2, 3})}}},
		{"empty and null data", `{"inputs":[
			{"name":"a","datatype":"FP32","shape":[0],"data":null},
			{"name":"b","datatype":"INT32","shape":[0],"data":null},
			{"name":"c","datatype":"INT32","shape":[2,0],"data":[]},
			{"name":"d","datatype":"BYTES","shape":[0],"data":[[]]}]}`, &Request{Inputs: []runtime.Tensor{
			input("a", "FP32", []int64{0}, []float32{}),
			input("b", "INT32", []int64{0}, []int32(nil)),
			input("c", "INT32", []int64{2, 0}, []int32{}),
			input("d", "BYTES", []int64{0}, []string{}),
		}}},
		{"escapes", `{"id":"\u00e9\/\"","inputs":[{"name":"t\tab","datatype":"BYTES","shape":[4],
			"data":["\"\\\/\b\f\n\r\t","\u00e9\u4e2d\ud83d\ude00","\ud800 \udc00\ud800\ud83d\ude00","<&>\u2028"]}]}`,
			&Request{ID: `é/"`, Inputs: []runtime.Tensor{input("t\tab", "BYTES", []int64{4},
				[]string{"\"\\/\b\f\n\r\t", "é中😀", "\ufffd \ufffd\ufffd😀", "<&>\u2028"})}}},
		{"invalid UTF-8 replaced", "{\"inputs\":[{\"name\":\"n\xff\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"a\xc3\x28\xed\xa0\x80\"]}]}",
			&Request{Inputs: []runtime.Tensor{input("n\ufffd", "BYTES", []int64{1}, []string{"a\ufffd(\ufffd\ufffd\ufffd"})}}},
		{"data before datatype and shape", `{"inputs":[{"data":[[1,2]],"name":"x","datatype":"FP64","shape":[1,2]},
			{"name":"y","data":[true],"shape":[1],"datatype":"BOOL"},{"datatype":"INT32","data":[5],"shape":[1],"name":"z"}]}`,
			&Request{Inputs: []runtime.Tensor{input("x", "FP64", []int64{1, 2}, []float64{1, 2}),
				input("y", "BOOL", []int64{1}, []bool{true}), input("z", "INT32", []int64{1}, []int32{5})}}},
		{"unknown keys skipped at every level", `{"x":{"inputs":[1]},"inputs":[{"name":"a","extra":[{"data":"no"},[]],
			"datatype":"FP32","shape":[1],"parameters":{"p":[1,{"q":null}]},"data":[1]}],"y":[[[]]],"outputs":[{"name":"o","more":"\""}],"z":-1.5e3}`,
			&Request{Inputs: []runtime.Tensor{input("a", "FP32", []int64{1}, []float32{1})}, Outputs: []string{"o"}}},
		{"keys match case-insensitively and escaped, as encoding/json's do", `{"INPUTS":[{"Name":"a","DataType":"INT32","\u017fhape":[1],"d\u0061ta":[1]}],"Id":"q"}`,
			&Request{ID: "q", Inputs: []runtime.Tensor{input("a", "INT32", []int64{1}, []int32{1})}}},
		{"id, parameters and outputs", `{"id":"r1","parameters":{"b":[1,"x"],"a":{"c":null}},"inputs":[{"name":"a","datatype":"BOOL","shape":[1],"data":[false]}],
			"outputs":[{"name":"p","parameters":{"binary_data":true}},null,{"name":null}]}`,
			&Request{ID: "r1", Parameters: map[string]any{"b": []any{1.0, "x"}, "a": map[string]any{"c": nil}},
				Inputs: []runtime.Tensor{input("a", "BOOL", []int64{1}, []bool{false})}, Outputs: []string{"p", "", ""}}},
		{"nulls leave fields empty", `{"id":null,"parameters":null,"outputs":null,"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[2],"parameters":null}]}`,
			&Request{Inputs: []runtime.Tensor{input("a", "FP32", []int64{1}, []float32{2})}}},
		{"whitespace everywhere", " \r\n\t{ \"inputs\" :\n[ { \"name\" : \"a\" , \"datatype\" : \"FP32\" , \"shape\" : [ 2 ] , \"data\" : [ [ 1 ] , [ 2 ] ] } ] } \n",
			&Request{Inputs: []runtime.Tensor{input("a", "FP32", []int64{2}, []float32{1, 2})}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeRequest([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if d := diffRequest(got, tc.want); d != "" {
				t.Error(d)
			}
		})
	}
}

func TestDecodeRequestRefuses(t *testing.T) {
	one := func(datatype, shape, data string) string {
		return fmt.Sprintf(`{"inputs":[{"name":"amount","datatype":%q,"shape":%s,"data":%s}]}`, datatype, shape, data)
	}
	for _, tc := range []struct{ name, body, want string }{
		// The messages of http_test.go's TestInferRefusesBadInput.
		{"unknown datatype", one("FP16", "[1]", "[1]"), `input "amount": datatype "FP16" not supported (want FP32, FP64, INT32, INT64, BOOL or BYTES)`},
		{"text in numbers", one("FP32", "[2]", `["x",1]`), `input "amount": data is not FP32: element 0 is a string`},
		{"shape disagrees with data", one("FP32", "[3]", "[1,2]"), `input "amount": shape [3] holds 3 elements but data has 2`},
		{"negative dimension", one("FP32", "[-2]", "[1,2]"), `input "amount": shape [-2] has a negative dimension`},
		{"malformed JSON", `{"inputs": [`, "request body is not a valid inference request: unexpected end of JSON input at offset 12"},
		{"no inputs", `{"inputs": []}`, `request has no "inputs"`},
		{"null body", ` null `, `request has no "inputs"`},

		{"no name", `{"inputs":[{"datatype":"FP32","shape":[1],"data":[1]}]}`, `inputs: input has no name`},
		{"null tensor", `{"inputs":[null]}`, `inputs: input has no name`},
		{"no shape", `{"inputs":[{"name":"a","datatype":"FP32","data":[1]}]}`, `input "a": no shape`},
		{"shape too large", one("FP32", "[2147483647,2]", "[]"), `input "amount": shape [2147483647 2] is too large`},
		{"no datatype", `{"inputs":[{"name":"a","shape":[1],"data":[1]}]}`, `input "a": no datatype`},
		{"no data", `{"inputs":[{"name":"a","datatype":"INT64","shape":[1]}]}`, `input "a": data is not INT64: no "data"`},
		{"data not an array", one("FP32", "[1]", `{"a":1}`), `data is not FP32: an object, not an array`},
		{"null in INT32", one("INT32", "[2]", "[1,null]"), `input "amount": data is not INT32: element 1 is null`},
		{"null in BYTES", one("BYTES", "[1]", "[[null]]"), `data is not BYTES: element 0 is null`},
		{"null in BOOL", one("BOOL", "[1]", "[null]"), `data is not BOOL: element 0 is null`},
		{"fraction in INT32", one("INT32", "[1]", "[1.0]"), `data is not INT32: element 0 is not an integer`},
		{"exponent in INT64", one("INT64", "[1]", "[1e2]"), `data is not INT64: element 0 is not an integer`},
		{"INT32 overflow", one("INT32", "[1]", "[2147483648]"), `data is not INT32: element 0 is out of range`},
		{"INT64 overflow", one("INT64", "[1]", "[9223372036854775808]"), `data is not INT64: element 0 is out of range`},
		{"FP64 overflow", one("FP64", "[1]", "[1e400]"), `data is not FP64: element 0 is out of range`},
		{"number in BOOL", one("BOOL", "[1]", "[1]"), `data is not BOOL: element 0 is a number`},
		{"number in BYTES", one("BYTES", "[1]", "[1]"), `data is not BYTES: element 0 is a number`},
		{"array after a number", one("FP32", "[2]", "[1,[2]]"), `data is not FP32: element 1 is an array`},
		{"object in rows", one("FP32", "[2]", `[[1],{"a":[2]}]`), `data is not FP32: element 1 is an object`},
		{"a bad tensor before a bad body", `{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":["x"]}],}`, "not a valid inference request"},
		{"the first bad tensor", `{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":["x"]},{"name":"b"}]}`, `input "a": data is not FP32`},

		{"duplicate key", `{"inputs":[{"name":"a","datatype":"FP32","shape":[1],"shape":[1],"data":[1]}]}`, `inputs[0]: duplicate key "shape"`},
		{"duplicate key folded", `{"inputs":[],"Inputs":[]}`, `duplicate key "inputs"`},
		{"duplicate output key", `{"inputs":[],"outputs":[{"name":"a","NAME":"b"}]}`, `outputs[0]: duplicate key "name"`},
		{"fraction in shape", one("FP32", "[1.5]", "[1]"), `inputs[0]: shape: 1.5 is not a 64-bit integer`},
		{"shape overflow", one("FP32", "[9223372036854775808]", "[1]"), `shape: 9223372036854775808 is not a 64-bit integer`},
		{"shape not an array", one("FP32", `"1"`, "[1]"), `inputs[0]: shape: want an array of integers, not a string`},
		{"string in shape", one("FP32", `["1"]`, "[1]"), `shape: want integers, not a string`},
		{"name not a string", `{"inputs":[{"name":1}]}`, `inputs[0]: name: want a string, not a number`},
		{"datatype not a string", `{"inputs":[{"datatype":true}]}`, `datatype: want a string, not a boolean`},
		{"tensor parameters not an object", `{"inputs":[{"parameters":[]}]}`, `inputs[0]: parameters: want an object, not an array`},
		{"parameters not an object", `{"parameters":1,"inputs":[]}`, `parameters: want an object, not a number`},
		{"number beyond float64 in tensor parameters", `{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"data":[1],"parameters":{"k1":49E+315}}]}`,
			"inputs[0]: parameters: json: cannot unmarshal number 49E+315"},
		{"number beyond float64 in output parameters", `{"inputs":[],"outputs":[{"name":"y","parameters":{"p":[1e400]}}]}`, "outputs[0]: parameters: json: cannot unmarshal number 1e400"},
		{"id not a string", `{"id":[],"inputs":[]}`, `id: want a string, not an array`},
		{"inputs not an array", `{"inputs":{}}`, `inputs: want an array, not an object`},
		{"tensor not an object", `{"inputs":[[]]}`, `inputs[0]: want an object, not an array`},
		{"outputs not an array", `{"outputs":"x","inputs":[]}`, `outputs: want an array, not a string`},
		{"output not an object", `{"outputs":[1],"inputs":[]}`, `outputs[0]: want an object, not a number`},
		{"body not an object", `[{"inputs":[]}]`, `want an object, not an array`},

		{"empty body", ``, "not a valid inference request: unexpected end of JSON input"},
		{"trailing data", `{"inputs":[]} {}`, "invalid character '{' at offset 14"},
		{"trailing comma", `{"inputs":[],}`, "invalid character '}'"},
		{"comma in rows", one("FP32", "[2]", "[[1],,[2]]"), "not a valid inference request"},
		{"trailing comma in rows", one("FP32", "[2]", "[[1],[2],]"), "not a valid inference request"},
		{"rows not separated", one("FP32", "[2]", "[[1][2]]"), "invalid character '['"},
		{"unclosed rows", one("FP32", "[2]", "[[1],[2]"), "invalid character '}'"},
		{"leading zero", one("FP32", "[1]", "[01]"), "invalid character '1'"},
		{"hex number", one("FP32", "[1]", "[0x1]"), "invalid character 'x'"},
		{"Infinity", one("FP32", "[1]", "[Infinity]"), "not a valid inference request"},
		{"NaN", one("FP32", "[1]", "[NaN]"), "not a valid inference request"},
		{"plus sign", one("FP32", "[1]", "[+1]"), "not a valid inference request"},
		{"bare fraction", one("FP32", "[1]", "[.5]"), "not a valid inference request"},
		{"bare exponent", one("FP32", "[1]", "[1e]"), "not a valid inference request"},
		{"misspelt null", one("FP32", "[1]", "[nul]"), "not a valid inference request"},
		{"bad string in data of another type", one("FP32", "[1]", `["\x"]`), "invalid escape in string"},
		{"bad escape", `{"id":"\u12G4","inputs":[]}`, "invalid escape in string"},
		{"control character in string", "{\"id\":\"a\tb\",\"inputs\":[]}", "invalid character '\\t'"},
		{"single quotes", `{'inputs':[]}`, "not a valid inference request"},
		{"unquoted key", `{inputs:[]}`, "not a valid inference request"},
		{"bad JSON in an unknown key", `{"x":[1 2],"inputs":[]}`, "not a valid inference request"},
		{"bad JSON in parameters", `{"inputs":[{"parameters":{"a":tru}}]}`, "not a valid inference request"},
		{"bad JSON in data of an unknown datatype", one("FP16", "[1]", "[1,]"), "not a valid inference request"},
		{"bad JSON in data read later", `{"inputs":[{"data":[1,},"name":"a","datatype":"FP32","shape":[1]}]}`, "not a valid inference request"},
		{"too deep", `{"inputs":[],"x":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + "}", "exceeded max depth"},
		{"too deep in data", one("FP32", "[1]", strings.Repeat("[", maxDepth)+"1"+strings.Repeat("]", maxDepth)), "exceeded max depth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := decodeRequest([]byte(tc.body))
			if err == nil {
				t.Fatalf("accepted: %+v", req)
			}
			if !strings.Contains(err.Error(), tc.want) || !errors.Is(err, slipway.ErrInvalid) {
				t.Fatalf("error %q (ErrInvalid: %v), want it to contain %q", err, errors.Is(err, slipway.ErrInvalid), tc.want)
			}
		})
	}
}

// TestDecodeRequestMatchesEncodingJSON holds decodeRequest to the
// encoding/json-based decoder over random valid requests: the same
// Request, or the same error (see checkAgainstStd).
func TestDecodeRequestMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	accepted := 0
	for range n {
		body := randomRequest(rng)
		if !json.Valid(body) {
			t.Fatalf("randomRequest made invalid JSON: %s", body)
		}
		if checkAgainstStd(t, body) {
			accepted++
		}
	}
	for _, body := range decodeBenchBodies {
		checkAgainstStd(t, body.body)
	}
	// The generator must make mostly acceptable requests to test much.
	if accepted < n/3 {
		t.Errorf("only %d of %d random requests accepted", accepted, n)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[[1,2]]}]}`))
	f.Add([]byte(`{"inputs":[{"name":"s","datatype":"BYTES","shape":[1],"data":["[,]\""]}]}`))
	f.Add([]byte(`{"inputs":[{"name":"x","datatype":"INT32","shape":[2147483647,2147483647],"data":[]}]}`))
	f.Add([]byte(`{"inputs":[{"name":"x","datatype":"BOOL","shape":[-1],"data":[true]}]}`))
	f.Add([]byte(fraudOneRow))
	f.Add([]byte(`{"id":"\u00e9\ud83d\ude00","parameters":{"a":[1,{}]},"INPUTS":[{"data":[[1,null],[]],"Name":"x","shape":[2],"datatype":"FP64","parameters":{}}],"outputs":[{"name":"y"},null]}`))
	f.Add([]byte(`{"inputs":[{"name":"i","datatype":"INT64","shape":[2],"data":[-0,9223372036854775807]},{"name":"b","datatype":"BOOL","shape":[1],"data":[false]}],"x":[1e5,"y",true]}`))
	f.Add([]byte(`{"inputs":[{"name":"s","datatype":"BYTES","shape":[2],"data":[["\ud800x"],["\\\/\b"]]},{"name":"n","datatype":"INT32","shape":[1],"data":[null]}]}`))
	f.Add([]byte(`{"inputs":[{"name":"a","shape":[1],"shape":[null],"datatype":"FP32","data":[1e39]}]}`))
	rng := rand.New(rand.NewPCG(1, 1))
	for range 20 {
		f.Add(randomRequest(rng))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeRequest(body)
		if err == nil {
			if !json.Valid(body) {
				t.Fatalf("accepted a body encoding/json finds invalid")
			}
			for _, in := range req.Inputs {
				n, _ := runtime.Elements(in.Shape)
				if in.Len() != n {
					t.Fatalf("accepted %q with %d elements for shape %v", in.Name, in.Len(), in.Shape)
				}
			}
		}
		checkAgainstStd(t, body)
	})
}

// checkAgainstStd decodes body with decodeRequest and decodeRequestStd
// and fails t unless both give the same Request or errors of the same
// kind: the same message for an input, bar the detail of "data is not
// ...". decodeRequest's two refusals on purpose are the exceptions: a
// key given twice in an object, and null in data that is not FP32 or
// FP64. It reports whether decodeRequest accepted body.
func checkAgainstStd(t *testing.T, body []byte) bool {
	t.Helper()
	got, err := decodeRequest(body)
	want, stdErr := decodeRequestStd(body)
	if err != nil && !errors.Is(err, slipway.ErrInvalid) {
		t.Fatalf("error %q does not match ErrInvalid", err)
	}
	if err != nil && refusedOnPurpose(t, body, err, want) {
		return false
	}
	switch {
	case err == nil && stdErr == nil:
		if d := diffRequest(got, want); d != "" {
			t.Fatalf("%s\nbody: %q", d, body)
		}
	case err == nil:
		t.Fatalf("accepted a body encoding/json refused (%v): %q", stdErr, body)
	case stdErr == nil:
		t.Fatalf("refused a body encoding/json accepted: %v\nbody: %q", err, body)
	case errorKind(err) != errorKind(stdErr):
		t.Fatalf("error %q, encoding/json's %q\nbody: %q", err, stdErr, body)
	}
	return err == nil
}

// refusedOnPurpose reports whether err is one of decodeRequest's refusals
// of what encoding/json accepted, checking the body does have what err says.
func refusedOnPurpose(t *testing.T, body []byte, err error, std *Request) bool {
	t.Helper()
	msg := err.Error()
	switch {
	case strings.Contains(msg, "duplicate key"):
		if !hasDuplicateKey(body) {
			t.Fatalf("%v, but no object repeats a key: %q", err, body)
		}
		return true
	case strings.HasSuffix(msg, " is null"):
		var ie *runtime.InputError
		if !errors.As(err, &ie) {
			t.Fatalf("%v is not an *InputError", err)
		}
		datatype, _, _ := strings.Cut(strings.TrimPrefix(ie.Msg, "data is not "), ":")
		if datatype == runtime.FP32 || datatype == runtime.FP64 {
			t.Fatalf("refused null in %s data: %v", datatype, err)
		}
		if std != nil && !slices.ContainsFunc(std.Inputs, func(in runtime.Tensor) bool { return in.Name == ie.Tensor && in.Datatype == datatype }) {
			t.Fatalf("%v, but encoding/json found no such %s input", err, datatype)
		}
		return true
	}
	return false
}

// hasDuplicateKey reports whether an object in body, valid JSON, has two
// keys equal under case folding.
func hasDuplicateKey(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack [][]string // keys of the open objects; nil for arrays
	expectKey := func() bool { return len(stack) > 0 && stack[len(stack)-1] != nil }
	afterKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{':
				stack = append(stack, []string{})
			case '[':
				stack = append(stack, nil)
			default:
				stack = stack[:len(stack)-1]
			}
			afterKey = false
			continue
		case string:
			if expectKey() && !afterKey {
				keys := stack[len(stack)-1]
				for _, k := range keys {
					if strings.EqualFold(k, tok) {
						return true
					}
				}
				stack[len(stack)-1] = append(keys, tok)
				afterKey = true
				continue
			}
		}
		afterKey = false
	}
}

// errorKind classifies a decoding error: the body is not a request, it
// has no inputs, or an input is wrong (the input and what is wrong with it).
func errorKind(err error) string {
	var ie *runtime.InputError
	switch {
	case errors.As(err, &ie):
		msg := ie.Msg
		if before, _, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "data is not ") {
			msg = before
		}
		return fmt.Sprintf("input %q: %s", ie.Tensor, msg)
	case strings.Contains(err.Error(), "not a valid inference request"):
		return "not a request"
	}
	return err.Error()
}

// diffRequest describes the first difference between two requests, "" for
// none. Floats compare bit for bit (NaN equals NaN, -0 differs from 0),
// the rest as reflect.DeepEqual does (a nil slice differs from an empty one).
func diffRequest(got, want *Request) string {
	switch {
	case got.ID != want.ID || got.Model != want.Model || got.Version != want.Version:
		return fmt.Sprintf("id, model, version %q %q %q, want %q %q %q", got.ID, got.Model, got.Version, want.ID, want.Model, want.Version)
	case !reflect.DeepEqual(got.Outputs, want.Outputs):
		return fmt.Sprintf("outputs %#v, want %#v", got.Outputs, want.Outputs)
	case !reflect.DeepEqual(got.Parameters, want.Parameters):
		return fmt.Sprintf("parameters %#v, want %#v", got.Parameters, want.Parameters)
	case len(got.Inputs) != len(want.Inputs):
		return fmt.Sprintf("%d inputs, want %d", len(got.Inputs), len(want.Inputs))
	}
	for i, g := range got.Inputs {
		w := want.Inputs[i]
		if g.Name != w.Name || g.Datatype != w.Datatype || !reflect.DeepEqual(g.Shape, w.Shape) || !sameData(g.Data, w.Data) {
			return fmt.Sprintf("input %d: %q %s %#v %#v, want %q %s %#v %#v", i, g.Name, g.Datatype, g.Shape, g.Data, w.Name, w.Datatype, w.Shape, w.Data)
		}
	}
	return ""
}

func sameData(got, want any) bool {
	switch g := got.(type) {
	case []float32:
		w, ok := want.([]float32)
		return ok && sameFloats(g, w, func(f float32) uint64 { return uint64(math.Float32bits(f)) })
	case []float64:
		w, ok := want.([]float64)
		return ok && sameFloats(g, w, math.Float64bits)
	}
	return reflect.DeepEqual(got, want)
}

func sameFloats[T float32 | float64](got, want []T, bits func(T) uint64) bool {
	if (got == nil) != (want == nil) || len(got) != len(want) {
		return false
	}
	for i := range got {
		if bits(got[i]) != bits(want[i]) {
			return false
		}
	}
	return true
}

// randomRequest writes a random request body: valid JSON, usually a valid
// request, varying what the protocol and JSON allow (datatypes, nested
// rows, key order and case, escapes, unknown keys, null, whitespace) and
// now and then breaking a rule (a wrong element, shape or datatype, a
// repeated key).
func randomRequest(rng *rand.Rand) []byte {
	g := &requestWriter{rng: rng}
	var members []func()
	if rng.IntN(3) == 0 {
		members = append(members, func() { g.key("id"); g.str(g.text()) })
	}
	if rng.IntN(4) == 0 {
		members = append(members, func() { g.key("parameters"); g.parameters() })
	}
	members = append(members, func() {
		g.key("inputs")
		g.array(1+rng.IntN(4), g.tensor)
	})
	if rng.IntN(4) == 0 {
		members = append(members, func() {
			g.key("outputs")
			g.array(rng.IntN(3), func() {
				if rng.IntN(8) == 0 {
					g.raw("null")
					return
				}
				g.object([]func(){func() { g.key("name"); g.str(g.text()) }})
			})
		})
	}
	if rng.IntN(4) == 0 {
		members = append(members, func() { g.key("unknown"); g.value(3) })
	}
	g.object(members)
	g.space()
	return g.b.Bytes()
}

// requestWriter writes random JSON for randomRequest.
type requestWriter struct {
	rng *rand.Rand
	b   bytes.Buffer
}

func (g *requestWriter) space() {
	if g.rng.IntN(6) == 0 {
		g.b.WriteString([]string{" ", "\n", "\t ", "\r\n  "}[g.rng.IntN(4)])
	}
}

func (g *requestWriter) raw(s string) { g.space(); g.b.WriteString(s) }

// object writes members in a random order (repeating one, rarely).
func (g *requestWriter) object(members []func()) {
	g.rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	if len(members) > 0 && g.rng.IntN(100) == 0 {
		members = append(members, members[0])
	}
	g.raw("{")
	for i, m := range members {
		if i > 0 {
			g.raw(",")
		}
		m()
	}
	g.raw("}")
}

func (g *requestWriter) array(n int, element func()) {
	g.raw("[")
	for i := range n {
		if i > 0 {
			g.raw(",")
		}
		element()
	}
	g.raw("]")
}

// key writes a key, now and then in another case or escaped, as
// encoding/json matches them.
func (g *requestWriter) key(k string) {
	switch g.rng.IntN(12) {
	case 0:
		k = strings.ToUpper(k)
	case 1:
		k = strings.ToUpper(k[:1]) + k[1:]
	case 2:
		g.raw(`"\u00` + strconv.FormatInt(int64(k[0]), 16) + k[1:] + `"`)
		g.raw(":")
		return
	}
	g.str(k)
	g.raw(":")
}

func (g *requestWriter) str(s string) {
	g.space()
	b, _ := json.Marshal(s)
	if g.rng.IntN(3) == 0 { // escape everything else, too
		var e strings.Builder
		for _, r := range s {
			if r > 0xFFFF {
				hi, lo := (r-0x10000)>>10+0xD800, (r-0x10000)&0x3FF+0xDC00
				fmt.Fprintf(&e, `\u%04x\u%04X`, hi, lo)
			} else {
				fmt.Fprintf(&e, `\u%04x`, r)
			}
		}
		b = []byte(`"` + e.String() + `"`)
	}
	g.b.Write(b)
}

func (g *requestWriter) text() string {
	parts := []string{"amount", "x", "é", "中", "😀", "\"", "\\", "\n", "\x00", "<&>", " ", "\u2028", "[,]", "{"}
	var s strings.Builder
	for range g.rng.IntN(4) {
		s.WriteString(parts[g.rng.IntN(len(parts))])
	}
	return s.String()
}

// value writes a random JSON value nested at most depth deep.
func (g *requestWriter) value(depth int) {
	switch k := g.rng.IntN(7); {
	case k == 0 && depth > 0:
		n := g.rng.IntN(3)
		members := make([]func(), n)
		for i := range members {
			name := fmt.Sprintf("k%d", i)
			members[i] = func() { g.key(name); g.value(depth - 1) }
		}
		g.object(members)
	case k == 1 && depth > 0:
		g.array(g.rng.IntN(3), func() { g.value(depth - 1) })
	case k == 2:
		g.str(g.text())
	case k == 3:
		g.raw([]string{"true", "false", "null"}[g.rng.IntN(3)])
	default:
		g.raw(g.number(true))
	}
}

// parameters writes an object of random values, or null.
func (g *requestWriter) parameters() {
	if g.rng.IntN(10) == 0 {
		g.raw("null")
		return
	}
	members := make([]func(), g.rng.IntN(3))
	for i := range members {
		name := fmt.Sprintf("p%d", i)
		members[i] = func() { g.key(name); g.value(2) }
	}
	g.object(members)
}

var datatypes = []string{runtime.FP32, runtime.FP64, runtime.INT32, runtime.INT64, runtime.BOOL, runtime.BYTES}

// tensor writes an input tensor: usually consistent, now and then not.
func (g *requestWriter) tensor() {
	rng := g.rng
	datatype := datatypes[rng.IntN(len(datatypes))]
	if rng.IntN(50) == 0 {
		datatype = []string{"FP16", "", "fp32"}[rng.IntN(3)]
	}
	shape := make([]int64, 1+rng.IntN(3))
	for i := range shape {
		shape[i] = int64(rng.IntN(4))
	}
	n, _ := runtime.Elements(shape)
	if rng.IntN(30) == 0 {
		n = max(0, n+rng.IntN(3)-1)
	}
	var members []func()
	if rng.IntN(40) != 0 {
		members = append(members, func() { g.key("name"); g.str("t" + g.text()) })
	}
	if rng.IntN(40) != 0 {
		members = append(members, func() {
			g.key("shape")
			g.array(len(shape), func() { g.raw(strconv.FormatInt(shape[0], 10)); shape = shape[1:] })
		})
	}
	members = append(members, func() { g.key("datatype"); g.str(datatype) })
	if rng.IntN(40) != 0 {
		members = append(members, func() { g.key("data"); g.data(datatype, n) })
	}
	if rng.IntN(6) == 0 {
		members = append(members, func() { g.key("parameters"); g.parameters() })
	}
	if rng.IntN(6) == 0 {
		members = append(members, func() { g.key("extra"); g.value(3) })
	}
	g.object(members)
}

// data writes n elements of datatype, flat or in nested rows.
func (g *requestWriter) data(datatype string, n int) {
	rng := g.rng
	if n == 0 && rng.IntN(4) == 0 {
		g.raw("null")
		return
	}
	elements := make([]string, n)
	for i := range elements {
		elements[i] = g.element(datatype)
	}
	if rng.IntN(60) == 0 && n > 0 { // the wrong kind of element
		elements[rng.IntN(n)] = []string{`"s"`, "true", "1.5", "null", "[]", "{}"}[rng.IntN(6)]
	}
	if rng.IntN(3) > 0 || n == 0 {
		g.array(n, func() { g.raw(elements[0]); elements = elements[1:] })
		return
	}
	// Rows of random lengths, some rows nested deeper, some empty.
	g.raw("[")
	for first := true; len(elements) > 0 || first; first = false {
		if !first {
			g.raw(",")
		}
		k := min(len(elements), rng.IntN(4))
		if first && k == 0 {
			k = 1
		}
		deep := rng.IntN(5) == 0
		g.raw("[")
		if deep {
			g.raw("[")
		}
		g.b.WriteString(strings.Join(elements[:k], ","))
		elements = elements[k:]
		if deep {
			g.raw("]")
		}
		g.raw("]")
	}
	g.raw("]")
}

func (g *requestWriter) element(datatype string) string {
	rng := g.rng
	switch datatype {
	case runtime.FP32, runtime.FP64:
		if rng.IntN(8) == 0 {
			return "null"
		}
		return g.number(true)
	case runtime.INT32, runtime.INT64:
		return g.number(false)
	case runtime.BOOL:
		return []string{"true", "false"}[rng.IntN(2)]
	case runtime.BYTES:
		b, _ := json.Marshal(g.text())
		return string(b)
	}
	return g.number(true)
}

// number writes a JSON number, an integer unless fraction.
func (g *requestWriter) number(fraction bool) string {
	rng := g.rng
	switch k := rng.IntN(10); {
	case k == 0:
		return []string{"0", "-0", "2147483647", "-2147483648", "2147483648", "9223372036854775807", "-9223372036854775808", "9223372036854775808"}[rng.IntN(8)]
	case !fraction || k < 4:
		return strconv.FormatInt(rng.Int64N(2000)-1000, 10)
	case k == 4:
		return strconv.FormatFloat(rng.NormFloat64(), 'e', -1, 64)
	case k == 5:
		return strconv.FormatFloat(math.Float64frombits(rng.Uint64()&^(0x7FF<<52)|uint64(rng.IntN(0x7FF))<<52), 'g', -1, 64)
	case k == 6:
		return fmt.Sprintf("%d.%0*dE%+d", rng.IntN(100), rng.IntN(25), rng.IntN(1000), rng.IntN(700)-350)
	}
	return strconv.FormatFloat(math.Round(rng.Float64()*1e4)/100, 'f', -1, 64)
}

// appendResponseCases are responses whose JSON appendResponse must write
// as encoding/json does.
var appendResponseCases = []struct {
	name string
	resp *Response
}{
	{"fraud", fraudResponse(1)},
	{"no outputs", &Response{ID: "x"}},
	{"every datatype", &Response{ID: "id", Model: "m", Version: "1.0.0", Outputs: []runtime.Tensor{
		input("f32", "FP32", []int64{9}, []float32{0, float32(math.Copysign(0, -1)), 1.5, 1e-7, 1e21, 123456789, math.MaxFloat32, math.SmallestNonzeroFloat32, -0.1}),
		input("f64", "FP64", []int64{8}, []float64{0, 1e-6, 9.99e-7, 1e20, 1e21, 1e100, math.SmallestNonzeroFloat64, -math.MaxFloat64}),
		input("i32", "INT32", []int64{3}, []int32{math.MinInt32, 0, math.MaxInt32}),
		input("i64", "INT64", []int64{2}, []int64{math.MinInt64, math.MaxInt64}),
		input("b", "BOOL", []int64{2}, []bool{true, false}),
		input("s", "BYTES", []int64{3}, []string{"", "plain", "\"\\\b\f\n\r\t\x00\x1f\x7f<>&\u2028\u2029é😀\xff\xc3("}),
	}}},
	{"missing values", &Response{Outputs: []runtime.Tensor{
		input("f32", "FP32", []int64{2, 2}, []float32{nan32, float32(math.Inf(1)), float32(math.Inf(-1)), 2})}}},
	{"unusual strings", &Response{ID: "\x01<script>\u2029", Model: "é\xff", Version: "v\"1", Outputs: []runtime.Tensor{
		input("na\tme", "FP32", []int64{0}, []float32{})}}},
	{"nil shape and data", &Response{Outputs: []runtime.Tensor{input("a", "FP32", nil, []float32(nil)), input("b", "BYTES", []int64{}, nil)}}},
	{"parameters", &Response{Parameters: map[string]any{"z": 1, "a": []any{"<", 2.5, nil}, "m": map[string]any{"k": true}}}},
	{"empty parameters", &Response{Parameters: map[string]any{}}},
	{"data of another type", &Response{Outputs: []runtime.Tensor{input("a", "FP32", []int64{1}, [][]float32{{1}})}}},
}

func TestAppendResponseMatchesEncodingJSON(t *testing.T) {
	for _, tc := range appendResponseCases {
		t.Run(tc.name, func(t *testing.T) {
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(encodeResponse(tc.resp)); err != nil {
				t.Fatal(err)
			}
			got, err := appendResponse([]byte("prefix"), tc.resp)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, append([]byte("prefix"), bytes.TrimSuffix(want.Bytes(), []byte("\n"))...)) {
				t.Errorf("got  %s\nwant %s", got, want.Bytes())
			}
		})
	}
}

// TestAppendResponseFP64Missing: encoding/json cannot encode a NaN or an
// infinity; appendResponse writes null, as for FP32.
func TestAppendResponseFP64Missing(t *testing.T) {
	resp := &Response{ID: "a", Outputs: []runtime.Tensor{input("y", "FP64", []int64{3}, []float64{nan64, 1.25, math.Inf(-1)})}}
	got, err := appendResponse(nil, resp)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Outputs []struct{ Data []*float64 }
	}
	if err := json.Unmarshal(got, &out); err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	if d := out.Outputs[0].Data; len(d) != 3 || d[0] != nil || d[1] == nil || *d[1] != 1.25 || d[2] != nil {
		t.Fatalf("%s", got)
	}
}

func TestAppendResponseRefusesUnencodableParameters(t *testing.T) {
	if _, err := appendResponse(nil, &Response{Parameters: map[string]any{"c": make(chan int)}}); err == nil {
		t.Fatal("encoded a channel")
	}
}

// TestAppendResponseRandom compares random responses' bytes with
// encoding/json's.
func TestAppendResponseRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	g := &requestWriter{rng: rng}
	for range 2000 {
		n := rng.IntN(5)
		f32, f64 := make([]float32, n), make([]float64, n)
		i32, i64, bs, ss := make([]int32, n), make([]int64, n), make([]bool, n), make([]string, n)
		for i := range n {
			f32[i] = math.Float32frombits(rng.Uint32())
			f64[i] = math.Float64frombits(rng.Uint64())
			if math.IsNaN(f64[i]) || math.IsInf(f64[i], 0) {
				f64[i] = rng.NormFloat64()
			}
			i32[i], i64[i], bs[i], ss[i] = int32(rng.Uint32()), int64(rng.Uint64()), rng.IntN(2) == 0, g.text()+string(rune(rng.IntN(0x110000)))
		}
		shape := []int64{int64(n)}
		resp := &Response{ID: g.text(), Model: g.text(), Version: g.text(), Outputs: []runtime.Tensor{
			input(g.text(), "FP32", shape, f32), input("b", "FP64", shape, f64), input("c", "INT32", shape, i32),
			input("d", "INT64", shape, i64), input("e", "BOOL", shape, bs), input("f", "BYTES", shape, ss)}}
		want, err := json.Marshal(encodeResponse(resp))
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendResponse(nil, resp)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%v\ngot  %s\nwant %s", err, got, want)
		}
	}
}

// The encoding/json-based request decoder slipway had before decodeRequest
// read bodies itself, kept verbatim (but for names) as the reference the
// differential tests and FuzzDecodeRequest hold decodeRequest to.

type (
	stdRequest struct {
		ID         string          `json:"id,omitempty"`
		Parameters map[string]any  `json:"parameters,omitempty"`
		Inputs     []stdTensor     `json:"inputs"`
		Outputs    []stdOutputSpec `json:"outputs,omitempty"`
	}
	stdTensor struct {
		Name       string          `json:"name"`
		Shape      []int64         `json:"shape"`
		Datatype   string          `json:"datatype"`
		Parameters map[string]any  `json:"parameters,omitempty"`
		Data       json.RawMessage `json:"data"`
	}
	stdOutputSpec struct {
		Name       string         `json:"name"`
		Parameters map[string]any `json:"parameters,omitempty"`
	}
)

// decodeRequestStd parses an inference body into a Request, checking every
// tensor's datatype, shape and element count.
func decodeRequestStd(body []byte) (*Request, error) {
	var jr stdRequest
	if err := json.Unmarshal(body, &jr); err != nil {
		return nil, slipway.Errorf(slipway.ErrInvalid, "request body is not a valid inference request: %v", err)
	}
	if len(jr.Inputs) == 0 {
		return nil, slipway.Errorf(slipway.ErrInvalid, `request has no "inputs"`)
	}
	req := &Request{ID: jr.ID, Parameters: jr.Parameters, Inputs: make([]runtime.Tensor, len(jr.Inputs))}
	for i, jt := range jr.Inputs {
		t, err := decodeTensorStd(jt)
		if err != nil {
			return nil, err
		}
		req.Inputs[i] = t
	}
	for _, o := range jr.Outputs {
		req.Outputs = append(req.Outputs, o.Name)
	}
	return req, nil
}

func decodeTensorStd(jt stdTensor) (runtime.Tensor, error) {
	t := runtime.Tensor{Name: jt.Name, Datatype: jt.Datatype, Shape: jt.Shape}
	bad := func(format string, args ...any) error {
		return &runtime.InputError{Tensor: jt.Name, Msg: fmt.Sprintf(format, args...)}
	}
	if jt.Name == "" {
		return t, bad("input has no name")
	}
	n, err := runtime.Elements(jt.Shape)
	if err != nil {
		return t, bad("%v", err)
	}
	data := flattenStd(jt.Data)
	switch jt.Datatype {
	case runtime.FP32:
		var d []nullableFloat
		err = json.Unmarshal(data, &d)
		t.Data = toFloat32(d)
	case runtime.FP64:
		var d []nullableFloat
		err = json.Unmarshal(data, &d)
		t.Data = toFloat64Std(d)
	case runtime.INT32:
		var d []int32
		err = json.Unmarshal(data, &d)
		t.Data = d
	case runtime.INT64:
		var d []int64
		err = json.Unmarshal(data, &d)
		t.Data = d
	case runtime.BOOL:
		var d []bool
		err = json.Unmarshal(data, &d)
		t.Data = d
	case runtime.BYTES:
		var d []string
		err = json.Unmarshal(data, &d)
		t.Data = d
	case "":
		return t, bad("no datatype (want FP32, FP64, INT32, INT64, BOOL or BYTES)")
	default:
		return t, bad("datatype %q not supported (want FP32, FP64, INT32, INT64, BOOL or BYTES)", jt.Datatype)
	}
	if err != nil {
		return t, bad("data is not %s: %v", jt.Datatype, err)
	}
	if got := t.Len(); got != n {
		return t, bad("shape %v holds %d elements but data has %d", jt.Shape, n, got)
	}
	return t, nil
}

// flattenStd turns nested JSON arrays into one flat array; the protocol
// allows either form for row-major data.
func flattenStd(raw json.RawMessage) json.RawMessage {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) < 2 || trimmed[0] != '[' {
		return raw
	}
	inner := bytes.TrimSpace(trimmed[1:])
	if len(inner) == 0 || inner[0] != '[' {
		return raw // already flat: the fast path
	}
	out := make([]byte, 0, len(raw))
	out = append(out, '[')
	inString, escaped, first := false, false, true
	for _, c := range trimmed {
		switch {
		case inString:
			out = append(out, c)
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
			continue
		case c == '[' || c == ']' || c == ' ' || c == '\n' || c == '\t' || c == '\r':
			continue
		case c == ',':
			if !first && out[len(out)-1] != ',' {
				out = append(out, ',')
			}
			continue
		case c == '"':
			inString = true
		}
		first = false
		out = append(out, c)
	}
	out = bytes.TrimRight(out, ",")
	return append(out, ']')
}

func toFloat64Std(d []nullableFloat) []float64 {
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = float64(v)
	}
	return out
}

// The response as encoding/json rendered it before appendResponse; the
// reference appendResponse is checked against.
type (
	jsonResponse struct {
		ModelName    string         `json:"model_name"`
		ModelVersion string         `json:"model_version"`
		ID           string         `json:"id"`
		Parameters   map[string]any `json:"parameters,omitempty"`
		Outputs      []jsonOutput   `json:"outputs"`
	}
	jsonOutput struct {
		Name     string  `json:"name"`
		Shape    []int64 `json:"shape"`
		Datatype string  `json:"datatype"`
		Data     any     `json:"data"`
	}
)

func encodeResponse(resp *Response) jsonResponse {
	out := jsonResponse{ModelName: resp.Model, ModelVersion: resp.Version, ID: resp.ID, Parameters: resp.Parameters,
		Outputs: make([]jsonOutput, len(resp.Outputs))}
	for i, t := range resp.Outputs {
		out.Outputs[i] = jsonOutput{Name: t.Name, Shape: t.Shape, Datatype: t.Datatype, Data: jsonSafe(t.Data)}
	}
	return out
}
