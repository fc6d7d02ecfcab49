package inferencepb

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// TestWireNumbers pins every field number and the service's method names
// to the Open Inference Protocol specification
// (open-inference-protocol specification/protocol/open_inference_grpc.proto
// and KServe docs/predict-api/v2/grpc_predict_v2.proto). Clients of KServe
// and Triton depend on them; a renumbered field would decode as garbage
// without any error.
func TestWireNumbers(t *testing.T) {
	want := map[string]map[string]protoreflect.FieldNumber{
		"inference.ServerLiveResponse":     {"live": 1},
		"inference.ServerReadyResponse":    {"ready": 1},
		"inference.ModelReadyRequest":      {"name": 1, "version": 2},
		"inference.ModelReadyResponse":     {"ready": 1},
		"inference.ServerMetadataResponse": {"name": 1, "version": 2, "extensions": 3},
		"inference.ModelMetadataRequest":   {"name": 1, "version": 2},
		"inference.ModelMetadataResponse": {
			"name": 1, "versions": 2, "platform": 3, "inputs": 4, "outputs": 5, "properties": 6,
		},
		"inference.ModelMetadataResponse.TensorMetadata": {"name": 1, "datatype": 2, "shape": 3},
		"inference.ModelInferRequest": {
			"model_name": 1, "model_version": 2, "id": 3, "parameters": 4,
			"inputs": 5, "outputs": 6, "raw_input_contents": 7,
		},
		"inference.ModelInferRequest.InferInputTensor": {
			"name": 1, "datatype": 2, "shape": 3, "parameters": 4, "contents": 5,
		},
		"inference.ModelInferRequest.InferRequestedOutputTensor": {"name": 1, "parameters": 2},
		"inference.ModelInferResponse": {
			"model_name": 1, "model_version": 2, "id": 3, "parameters": 4,
			"outputs": 5, "raw_output_contents": 6,
		},
		"inference.ModelInferResponse.InferOutputTensor": {
			"name": 1, "datatype": 2, "shape": 3, "parameters": 4, "contents": 5,
		},
		"inference.InferParameter": {
			"bool_param": 1, "int64_param": 2, "string_param": 3, "double_param": 4, "uint64_param": 5,
		},
		"inference.InferTensorContents": {
			"bool_contents": 1, "int_contents": 2, "int64_contents": 3, "uint_contents": 4,
			"uint64_contents": 5, "fp32_contents": 6, "fp64_contents": 7, "bytes_contents": 8,
		},
	}
	for msg, fields := range want {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(msg))
		if err != nil {
			t.Errorf("message %s: %v", msg, err)
			continue
		}
		md := d.(protoreflect.MessageDescriptor)
		if got := md.Fields().Len(); got != len(fields) {
			t.Errorf("%s has %d fields, want %d", msg, got, len(fields))
		}
		for name, num := range fields {
			f := md.Fields().ByName(protoreflect.Name(name))
			if f == nil {
				t.Errorf("%s.%s missing", msg, name)
				continue
			}
			if f.Number() != num {
				t.Errorf("%s.%s = %d, want %d", msg, name, f.Number(), num)
			}
		}
	}

	methods := []string{"ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata", "ModelInfer"}
	sd := File_inference_grpc_predict_v2_proto.Services().ByName("GRPCInferenceService")
	if sd == nil || sd.FullName() != "inference.GRPCInferenceService" {
		t.Fatalf("service inference.GRPCInferenceService missing")
	}
	if sd.Methods().Len() != len(methods) {
		t.Errorf("service has %d methods, want %d", sd.Methods().Len(), len(methods))
	}
	for _, m := range methods {
		if sd.Methods().ByName(protoreflect.Name(m)) == nil {
			t.Errorf("method %s missing", m)
		}
	}
}
