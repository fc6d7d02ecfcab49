package oip

import (
	"encoding/json"
	"fmt"
	"math"
	"unsafe"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// The protocol's JSON bodies (the REST form of the Open Inference
// Protocol): a request decoder for the gateway, a request encoder and a
// response decoder for the remote runtime, and appenders for the gateway's
// responses. Decoding reads the body in one pass, without reflection, and
// gives what encoding/json gave for the same body (keys matched
// case-insensitively, null leaving a field empty, nested data flattened
// when its first element is an array), with two exceptions, both refused:
// a key given twice in one object (encoding/json merged the two values),
// and null among the data of an INT32, INT64, BOOL or BYTES tensor
// (encoding/json made it 0, false or "", silently). Null among FP32 and
// FP64 data is a missing value, NaN.

// JSONRequest is an inference request body.
type JSONRequest struct {
	ID         string
	Parameters map[string]any
	Inputs     []runtime.Tensor
	Outputs    []string // the outputs asked for by name; nil for all
}

// DecodeJSONRequest parses an inference request body, checking every
// tensor's datatype, shape and element count. A body that is not a
// request is an error matching slipway.ErrInvalid; a tensor that is not
// valid is a *runtime.InputError naming it. Strings and data share no
// memory with body.
func DecodeJSONRequest(body []byte) (JSONRequest, error) {
	d := decoder{scanner: scanner{buf: body}, budget: len(body) / 2}
	var inputs [8]pendingTensor // most requests fit: no allocation for them
	return d.request(inputs[:0])
}

// JSONResponse is an inference response body.
type JSONResponse struct {
	ModelName, ModelVersion, ID string
	Outputs                     []runtime.Tensor
}

// OutputError reports an output tensor of a response that is not valid.
type OutputError struct {
	Output, Msg string
}

func (e *OutputError) Error() string { return fmt.Sprintf("output %q: %s", e.Output, e.Msg) }

// DecodeJSONResponse parses an inference response body, checking every
// output's datatype, shape and element count; a response without outputs
// is not an error here. A body that is not JSON gives an error for which
// IsJSONSyntaxError is true; an output that is not valid, an
// *OutputError. Response parameters are checked as JSON and dropped.
// Strings and data share no memory with body.
func DecodeJSONResponse(body []byte) (JSONResponse, error) {
	d := decoder{scanner: scanner{buf: body}, budget: len(body) / 2}
	var outputs [4]pendingTensor
	resp, err := d.response(outputs[:0])
	if err != nil && !IsJSONSyntaxError(err) {
		// The decoder stops at the first thing wrong; a body that is not
		// JSON at all says so first, as encoding/json does.
		if serr := checkJSON(body); serr != nil {
			return JSONResponse{}, serr
		}
	}
	return resp, err
}

// checkJSON returns the syntax error of a body that is not one JSON value.
func checkJSON(body []byte) error {
	s := scanner{buf: body}
	if err := s.skip(); err != nil {
		return err
	}
	if !s.atEnd() {
		return s.fail()
	}
	return nil
}

// decoder reads one request or response body.
type decoder struct {
	scanner
	// strs holds the body's strings back to back. It is only appended
	// to: bytes once written never change (a full buffer is replaced, not
	// reused), so strings viewing them stay immutable, as with
	// strings.Builder.
	strs []byte
	dims []int64 // the tensors' shapes, back to back
	// budget bounds the elements made room for ahead of reading them, from
	// shapes, over the whole body: shapes claiming more than the data holds
	// cannot make the decoder allocate more than a few times the body size.
	budget int
	// Shared storage for small tensors' data (see carve).
	f32   []float32
	f64   []float64
	i32   []int32
	i64   []int64
	bools []bool
	texts []string
}

// pendingTensor is a tensor being read. Its data is read as soon as
// its datatype and shape are known: at the "data" key when they came
// first, as clients send them, otherwise at the end of the tensor's object.
type pendingTensor struct {
	runtime.Tensor
	keys                           uint8 // the keys read (see matchKey)
	hasShape, hasDatatype, hasData bool
	dataErr                        string // why the data does not fit the datatype
	// Where the data value is, while it waits for datatype and shape:
	// the scanner's position and depth there.
	waiting           bool
	dataAt, dataDepth int
}

// The keys of the bodies' objects (see matchKey).
var (
	requestKeys  = []string{"id", "parameters", "inputs", "outputs"}
	responseKeys = []string{"model_name", "model_version", "id", "parameters", "outputs"}
	tensorKeys   = []string{"name", "shape", "datatype", "parameters", "data"}
	outputKeys   = []string{"name", "parameters"}
)

// Where tensors are in a body: the key of their array, and the role named
// in their errors.
const (
	inputTensors  = "inputs"
	outputTensors = "outputs"
)

// request reads the body: the request object, then its inputs' checks.
func (d *decoder) request(pending []pendingTensor) (JSONRequest, error) {
	req, pending, err := d.requestObject(pending)
	if err != nil {
		return JSONRequest{}, slipway.Errorf(slipway.ErrInvalid, "request body is not a valid inference request: %v", err)
	}
	if len(pending) == 0 {
		return JSONRequest{}, slipway.Errorf(slipway.ErrInvalid, `request has no "inputs"`)
	}
	req.Inputs = make([]runtime.Tensor, len(pending))
	for i := range pending {
		if msg := pending[i].check(inputTensors); msg != "" {
			return JSONRequest{}, &runtime.InputError{Tensor: pending[i].Name, Msg: msg}
		}
		req.Inputs[i] = pending[i].Tensor
	}
	return req, nil
}

// requestObject reads the body's one value, which must be an object (or
// null, a request without inputs).
func (d *decoder) requestObject(pending []pendingTensor) (JSONRequest, []pendingTensor, error) {
	var req JSONRequest
	err := d.object(requestKeys, func(k string) (err error) {
		switch k {
		case "id":
			req.ID, err = d.optString("id")
		case "parameters":
			req.Parameters, err = d.parameters(true)
		case "inputs":
			pending, err = d.tensors(inputTensors, pending)
		case "outputs":
			req.Outputs, err = d.outputs()
		default:
			err = d.skip()
		}
		return err
	})
	return req, pending, err
}

// response reads the body: the response object, then its outputs' checks.
func (d *decoder) response(pending []pendingTensor) (JSONResponse, error) {
	var resp JSONResponse
	err := d.object(responseKeys, func(k string) (err error) {
		switch k {
		case "model_name":
			resp.ModelName, err = d.optString("model_name")
		case "model_version":
			resp.ModelVersion, err = d.optString("model_version")
		case "id":
			resp.ID, err = d.optString("id")
		case "outputs":
			pending, err = d.tensors(outputTensors, pending)
		default: // parameters too: checked, not kept
			err = d.skip()
		}
		return err
	})
	if err != nil {
		return JSONResponse{}, err
	}
	resp.Outputs = make([]runtime.Tensor, len(pending))
	for i := range pending {
		if msg := pending[i].check(outputTensors); msg != "" {
			return JSONResponse{}, &OutputError{Output: pending[i].Name, Msg: msg}
		}
		resp.Outputs[i] = pending[i].Tensor
	}
	return resp, nil
}

// object reads the body's one value, which must be an object (or null, an
// empty one), calling member for each key, one of keys or "" for others,
// with the scanner at its value.
func (d *decoder) object(keys []string, member func(key string) error) error {
	switch c := d.next(); c {
	case '{':
	case 'n':
		if err := d.literal("null"); err != nil || !d.atEnd() {
			return d.fail()
		}
		return nil
	default:
		if err := d.skip(); err != nil {
			return err
		}
		return fmt.Errorf("want an object, not %s", kindOf(c))
	}
	var seen uint8
	if err := d.members(keys, &seen, nil, member); err != nil {
		return err
	}
	if !d.atEnd() {
		return d.fail()
	}
	return nil
}

// members reads an object's members, the scanner at its '{', calling
// member for each key, one of keys or "" for others, with the scanner at
// its value; seen records the keys met. at, when not nil, says where the
// object is in the errors of its keys (a duplicate) and of member;
// errors of the JSON itself go out as they are. The functions do not
// escape, so a caller's closures cost no allocation.
func (d *decoder) members(keys []string, seen *uint8, at func(error) error, member func(key string) error) error {
	if err := d.open(); err != nil {
		return err
	}
	for first := true; ; first = false {
		key, plain, ok, err := d.member(first)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		k, err := matchKey(key, plain, keys, seen)
		if err == nil {
			err = member(k)
		}
		if err != nil && at != nil {
			err = at(err)
		}
		if err != nil {
			return err
		}
	}
}

// optString reads a string, or null for none.
func (d *decoder) optString(what string) (string, error) {
	switch d.next() {
	case '"':
		raw, plain, err := d.str()
		if err != nil {
			return "", err
		}
		return d.text(raw, plain), nil
	case 'n':
		return "", d.literal("null")
	}
	return "", d.typeError(what, "a string")
}

// typeError refuses the value at pos, which is of the wrong kind; but a
// value that is not JSON at all is a syntax error.
func (d *decoder) typeError(what, want string) error {
	c := d.next()
	if err := d.skip(); err != nil {
		return err
	}
	return fmt.Errorf("%s: want %s, not %s", what, want, kindOf(c))
}

// text returns a string's value (raw is its contents, plain as str says),
// copied to the request's string buffer.
func (d *decoder) text(raw []byte, plain bool) string {
	if len(raw) == 0 {
		return ""
	}
	if d.strs == nil {
		d.strs = make([]byte, 0, max(256, len(raw)))
	}
	start := len(d.strs)
	if plain {
		d.strs = append(d.strs, raw...)
	} else {
		d.strs = appendUnquoted(d.strs, raw)
	}
	// See strs: these bytes are never written again.
	return unsafe.String(&d.strs[start], len(d.strs)-start)
}

// parameters reads parameters with encoding/json, as any JSON object (or
// null), where they are rare; keep false discards them (they are checked
// all the same: a number beyond float64's range is refused, as before).
func (d *decoder) parameters(keep bool) (map[string]any, error) {
	c := d.next()
	if c != '{' && c != 'n' {
		return nil, d.typeError("parameters", "an object")
	}
	start := d.pos
	if err := d.skip(); err != nil || c == 'n' {
		return nil, err
	}
	if !keep && d.pos-start == 2 { // {}
		return nil, nil
	}
	var p map[string]any
	if err := json.Unmarshal(d.buf[start:d.pos], &p); err != nil {
		return nil, fmt.Errorf("parameters: %v", err)
	}
	return p, nil
}

// openArray enters the array at pos, or consumes a null in its place
// (isNull); any other value is a type error naming what and want.
func (d *decoder) openArray(what, want string) (isNull bool, err error) {
	switch d.next() {
	case '[':
		return false, d.open()
	case 'n':
		return true, d.literal("null")
	}
	return false, d.typeError(what, want)
}

// tensors reads an array of tensors (role: inputs or outputs), null for
// none.
func (d *decoder) tensors(role string, pending []pendingTensor) ([]pendingTensor, error) {
	if isNull, err := d.openArray(role, "an array"); isNull || err != nil {
		if isNull {
			return pending, err
		}
		return nil, err
	}
	for first := true; ; first = false {
		more, err := d.element(first)
		if err != nil {
			return nil, err
		}
		if !more {
			return pending, nil
		}
		pending = append(pending, pendingTensor{})
		in := &pending[len(pending)-1]
		switch d.buf[d.pos] {
		case '{':
			err = d.tensor(in, role, len(pending)-1)
		case 'n': // as encoding/json: a tensor with nothing set
			err = d.literal("null")
		default:
			err = d.typeError(fmt.Sprintf("%s[%d]", role, len(pending)-1), "an object")
		}
		if err != nil {
			return nil, err
		}
	}
}

// tensor reads one tensor's object, the i-th of role.
func (d *decoder) tensor(in *pendingTensor, role string, i int) error {
	at := func(err error) error { return fmt.Errorf("%s[%d]: %w", role, i, err) }
	err := d.members(tensorKeys, &in.keys, at, func(k string) (err error) {
		switch k {
		case "name":
			in.Name, err = d.optString("name")
		case "shape":
			in.Shape, err = d.shape()
			in.hasShape = true
		case "datatype":
			in.Datatype, err = d.datatype()
			in.hasDatatype = true
		case "parameters":
			_, err = d.parameters(false)
		case "data":
			in.hasData = true
			if in.hasShape && in.hasDatatype {
				return d.tensorData(in)
			}
			in.waiting, in.dataAt, in.dataDepth = true, d.pos, d.depth
			err = d.skip()
		default:
			err = d.skip()
		}
		return err
	})
	if err != nil || !in.waiting {
		return err
	}
	// The data came before its datatype or shape: go back and read it (it
	// is valid JSON, just skipped), then return to the end of the object.
	end, depth := d.pos, d.depth
	d.pos, d.depth = in.dataAt, in.dataDepth
	err = d.tensorData(in)
	d.pos, d.depth = end, depth
	return err
}

// shape reads a tensor's shape: integers, or null for none. A null
// dimension is 0, as encoding/json left it.
func (d *decoder) shape() ([]int64, error) {
	if isNull, err := d.openArray("shape", "an array of integers"); isNull || err != nil {
		return nil, err
	}
	if d.dims == nil {
		d.dims = make([]int64, 0, 16)
	}
	start := len(d.dims)
	for first := true; ; first = false {
		more, err := d.element(first)
		if err != nil {
			return nil, err
		}
		if !more {
			end := len(d.dims)
			return d.dims[start:end:end], nil
		}
		var dim int64
		switch c := d.buf[d.pos]; {
		case c == 'n':
			err = d.literal("null")
		case c == '-' || isDigit(c):
			dim, err = d.dimension()
		default:
			err = d.typeError("shape", "integers")
		}
		if err != nil {
			return nil, err
		}
		d.dims = append(d.dims, dim)
	}
}

// dimension reads one integer of a shape.
func (d *decoder) dimension() (int64, error) {
	var n number
	if err := d.number(&n); err != nil {
		return 0, err
	}
	if v, ok := n.int(64); ok {
		return v, nil
	}
	return 0, fmt.Errorf("shape: %s is not a 64-bit integer", n.text)
}

// datatype reads a tensor's datatype, a string or null.
func (d *decoder) datatype() (string, error) {
	if d.next() == '"' {
		raw, plain, err := d.str()
		if err != nil {
			return "", err
		}
		switch string(raw) {
		case runtime.FP32:
			return runtime.FP32, nil
		case runtime.FP64:
			return runtime.FP64, nil
		case runtime.INT32:
			return runtime.INT32, nil
		case runtime.INT64:
			return runtime.INT64, nil
		case runtime.BOOL:
			return runtime.BOOL, nil
		case runtime.BYTES:
			return runtime.BYTES, nil
		}
		return d.text(raw, plain), nil
	}
	return d.optString("datatype")
}

// tensorData reads the data value at pos as the tensor's datatype: null
// (no elements), or an array of elements, flat or nested. A value of the
// wrong kind is the tensor's error, which check reports in its turn, so
// the reading goes on; a value that is not JSON stops it.
func (d *decoder) tensorData(in *pendingTensor) error {
	if !supportedType(in.Datatype) { // check reports the datatype
		return d.skip()
	}
	start, depth := d.pos, d.depth
	var data any
	var problem string
	var err error
	switch c := d.next(); {
	case c == 'n':
		in.Data = nullData(in.Datatype)
		return d.literal("null")
	case c != '[':
		problem = kindOf(c) + ", not an array"
	case in.Datatype == runtime.FP32:
		data, problem, err = readFloats(d, &d.f32, d.hint(in.Shape))
	case in.Datatype == runtime.FP64:
		data, problem, err = readFloats(d, &d.f64, d.hint(in.Shape))
	case in.Datatype == runtime.INT32:
		data, problem, err = readInts(d, &d.i32, d.hint(in.Shape), 32)
	case in.Datatype == runtime.INT64:
		data, problem, err = readInts(d, &d.i64, d.hint(in.Shape), 64)
	case in.Datatype == runtime.BOOL:
		data, problem, err = readBools(d, d.hint(in.Shape))
	default:
		data, problem, err = readTexts(d, d.hint(in.Shape))
	}
	if err != nil {
		return err
	}
	if problem != "" {
		d.pos, d.depth = start, depth
		in.dataErr = problem
		return d.skip()
	}
	in.Data = data
	return nil
}

func supportedType(datatype string) bool {
	switch datatype {
	case runtime.FP32, runtime.FP64, runtime.INT32, runtime.INT64, runtime.BOOL, runtime.BYTES:
		return true
	}
	return false
}

// nullData is what encoding/json made of null data: an empty FP32 or FP64
// tensor, and a nil slice of the other types.
func nullData(datatype string) any {
	switch datatype {
	case runtime.FP32:
		return []float32{}
	case runtime.FP64:
		return []float64{}
	case runtime.INT32:
		return []int32(nil)
	case runtime.INT64:
		return []int64(nil)
	case runtime.BOOL:
		return []bool(nil)
	}
	return []string(nil)
}

// hint returns how many elements to make room for ahead of reading a
// tensor's data: what its shape holds, within the decoder's budget.
func (d *decoder) hint(shape []int64) int {
	n, err := runtime.Elements(shape)
	if err != nil {
		return 0
	}
	n = min(n, d.budget)
	d.budget -= n
	return n
}

// Data readers: each reads a data array at pos, of elements of its kind,
// and says why the data does not fit when an element is not one (a syntax
// error there is reported when tensorData skips the data again).

func readFloats[T float32 | float64](d *decoder, pool *[]T, hint int) (any, string, error) {
	out := carve(pool, hint)
	var w elementWalker
	var n number
	for {
		if more, err := w.next(&d.scanner); !more {
			return nonNil(out), "", err
		}
		c := d.buf[d.pos]
		if c == 'n' && d.literal("null") == nil {
			out = append(out, T(math.NaN())) // a missing value
			continue
		}
		if c != '-' && !isDigit(c) {
			return nil, elementProblem(len(out), kindOf(c)), nil
		}
		if err := d.number(&n); err != nil {
			return nil, elementProblem(len(out), "not a value"), nil
		}
		// float32 rounds the float64, as encoding/json-based decoding
		// did (which differs, rarely, from parsing as float32 directly).
		v, err := n.float()
		if err != nil {
			return nil, elementProblem(len(out), "out of range"), nil
		}
		out = append(out, T(v))
	}
}

func readInts[T int32 | int64](d *decoder, pool *[]T, hint, bits int) (any, string, error) {
	out := carve(pool, hint)
	var w elementWalker
	var n number
	for {
		if more, err := w.next(&d.scanner); !more {
			return nonNil(out), "", err
		}
		if c := d.buf[d.pos]; c != '-' && !isDigit(c) {
			return nil, elementProblem(len(out), kindOf(c)), nil
		}
		if err := d.number(&n); err != nil {
			return nil, elementProblem(len(out), "not a value"), nil
		}
		v, ok := n.int(bits)
		switch {
		case !n.integer:
			return nil, elementProblem(len(out), "not an integer"), nil
		case !ok:
			return nil, elementProblem(len(out), "out of range"), nil
		}
		out = append(out, T(v))
	}
}

func readBools(d *decoder, hint int) (any, string, error) {
	out := carve(&d.bools, hint)
	var w elementWalker
	for {
		if more, err := w.next(&d.scanner); !more {
			return nonNil(out), "", err
		}
		var err error
		c := d.buf[d.pos]
		switch c {
		case 't':
			err = d.literal("true")
		case 'f':
			err = d.literal("false")
		default:
			return nil, elementProblem(len(out), kindOf(c)), nil
		}
		if err != nil {
			return nil, elementProblem(len(out), "not a value"), nil
		}
		out = append(out, c == 't')
	}
}

func readTexts(d *decoder, hint int) (any, string, error) {
	out := carve(&d.texts, hint)
	var w elementWalker
	for {
		if more, err := w.next(&d.scanner); !more {
			return nonNil(out), "", err
		}
		if c := d.buf[d.pos]; c != '"' {
			return nil, elementProblem(len(out), kindOf(c)), nil
		}
		raw, plain, err := d.str()
		if err != nil {
			return nil, elementProblem(len(out), "not a value"), nil
		}
		out = append(out, d.text(raw, plain))
	}
}

func elementProblem(i int, problem string) string {
	return fmt.Sprintf("element %d is %s", i, problem)
}

// carve returns an empty slice with room for n elements: a slice of its
// own for a large tensor, or part of pool for a small one, so that the
// many one-row tensors of a request share one allocation. The part's
// capacity ends where the next part begins.
func carve[T any](pool *[]T, n int) []T {
	const chunk = 64
	switch {
	case n == 0:
		return nil
	case n > chunk/4:
		return make([]T, 0, n)
	case cap(*pool)-len(*pool) < n:
		*pool = make([]T, 0, chunk)
	}
	p := *pool
	*pool = p[:len(p)+n]
	return p[len(p) : len(p) : len(p)+n]
}

// outputs reads the requested outputs, null for none.
func (d *decoder) outputs() ([]string, error) {
	if isNull, err := d.openArray("outputs", "an array"); isNull || err != nil {
		return nil, err
	}
	var names []string
	for first := true; ; first = false {
		more, err := d.element(first)
		if err != nil {
			return nil, err
		}
		if !more {
			return names, nil
		}
		var name string
		switch d.buf[d.pos] {
		case '{':
			name, err = d.output(len(names))
		case 'n': // as encoding/json: an output with nothing set
			err = d.literal("null")
		default:
			err = d.typeError(fmt.Sprintf("outputs[%d]", len(names)), "an object")
		}
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
}

// output reads one requested output's object and returns its name.
func (d *decoder) output(i int) (name string, err error) {
	var seen uint8
	at := func(err error) error { return fmt.Errorf("outputs[%d]: %w", i, err) }
	err = d.members(outputKeys, &seen, at, func(k string) (err error) {
		switch k {
		case "name":
			name, err = d.optString("name")
		case "parameters":
			_, err = d.parameters(false)
		default:
			err = d.skip()
		}
		return err
	})
	if err != nil {
		return "", err
	}
	return name, nil
}

// check says what makes a read tensor (of role inputs or outputs)
// unusable, "" when nothing does: no name, a bad shape, an unsupported
// datatype, data not of the datatype or not of the shape's size, in that
// order.
func (in *pendingTensor) check(role string) string {
	if in.Name == "" {
		if role == outputTensors {
			return "output has no name"
		}
		return "input has no name"
	}
	n, err := runtime.Elements(in.Shape)
	if err != nil {
		return err.Error()
	}
	switch {
	case in.Datatype == "":
		return "no datatype (" + supported + ")"
	case !supportedType(in.Datatype):
		return fmt.Sprintf("datatype %q not supported (%s)", in.Datatype, supported)
	}
	switch {
	case !in.hasData:
		return fmt.Sprintf(`data is not %s: no "data"`, in.Datatype)
	case in.dataErr != "":
		return fmt.Sprintf("data is not %s: %s", in.Datatype, in.dataErr)
	}
	if got := in.Len(); got != n {
		return fmt.Sprintf("shape %v holds %d elements but data has %d", in.Shape, n, got)
	}
	return ""
}
