# slipway — the two set-up commands are `make demo` (the main job) and
# `make test` (every test). Both work on a fresh machine.
export GOTOOLCHAIN := local
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN     := bin/slipway

.PHONY: build deps demo test vet examples proto clean

# The ONNX Runtime CPU library, from the npm package onnxruntime-node,
# into .cache/onnxruntime (never committed).
deps:
	$(GO) mod download
	scripts/install-onnxruntime.sh >/dev/null

build: deps
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/slipway

# The main job: start slipway on embedded storage and run the demo.
demo: build
	./$(BIN) demo

vet:
	$(GO) vet ./...

# Every test, including the PostgreSQL store suite (needs PostgreSQL on
# 127.0.0.1:5432; .ci/run starts it when it is down).
test: deps vet
	$(GO) test -race -count=1 ./...
	# internal/h1's raw socket I/O is off under the race detector (see
	# newSysConn): the tests of the hot path run once more without it.
	$(GO) test -count=1 ./internal/h1 ./internal/runtime/remote ./internal/serving

# Retrain the example models with Debian's Python packages (installs them
# when missing).
examples:
	examples/train.sh

# Regenerate the Open Inference Protocol gRPC stubs (committed).
proto:
	proto/generate.sh

clean:
	rm -rf bin
