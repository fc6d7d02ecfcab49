#!/usr/bin/env bash
# Retrain slipway's example models and regenerate their committed artifacts.
#
#   examples/train.sh            retrain every example in place (examples/fraud, examples/digits)
#   examples/train.sh fraud      retrain one example
#   examples/train.sh --check    retrain into a temporary directory and compare with the
#                                committed artifacts byte for byte (exit 1 on any difference)
#
# Runnable from any directory. Uses Debian's /usr/bin/python3 (Debian's python3-* packages load
# only there) and installs the packages with apt-get when they are missing.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=/usr/bin/python3
ALL=(fraud digits)
PKGS=(python3-numpy python3-sklearn python3-xgboost python3-torch python3-onnx python3-scipy)

check=0
examples=()
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    fraud|digits) examples+=("$arg") ;;
    *) echo "train.sh: unknown argument: $arg (want fraud, digits or --check)" >&2; exit 2 ;;
  esac
done
[ ${#examples[@]} -gt 0 ] || examples=("${ALL[@]}")

have_pkgs() {
  [ -x "$PY" ] && "$PY" -c 'import numpy, scipy, sklearn, xgboost, torch, onnx' >/dev/null 2>&1
}

if ! have_pkgs; then
  echo "train.sh: installing ${PKGS[*]} with apt-get" >&2
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${PKGS[@]}"; then
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y --no-install-recommends "${PKGS[@]}"
  fi
  have_pkgs || { echo "train.sh: $PY still cannot import numpy, scipy, sklearn, xgboost, torch, onnx" >&2; exit 1; }
fi

# The committed artifacts were made with Debian 12's packages; other versions train fine
# but will not reproduce the files byte for byte.
"$PY" - <<'EOF' >&2
import xgboost, torch, onnx, sklearn, numpy
want = {"xgboost": "1.7.4", "torch": "1.13.0a0", "onnx": "1.12.0", "sklearn": "1.2.1", "numpy": "1.24.2"}
have = {"xgboost": xgboost.__version__, "torch": torch.__version__, "onnx": onnx.__version__,
        "sklearn": sklearn.__version__, "numpy": numpy.__version__}
diff = {k: have[k] for k in want if not have[k].startswith(want[k])}
if diff:
    print("train.sh: warning: versions differ from the ones the committed artifacts were made with "
          f"{want}: {diff}; expect different bytes")
EOF

export PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

if [ "$check" -eq 0 ]; then
  for ex in "${examples[@]}"; do
    echo "== $ex" >&2
    "$PY" "$HERE/$ex/train.py" --out "$HERE/$ex"
    if [ -f "$HERE/$ex/verify.py" ]; then "$PY" "$HERE/$ex/verify.py" "$HERE/$ex"; fi
  done
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status=0
for ex in "${examples[@]}"; do
  echo "== $ex (check)" >&2
  "$PY" "$HERE/$ex/train.py" --out "$tmp/$ex"
  if [ -f "$HERE/$ex/verify.py" ]; then "$PY" "$HERE/$ex/verify.py" "$tmp/$ex"; fi
  # Compare every artifact the script produced with the committed one.
  while IFS= read -r -d '' f; do
    rel="${f#"$tmp/$ex/"}"
    if ! cmp -s "$f" "$HERE/$ex/$rel"; then
      echo "train.sh: DIFFERS: examples/$ex/$rel" >&2
      status=1
    fi
  done < <(find "$tmp/$ex" -type f -print0 | sort -z)
done
if [ "$status" -eq 0 ]; then
  echo "train.sh: all artifacts reproduce byte for byte" >&2
fi
exit "$status"
