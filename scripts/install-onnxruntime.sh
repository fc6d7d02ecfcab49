#!/usr/bin/env bash
# Install the ONNX Runtime CPU shared library that internal/runtime/onnx
# loads, at .cache/onnxruntime/libonnxruntime.so in this repository.
#
# The library comes from the npm registry: the package onnxruntime-node
# ships it prebuilt. `npm pack` only downloads the package's tarball (it
# installs nothing and runs none of the package's scripts); the library is
# then taken out with tar and checked against a pinned SHA-256.
#
# Idempotent: when the library is already in place with the pinned digest,
# nothing is downloaded. Prints the library's path on stdout; progress goes
# to stderr, so `lib=$(scripts/install-onnxruntime.sh)` works.
#
# The .so is about 45 MB and lives under .cache/, which git ignores: never
# commit it.
set -euo pipefail

ORT_VERSION=1.30.0
PACKAGE="onnxruntime-node@${ORT_VERSION}"
MEMBER="package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
SHA256=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest_dir="$repo/.cache/onnxruntime"
dest="$dest_dir/libonnxruntime.so"

say() { echo "install-onnxruntime: $*" >&2; }
die() { say "$*"; exit 1; }

digest_ok() { [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$SHA256" ]; }

if [ -f "$dest" ] && digest_ok "$dest"; then
  say "ONNX Runtime $ORT_VERSION already installed"
  echo "$dest"
  exit 0
fi
if [ -e "$dest" ]; then
  say "$dest has an unexpected digest; replacing it"
fi

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) ;;
  *) die "only linux/x86_64 is supported (this is $(uname -s)/$(uname -m)); build ONNX Runtime $ORT_VERSION yourself and set SLIPWAY_ONNXRUNTIME_LIB to its libonnxruntime.so" ;;
esac
command -v npm >/dev/null 2>&1 ||
  die "npm is not installed; it fetches $PACKAGE from the npm registry (on Debian: apt-get install npm)"
command -v tar >/dev/null 2>&1 || die "tar is not installed"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say "fetching $PACKAGE (about 110 MB) with npm pack"
(cd "$tmp" && npm pack "$PACKAGE" --ignore-scripts --loglevel=error >/dev/null) ||
  die "npm pack $PACKAGE failed (is the npm registry reachable?)"
tarball=$(ls "$tmp"/onnxruntime-node-*.tgz 2>/dev/null | head -1)
[ -n "$tarball" ] || die "npm pack produced no tarball"

tar -xzf "$tarball" -C "$tmp" "$MEMBER" ||
  die "$MEMBER is not in $(basename "$tarball"); the package layout changed"
digest_ok "$tmp/$MEMBER" ||
  die "$MEMBER has SHA-256 $(sha256sum "$tmp/$MEMBER" | cut -d' ' -f1), want $SHA256"

mkdir -p "$dest_dir"
# Copy beside the destination, then rename: a reader never sees half a file.
cp "$tmp/$MEMBER" "$dest.tmp.$$"
chmod 0644 "$dest.tmp.$$"
mv -f "$dest.tmp.$$" "$dest"
say "installed ONNX Runtime $ORT_VERSION"
echo "$dest"
