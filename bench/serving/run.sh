#!/usr/bin/env bash
# bench/serving/run.sh — end-to-end HTTP inference of the fraud XGBoost
# model: slipway against a FastAPI + uvicorn peer serving the same model,
# driven by the same wrk script in the same run. See README.md.
#
# Knobs (environment): DURATION seconds per load point (15), WARMUP (3),
# LOW_DURATION for the concurrency-1 points (10), CONCURRENCY ("16 64"),
# QUIET_WAIT longest wait for a quiet machine before each point (10),
# THREADS wrk threads for the loaded points (nproc), ROWS holdout rows the
# requests cycle through (256), WORKERS uvicorn workers (nproc),
# SKIP_BUILD=1 to use bin/slipway as it is, RESULTS directory for the
# report (bench/serving/results).
set -euo pipefail
export GOTOOLCHAIN=local
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

DURATION=${DURATION:-15}
WARMUP=${WARMUP:-3}
LOW_DURATION=${LOW_DURATION:-10}
QUIET_WAIT=${QUIET_WAIT:-10}
CONCURRENCY=${CONCURRENCY:-"16 64"}
THREADS=${THREADS:-$(nproc)}
ROWS=${ROWS:-256}
WORKERS=${WORKERS:-$(nproc)}
RESULTS=${RESULTS:-$here/results}
PY=/usr/bin/python3 # Debian's python3-* packages load only in this interpreter
CSV=examples/fraud/holdout.csv
MODEL=examples/fraud/v2/model.json
SIGNATURE=examples/fraud/v2/signature.json
BIN=bin/slipway
PATH_INFER=/v2/models/fraud/infer

log() { printf '== %s\n' "$*" >&2; }
# shellcheck source=../lib.sh
source "$here/../lib.sh"

