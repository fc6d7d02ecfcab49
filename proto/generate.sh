#!/bin/sh
# Regenerates internal/oip/inferencepb from proto/inference with buf and
# local protoc plugins, installing the pinned versions first (no protoc
# needed). The generated code is committed; run this after editing a
# .proto file. The first run builds buf, which takes a few minutes.
set -eu

BUF_VERSION=v1.75.0
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

export GOTOOLCHAIN=local
cd "$(dirname "$0")"
proto_dir=$(pwd)
repo=$(cd .. && pwd)

# The tools live under bin/ (ignored by git), away from whatever other
# versions may be on PATH.
tools="$repo/bin/proto-tools"
mkdir -p "$tools"
export GOBIN="$tools"
export PATH="$tools:$PATH"

# install PKG VERSION BINARY PRINTED installs PKG@VERSION unless BINARY
# already prints PRINTED for --version.
install() {
	if [ -x "$tools/$3" ] && [ "$("$tools/$3" --version 2>/dev/null)" = "$4" ]; then
		return
	fi
	echo "installing $1@$2" >&2
	go install "$1@$2"
}
install github.com/bufbuild/buf/cmd/buf "$BUF_VERSION" buf "${BUF_VERSION#v}"
install google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION" protoc-gen-go "protoc-gen-go $PROTOC_GEN_GO_VERSION"
install google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION" protoc-gen-go-grpc "protoc-gen-go-grpc ${PROTOC_GEN_GO_GRPC_VERSION#v}"

buf lint
rm -f "$repo"/internal/oip/inferencepb/*.pb.go
buf generate
echo "generated $(cd "$repo" && ls internal/oip/inferencepb/*.pb.go | tr '\n' ' ')" >&2
