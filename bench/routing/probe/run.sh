#!/usr/bin/env bash
# bench/routing/probe/run.sh: what a router's I/O costs per request on this
# machine. Four routers forward the same requests to the same backend
# (bench/routing/backend, no delay), one at a time, under the same wrk load:
#   nginx    proxy_pass with upstream keep-alive (worker_processes auto)
#   epoll    Go on raw epoll event loops, bytes copied (probe/epoll)
#   netpoll  Go on the network poller: internal/h1 in and out, bytes copied (probe/netpoll)
#   slipway  slipway routing 100 % to the backend as a remote version
# and the router's CPU time per answered request is read from /proc.
#
# Knobs: DURATION (8 s per point), WARMUP (2 s), CONCURRENCY ("16 64"),
# ROUNDS (2: each round runs the routers in turn, the order reversed every
# other round), SKIP_BUILD=1 (use bin/slipway as it is), RESULTS (report
# directory, bench/routing/results). Loopback only; everything started is
# stopped on exit.
set -euo pipefail
export GOTOOLCHAIN=local LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cd "$root"
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
CONCURRENCY=${CONCURRENCY:-16 64}
ROUNDS=${ROUNDS:-2}
RESULTS=${RESULTS:-$root/bench/routing/results}
BIN=$root/bin/slipway
log() { printf '== %3ds %s\n' "$SECONDS" "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in wrk nginx curl python3; do command -v $tool >/dev/null || die "missing $tool (bench/routing/run.sh installs wrk and nginx)"; done
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[[ -f $tmp/nginx.pid ]] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

read -r pb pn pe pp ps <<<"$(python3 -c '
import socket
ss = [socket.socket() for _ in range(5)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')"

log "building"
[[ ${SKIP_BUILD:-} == 1 ]] || make build >/dev/null
go build -o "$tmp/backend" ./bench/routing/backend
go build -o "$tmp/epoll" ./bench/routing/probe/epoll
go build -o "$tmp/netpoll" ./bench/routing/probe/netpoll

# up NAME URL: waits until URL answers.
up() {
	for _ in $(seq 1 100); do curl -sf -o /dev/null "$2" && return 0; sleep 0.1; done
	die "$1 did not come up"
}
"$tmp/backend" -addr "127.0.0.1:$pb" -version a >"$tmp/backend.log" 2>&1 &
pids+=($!)
up backend "http://127.0.0.1:$pb/v2/health/ready"

mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx.conf" <<EOF
worker_processes auto;
pid $tmp/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 1000000;
	client_body_buffer_size 64k;
	upstream a { server 127.0.0.1:$pb; keepalive 64; }
	server {
		listen 127.0.0.1:$pn;
		location / { proxy_pass http://a; proxy_http_version 1.1; proxy_set_header Connection ""; }
	}
}
EOF
nginx -p "$tmp/nginx" -c "$tmp/nginx.conf"
"$tmp/epoll" -addr "127.0.0.1:$pe" -backend "127.0.0.1:$pb" 2>"$tmp/epoll.log" &
pids+=($!)
"$tmp/netpoll" -addr "127.0.0.1:$pp" -backend "127.0.0.1:$pb" 2>"$tmp/netpoll.log" &
pids+=($!)
"$BIN" server --data "$tmp/data" --http "127.0.0.1:$ps" --grpc "" >"$tmp/slipway.log" 2>&1 &
pids+=($!)
up slipway "http://127.0.0.1:$ps/v2/health/ready"
SLIPWAY_ACTOR=bench "$BIN" --server "http://127.0.0.1:$ps" model push fraud --version a \
	--url "http://127.0.0.1:$pb/v2/models/fraud" --signature examples/fraud/v2/signature.json --meta timeout=2s >/dev/null
SLIPWAY_ACTOR=bench "$BIN" --server "http://127.0.0.1:$ps" route set fraud --split a=100 --reason "probe" >/dev/null
sleep 0.5

declare -A PORT=([nginx]=$pn [epoll]=$pe [netpoll]=$pp [slipway]=$ps)
declare -A PIDS
PIDS[nginx]="$(cat "$tmp/nginx.pid") $(pgrep -P "$(cat "$tmp/nginx.pid")" | tr '\n' ' ')"
PIDS[epoll]=$(pgrep -f "$tmp/epoll")
PIDS[netpoll]=$(pgrep -f "$tmp/netpoll")
PIDS[slipway]=$(pgrep -f "$BIN server --data $tmp/data")

tck=$(getconf CLK_TCK)
cpu() { local s=0 p; for p in $1; do s=$((s + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$s"; }
# point ROUTER C: one wrk run; prints req/s, p99 (µs) and CPU µs per request.
point() {
	local url="http://127.0.0.1:${PORT[$1]}" c0 c1 res n
	BENCH_CSV=examples/fraud/holdout.csv BENCH_ROWS=256 wrk -t2 -c"$2" -d"${WARMUP}s" -s bench/serving/infer.lua "$url" >/dev/null
	c0=$(cpu "${PIDS[$1]}")
	res=$(BENCH_CSV=examples/fraud/holdout.csv BENCH_ROWS=256 wrk -t2 -c"$2" -d"${DURATION}s" -s bench/serving/infer.lua "$url" | grep '^RESULT ')
	c1=$(cpu "${PIDS[$1]}")
	n=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$res")
	# A router that failed requests forwarded nothing worth timing.
	[[ $n -gt 0 && $res == *" err_status=0 "* && $res == *" err_read=0 "* ]] || die "$1 at c=$2 failed requests: $res"
	echo "$(sed 's/.*rps=\([0-9.]*\).*/\1/' <<<"$res") $(sed 's/.*p99_us=\([0-9]*\).*/\1/' <<<"$res") $(((c1 - c0) * 1000000 / tck / n))"
}

order=(nginx epoll netpoll slipway)
declare -A RPS P99 CPU
for round in $(seq 1 "$ROUNDS"); do
	for c in $CONCURRENCY; do
		for r in "${order[@]}"; do
			read -r rps p99 us <<<"$(point "$r" "$c")"
			log "round $round c=$c $r: $rps req/s, p99 $p99 µs, $us µs CPU per request"
			RPS[$r,$c]="${RPS[$r,$c]:-} $rps"
			P99[$r,$c]="${P99[$r,$c]:-} $p99"
			CPU[$r,$c]="${CPU[$r,$c]:-} $us"
		done
	done
	order=($(printf '%s\n' "${order[@]}" | tac))
done

mean() { awk '{s=0; for (i=1;i<=NF;i++) s+=$i; printf "%.0f", s/NF}' <<<"$1"; }
mkdir -p "$RESULTS"
report="$RESULTS/probe-$(date +%F).md"
{
	echo "# Router I/O probe, $(date +%F)"
	echo
	echo "One backend (bench/routing/backend, no delay), one router at a time, wrk with"
	echo "bench/serving/infer.lua, ${DURATION} s per point after ${WARMUP} s of warm-up, $ROUNDS rounds (means;"
	echo "per-round values in brackets). $(nproc) cores, $(uname -r); nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'),"
	echo "$(go version | awk '{print $3}'), slipway $(git describe --always --dirty)."
	echo
	echo "| router | connections | req/s | p99 | CPU per request |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	for c in $CONCURRENCY; do
		for r in nginx epoll netpoll slipway; do
			echo "| $r | $c | $(mean "${RPS[$r,$c]}") | $(mean "${P99[$r,$c]}") µs | $(mean "${CPU[$r,$c]}") µs [${CPU[$r,$c]# }] |"
		done
	done
} >"$report"
cat "$report"
log "written to $report"
