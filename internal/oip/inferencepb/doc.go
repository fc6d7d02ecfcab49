// Package inferencepb holds the Go messages, client and server interfaces
// of the Open Inference Protocol's gRPC service (inference.GRPCInferenceService),
// generated from proto/inference/grpc_predict_v2.proto by proto/generate.sh.
// Only doc.go and wire_test.go are written by hand.
package inferencepb
