package modelfile

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of onnx.ModelProto and onnx.GraphProto (onnx/onnx.proto)
// that a loadable model must carry.
const (
	onnxIRVersion   = 1
	onnxGraph       = 7
	onnxOpsetImport = 8
	onnxGraphNode   = 1
	onnxGraphOutput = 12
)

// looksLikeProtobuf: ONNX files start with ir_version, field 1 as a varint,
// so the first byte is the tag 0x08.
func looksLikeProtobuf(data []byte) bool { return len(data) > 0 && data[0] == 0x08 }

// checkONNX walks the protobuf wire format of an ONNX ModelProto without a
// schema: every field must decode, and the fields without which no runtime
// can load the model (ir_version, graph with nodes and outputs, opset
// imports) must be present. A truncated file fails the walk or misses a
// field written after the cut.
func checkONNX(data []byte) error {
	seen, err := walkFields(data, func(num protowire.Number, typ protowire.Type, body []byte) error {
		if num == onnxGraph && typ == protowire.BytesType {
			return checkONNXGraph(body)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, f := range []struct {
		num  protowire.Number
		name string
	}{{onnxIRVersion, "ir_version"}, {onnxGraph, "graph"}, {onnxOpsetImport, "opset_import"}} {
		if !seen[f.num] {
			return fmt.Errorf("no %s field", f.name)
		}
	}
	return nil
}

func checkONNXGraph(data []byte) error {
	seen, err := walkFields(data, nil)
	if err != nil {
		return fmt.Errorf("graph: %w", err)
	}
	if !seen[onnxGraphNode] {
		return errors.New("graph has no nodes")
	}
	if !seen[onnxGraphOutput] {
		return errors.New("graph has no outputs")
	}
	return nil
}

// walkFields decodes every top-level field of a message, calling visit on
// each length-delimited one, and returns the set of field numbers seen.
func walkFields(data []byte, visit func(protowire.Number, protowire.Type, []byte) error) (map[protowire.Number]bool, error) {
	seen := map[protowire.Number]bool{}
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return nil, fmt.Errorf("bad field tag: %w", protowire.ParseError(n))
		}
		data = data[n:]
		var body []byte
		if typ == protowire.BytesType {
			b, m := protowire.ConsumeBytes(data)
			if m < 0 {
				return nil, fmt.Errorf("field %d: %w", num, protowire.ParseError(m))
			}
			body, n = b, m
		} else {
			n = protowire.ConsumeFieldValue(num, typ, data)
			if n < 0 {
				return nil, fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
			}
		}
		data = data[n:]
		seen[num] = true
		if visit != nil && body != nil {
			if err := visit(num, typ, body); err != nil {
				return nil, err
			}
		}
	}
	return seen, nil
}
