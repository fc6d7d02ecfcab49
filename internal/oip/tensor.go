// Package oip converts slipway's tensors and parameters to and from the
// Open Inference Protocol's wire forms: its gRPC messages (package
// inferencepb: typed contents, raw contents and request parameters) and its
// JSON bodies (jsoncodec.go). The gateway (serving, serving/oipgrpc) and the
// remote runtime's clients (runtime/remote) both use it, so the two ends
// read and write the same bytes.
//
// Raw contents are the elements in row-major order, little-endian, with no
// padding: 4 bytes per FP32 or INT32, 8 per FP64 or INT64, 1 per BOOL
// (0 or 1), and for BYTES each element as a 4-byte little-endian length
// followed by that many bytes.
package oip

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/slipway-ml/slipway/internal/oip/inferencepb"
	"github.com/slipway-ml/slipway/internal/runtime"
)

const supported = "want FP32, FP64, INT32, INT64, BOOL or BYTES"

func inputErr(name, format string, args ...any) error {
	return &runtime.InputError{Tensor: name, Msg: fmt.Sprintf(format, args...)}
}

// checkCount reports a tensor whose shape and element count disagree.
func checkCount(name string, shape []int64, got int, what string) error {
	n, err := runtime.Elements(shape)
	if err != nil {
		return inputErr(name, "%v", err)
	}
	if n != got {
		return inputErr(name, "shape %v holds %d elements but %s %d", shape, n, what, got)
	}
	return nil
}