# --- dependencies -----------------------------------------------------------
need_pkgs=()
command -v wrk >/dev/null || need_pkgs+=(wrk)
"$PY" -c 'import fastapi' 2>/dev/null || need_pkgs+=(python3-fastapi)
"$PY" -c 'import uvicorn' 2>/dev/null || need_pkgs+=(python3-uvicorn)
"$PY" -c 'import xgboost' 2>/dev/null || need_pkgs+=(python3-xgboost)
if ((${#need_pkgs[@]})); then
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		log "installing ${need_pkgs[*]} (and uvloop, httptools when available)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_pkgs[@]}" >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y python3-uvloop python3-httptools >/dev/null 2>&1 || true
	else
		die "missing ${need_pkgs[*]}: apt-get install -y ${need_pkgs[*]} python3-uvloop python3-httptools"
	fi
fi
command -v curl >/dev/null || die "missing curl"

# --- processes we start, stopped on any exit --------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench.XXXXXX")
pids=()
cleanup() {
	local p i
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "run.sh: failed at line $LINENO" >&2' ERR
trap 'exit 130' INT TERM

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- build and the in-process half of the overhead ---------------------------
if [[ ${SKIP_BUILD:-} != 1 || ! -x $BIN ]]; then
	log "building slipway (make build)"
	make build >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; die "make build failed"; }
fi

log "in-process: go test -bench OneRow ./bench/serving"
go test -count=1 -run '^$' -bench 'OneRow$' -benchtime 2s ./bench/serving/ >"$tmp/gobench.txt" 2>&1 || {
	cat "$tmp/gobench.txt" >&2
	die "go benchmark failed"
}
predict_ns=$(awk '/^BenchmarkPredictOneRow/ {print $3}' "$tmp/gobench.txt")
handler_ns=$(awk '/^BenchmarkHandlerOneRow/ {print $3}' "$tmp/gobench.txt")
[[ -n $predict_ns && -n $handler_ns ]] || { cat "$tmp/gobench.txt" >&2; die "no benchmark results"; }

# --- servers -------------------------------------------------------------------
sport=$(free_port)
grpc=()
if "$BIN" server --help 2>&1 | grep -q -- '--grpc'; then grpc=(--grpc 127.0.0.1:0); fi
log "starting slipway on 127.0.0.1:$sport"
"$BIN" server --data "$tmp/data" --http "127.0.0.1:$sport" "${grpc[@]}" >"$tmp/slipway.log" 2>&1 &
spid=$!
pids+=("$spid")
surl=http://127.0.0.1:$sport
wait_ready slipway "$surl" "$spid" "$tmp/slipway.log"
export SLIPWAY_ACTOR=bench
"$BIN" --server "$surl" model push fraud "$MODEL" --version 2.0.0 --signature "$SIGNATURE" >/dev/null
"$BIN" --server "$surl" model alias fraud production 2.0.0 --reason "serving benchmark" >/dev/null

pport=$(free_port)
loop=auto http=auto
"$PY" -c 'import uvloop' 2>/dev/null && loop=uvloop
"$PY" -c 'import httptools' 2>/dev/null && http=httptools
log "starting the FastAPI peer on 127.0.0.1:$pport ($WORKERS workers, loop $loop, http $http)"
PEER_MODEL=$MODEL PEER_NAME=fraud PEER_VERSION=2.0.0 \
	"$PY" -m uvicorn --app-dir "$here" peer:app --host 127.0.0.1 --port "$pport" \
	--workers "$WORKERS" --no-access-log --loop "$loop" --http "$http" >"$tmp/peer.log" 2>&1 &
ppid=$!
pids+=("$ppid")
purl=http://127.0.0.1:$pport
wait_ready peer "$purl" "$ppid" "$tmp/peer.log"

log "checking both answer alike"
"$PY" "$here/check.py" "$CSV" 200 "$surl" "$purl" >&2

# --- load ---------------------------------------------------------------------
declare -A R # R[server,concurrency,field]

# point SERVER URL PID CONCURRENCY THREADS SECONDS ROWS: one wrk run.
point() {
	local name=$1 url=$2 pid=$3 c=$4 t=$5 d=$6 rows=$7 out="$tmp/wrk-$1-$4.txt" c0 c1 b0 b1 line kv
	wait_quiet
	c0=$(cpu_ticks "$pid")
	b0=$(busy_ticks)
	{
		TIMEFORMAT='%U %S'
		time BENCH_CSV=$CSV BENCH_ROWS=$rows BENCH_PATH=$PATH_INFER \
			wrk -t"$t" -c"$c" -d"${d}s" --timeout 10s -s "$here/infer.lua" "$url" >"$out"
	} 2>"$out.time"
	c1=$(cpu_ticks "$pid")
	b1=$(busy_ticks)
	line=$(grep '^RESULT ' "$out") || { cat "$out" >&2; die "wrk printed no result for $name at concurrency $c"; }
	for kv in ${line#RESULT }; do R[$name,$c,${kv%%=*}]=${kv#*=}; done
	R[$name,$c,server_cpu]=$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v s="${R[$name,$c,seconds]}" 'BEGIN {printf "%.2f", t / hz / s}')
	R[$name,$c,cpu_per_req]=$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v n="${R[$name,$c,requests]}" 'BEGIN {printf "%.0f", t / hz / n * 1e6}')
	R[$name,$c,wrk_cpu]=$(awk -v s="${R[$name,$c,seconds]}" '{printf "%.2f", ($1 + $2) / s}' "$out.time")
	# Whatever else ran meanwhile (other builds and tests on a shared machine).
	R[$name,$c,other_cpu]=$(awk -v b=$((b1 - b0 - c1 + c0)) -v hz="$HZ" -v s="${R[$name,$c,seconds]}" -v w="${R[$name,$c,wrk_cpu]}" \
		'BEGIN {o = b / hz / s - w; printf "%.2f", o < 0 ? 0 : o}')
	R[$name,$c,errors]=$((${R[$name,$c,err_connect]} + ${R[$name,$c,err_read]} + ${R[$name,$c,err_write]} + ${R[$name,$c,err_status]} + ${R[$name,$c,err_timeout]}))
	log "$(printf '%-8s c=%-3s %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms  errors %s  cores: server %s wrk %s other %s' "$name" "$c" \
		"${R[$name,$c,rps]}" "$(ms "${R[$name,$c,p50_us]}")" "$(ms "${R[$name,$c,p99_us]}")" "${R[$name,$c,errors]}" \
		"${R[$name,$c,server_cpu]}" "${R[$name,$c,wrk_cpu]}" "${R[$name,$c,other_cpu]}")"
}

log "warming up ($WARMUP s each)"
for s in slipway peer; do
	[[ $s == slipway ]] && url=$surl || url=$purl
	BENCH_CSV=$CSV BENCH_ROWS=$ROWS wrk -t"$THREADS" -c16 -d"${WARMUP}s" -s "$here/infer.lua" "$url" >/dev/null
done

log "concurrency 1, first holdout row, $LOW_DURATION s each"
point slipway "$surl" "$spid" 1 1 "$LOW_DURATION" 1
point peer "$purl" "$ppid" 1 1 "$LOW_DURATION" 1
for c in $CONCURRENCY; do
	log "concurrency $c, $ROWS rows, $DURATION s each, $THREADS wrk threads"
	point slipway "$surl" "$spid" "$c" "$THREADS" "$DURATION" "$ROWS"
	point peer "$purl" "$ppid" "$c" "$THREADS" "$DURATION" "$ROWS"
done

# --- report --------------------------------------------------------------------

slipway_version=$("$BIN" version 2>/dev/null | head -1 | awk '{print $NF}')
py_versions=$("$PY" - <<'EOF'
import importlib, sys
out = ["python " + sys.version.split()[0]]
for m in ("xgboost", "numpy", "fastapi", "pydantic", "uvicorn", "uvloop", "httptools"):
    try:
        out.append(m + " " + getattr(importlib.import_module(m), "__version__", getattr(importlib.import_module(m), "VERSION", "?")))
    except ImportError:
        out.append(m + " (absent)")
print(", ".join(out))
EOF
)
wrk_version=$({ wrk -v 2>&1 || true; } | head -1 | awk '{print $2}')
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
date=$(date -u +%Y-%m-%d)
overhead_us=$(awk -v e="${R[slipway,1,p50_us]}" -v p="$predict_ns" 'BEGIN {printf "%.1f", e - p / 1000}')
mkdir -p "$RESULTS"
report=$RESULTS/$date.md

{
	echo "# Serving benchmark, $date"
	echo
	echo "Fraud XGBoost model (examples/fraud/v2, 60 trees), one holdout row per request"
	echo "(OIP v2 JSON, one FP32 tensor per feature; $ROWS rows cycled, missing values as null),"
	echo "POST $PATH_INFER on 127.0.0.1, closed loop: wrk $wrk_version with bench/serving/infer.lua,"
	echo "$THREADS threads, ${DURATION} s per point after a ${WARMUP} s warm-up; concurrency 1 sends the first"
	echo "holdout row for ${LOW_DURATION} s. Latency percentiles are wrk's, to the microsecond."
	echo
	echo "- machine: $(nproc) cores ($cpu), $(uname -sr); the load generator runs on the same"
	echo "  cores as the server, so both compete for CPU. The CPU columns are cores used during the"
	echo "  point (user + system time / duration) by the server (all uvicorn workers for the peer), by wrk,"
	echo "  and by other processes on the machine (noise: anything above ~0.1 disturbed the point);"
	echo "  kernel network work in softirq is in none of them. Server CPU/req is the server's CPU time"
	echo "  per answered request. Each point waited (up to ${QUIET_WAIT} s) for the machine to be quiet first"
	echo "- slipway $slipway_version, $(go version | awk '{print $3}'), GOMAXPROCS default, embedded storage"
	echo "- peer: bench/serving/peer.py, FastAPI + uvicorn, $WORKERS workers, --loop $loop --http $http,"
	echo "  no access log, xgboost.Booster.predict on a one-row DMatrix (nthread=1, OMP_NUM_THREADS=1)"
	echo "- $py_versions (Debian packages, /usr/bin/python3)"
	echo "- both servers checked first to return identical float32 scores for 200 holdout rows"
	echo
	echo "| server | concurrency | req/s | p50 | p99 | p99.9 | errors | server CPU | server CPU/req | wrk CPU | other CPU |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for c in 1 $CONCURRENCY; do
		for s in slipway peer; do
			printf '| %s | %s | %.0f | %s ms | %s ms | %s ms | %s | %s | %s µs | %s | %s |\n' "$s" "$c" "${R[$s,$c,rps]}" \
				"$(ms "${R[$s,$c,p50_us]}")" "$(ms "${R[$s,$c,p99_us]}")" "$(ms "${R[$s,$c,p999_us]}")" \
				"${R[$s,$c,errors]}" "${R[$s,$c,server_cpu]}" "${R[$s,$c,cpu_per_req]}" "${R[$s,$c,wrk_cpu]}" "${R[$s,$c,other_cpu]}"
		done
	done
	echo
	echo "## Against the targets"
	echo
	echo "| concurrency | slipway / peer throughput (target ≥ 10) | slipway / peer p99 (target ≤ 0.20) |"
	echo "| ---: | ---: | ---: |"
	for c in $CONCURRENCY; do
		tr=$(ratio "${R[slipway,$c,rps]}" "${R[peer,$c,rps]}")
		lr=$(ratio "${R[slipway,$c,p99_us]}" "${R[peer,$c,p99_us]}")
		echo "| $c | ${tr}× ($(verdict "$tr" ">=" 10)) | ${lr} ($(verdict "$lr" "<=" 0.2)) |"
	done
	echo
	echo "Serving overhead (target ≤ 100 µs): slipway's end-to-end p50 at concurrency 1,"
	echo "${R[slipway,1,p50_us]} µs, minus in-process Predict of the same row, $(awk -v n="$predict_ns" 'BEGIN {printf "%.2f", n / 1000}') µs ="
	echo "**${overhead_us} µs ($(verdict "$overhead_us" "<=" 100))**. Of that, the inference handler without a network"
	echo "(decode, gateway, predict, encode; BenchmarkHandlerOneRow) takes $(awk -v n="$handler_ns" 'BEGIN {printf "%.1f", n / 1000}') µs; the rest is"
	echo "net/http, the Go scheduler waking the connection's goroutine, loopback TCP and wrk's own"
	echo "request handling (wrk's CPU per request at concurrency 1: $(awk -v w="${R[slipway,1,wrk_cpu]}" -v r="${R[slipway,1,rps]}" 'BEGIN {printf "%.0f", w / r * 1e6}') µs)."
	echo "In-process figures are Go benchmark means:"
	echo
	echo '```'
	grep -E '^(Benchmark|cpu:)' "$tmp/gobench.txt"
	echo '```'
} >"$report"

echo
cat "$report"
echo
log "written to ${report#"$root"/}"