// DecodeContents builds a tensor from typed contents. The elements must
// be in the one field that matches datatype, and their number must match
// shape. A nil c is an empty tensor. Errors are *runtime.InputError.
// The tensor shares memory with c.
func DecodeContents(name, datatype string, shape []int64, c *inferencepb.InferTensorContents) (runtime.Tensor, error) {
	t := runtime.Tensor{Name: name, Datatype: datatype, Shape: shape}
	if c == nil {
		c = &inferencepb.InferTensorContents{}
	}
	var field string
	switch datatype {
	case runtime.FP32:
		t.Data, field = nonNil(c.Fp32Contents), "fp32_contents"
	case runtime.FP64:
		t.Data, field = nonNil(c.Fp64Contents), "fp64_contents"
	case runtime.INT32:
		t.Data, field = nonNil(c.IntContents), "int_contents"
	case runtime.INT64:
		t.Data, field = nonNil(c.Int64Contents), "int64_contents"
	case runtime.BOOL:
		t.Data, field = nonNil(c.BoolContents), "bool_contents"
	case runtime.BYTES:
		s := make([]string, len(c.BytesContents))
		for i, b := range c.BytesContents {
			s[i] = string(b)
		}
		t.Data, field = s, "bytes_contents"
	default:
		return t, unsupportedType(name, datatype)
	}
	if others := setFields(c, field); others != "" {
		return t, inputErr(name, "datatype %s carries its elements in %s, but %s is set", datatype, field, others)
	}
	return t, checkCount(name, shape, t.Len(), "contents have")
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func unsupportedType(name, datatype string) error {
	if datatype == "" {
		return inputErr(name, "no datatype (%s)", supported)
	}
	return inputErr(name, "datatype %q not supported (%s)", datatype, supported)
}

// setFields lists the non-empty fields of c other than except.
func setFields(c *inferencepb.InferTensorContents, except string) string {
	fields := []struct {
		name string
		n    int
	}{
		{"bool_contents", len(c.BoolContents)},
		{"int_contents", len(c.IntContents)},
		{"int64_contents", len(c.Int64Contents)},
		{"uint_contents", len(c.UintContents)},
		{"uint64_contents", len(c.Uint64Contents)},
		{"fp32_contents", len(c.Fp32Contents)},
		{"fp64_contents", len(c.Fp64Contents)},
		{"bytes_contents", len(c.BytesContents)},
	}
	var set []string
	for _, f := range fields {
		if f.n > 0 && f.name != except {
			set = append(set, f.name)
		}
	}
	return strings.Join(set, ", ")
}

// HasContents reports whether c holds any element.
func HasContents(c *inferencepb.InferTensorContents) bool {
	return c != nil && setFields(c, "") != ""
}

// elemSize is the raw size of one element of a fixed-size datatype.
func elemSize(datatype string) int {
	switch datatype {
	case runtime.FP32, runtime.INT32:
		return 4
	case runtime.FP64, runtime.INT64:
		return 8
	case runtime.BOOL:
		return 1
	}
	return 0
}

// DecodeRaw builds a tensor from raw contents (see the package comment).
// The number of elements must match shape. Errors are
// *runtime.InputError. The tensor does not share memory with raw.
func DecodeRaw(name, datatype string, shape []int64, raw []byte) (runtime.Tensor, error) {
	t := runtime.Tensor{Name: name, Datatype: datatype, Shape: shape}
	if datatype == runtime.BYTES {
		s, err := decodeRawBytes(raw)
		if err != nil {
			return t, inputErr(name, "raw BYTES contents: %v", err)
		}
		t.Data = s
		return t, checkCount(name, shape, len(s), "raw contents have")
	}
	size := elemSize(datatype)
	if size == 0 {
		return t, unsupportedType(name, datatype)
	}
	if len(raw)%size != 0 {
		return t, inputErr(name, "raw contents of %d bytes are not a whole number of %d-byte %s elements", len(raw), size, datatype)
	}
	n := len(raw) / size
	if err := checkCount(name, shape, n, "raw contents have"); err != nil {
		return t, err
	}
	le := binary.LittleEndian
	switch datatype {
	case runtime.FP32:
		d := make([]float32, n)
		for i := range d {
			d[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
		t.Data = d
	case runtime.FP64:
		d := make([]float64, n)
		for i := range d {
			d[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
		t.Data = d
	case runtime.INT32:
		d := make([]int32, n)
		for i := range d {
			d[i] = int32(le.Uint32(raw[4*i:]))
		}
		t.Data = d
	case runtime.INT64:
		d := make([]int64, n)
		for i := range d {
			d[i] = int64(le.Uint64(raw[8*i:]))
		}
		t.Data = d
	case runtime.BOOL:
		d := make([]bool, n)
		for i, b := range raw {
			d[i] = b != 0
		}
		t.Data = d
	}
	return t, nil
}

func decodeRawBytes(raw []byte) ([]string, error) {
	var out []string
	for off := 0; off < len(raw); {
		if len(raw)-off < 4 {
			return nil, fmt.Errorf("element %d: %d bytes left, too few for a 4-byte length", len(out), len(raw)-off)
		}
		n := binary.LittleEndian.Uint32(raw[off:])
		off += 4
		if uint64(n) > uint64(len(raw)-off) {
			return nil, fmt.Errorf("element %d: length %d but %d bytes left", len(out), n, len(raw)-off)
		}
		out = append(out, string(raw[off:off+int(n)]))
		off += int(n)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// dataErr reports a tensor whose Data does not match its Datatype: a
// predictor's bug, not the client's.
func dataErr(t runtime.Tensor) error {
	return fmt.Errorf("tensor %q: datatype %s but data is %T", t.Name, t.Datatype, t.Data)
}

// EncodeContents puts a tensor's elements in typed contents. It fails
// only when Data does not match Datatype. The contents share memory with
// t.Data, except for BYTES.
func EncodeContents(t runtime.Tensor) (*inferencepb.InferTensorContents, error) {
	c := &inferencepb.InferTensorContents{}
	ok := false
	switch d := t.Data.(type) {
	case []float32:
		c.Fp32Contents, ok = d, t.Datatype == runtime.FP32
	case []float64:
		c.Fp64Contents, ok = d, t.Datatype == runtime.FP64
	case []int32:
		c.IntContents, ok = d, t.Datatype == runtime.INT32
	case []int64:
		c.Int64Contents, ok = d, t.Datatype == runtime.INT64
	case []bool:
		c.BoolContents, ok = d, t.Datatype == runtime.BOOL
	case []string:
		c.BytesContents = make([][]byte, len(d))
		for i, s := range d {
			c.BytesContents[i] = []byte(s)
		}
		ok = t.Datatype == runtime.BYTES
	}
	if !ok {
		return nil, dataErr(t)
	}
	return c, nil
}

// AppendRaw appends a tensor's raw contents (see the package comment) to
// dst. It fails only when Data does not match Datatype.
func AppendRaw(dst []byte, t runtime.Tensor) ([]byte, error) {
	le := binary.LittleEndian
	ok := false
	switch d := t.Data.(type) {
	case []float32:
		for _, v := range d {
			dst = le.AppendUint32(dst, math.Float32bits(v))
		}
		ok = t.Datatype == runtime.FP32
	case []float64:
		for _, v := range d {
			dst = le.AppendUint64(dst, math.Float64bits(v))
		}
		ok = t.Datatype == runtime.FP64
	case []int32:
		for _, v := range d {
			dst = le.AppendUint32(dst, uint32(v))
		}
		ok = t.Datatype == runtime.INT32
	case []int64:
		for _, v := range d {
			dst = le.AppendUint64(dst, uint64(v))
		}
		ok = t.Datatype == runtime.INT64
	case []bool:
		for _, v := range d {
			b := byte(0)
			if v {
				b = 1
			}
			dst = append(dst, b)
		}
		ok = t.Datatype == runtime.BOOL
	case []string:
		for _, s := range d {
			dst = le.AppendUint32(dst, uint32(len(s)))
			dst = append(dst, s...)
		}
		ok = t.Datatype == runtime.BYTES
	}
	if !ok {
		return nil, dataErr(t)
	}
	return dst, nil
}
