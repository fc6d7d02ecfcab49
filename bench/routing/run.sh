#!/usr/bin/env bash
# bench/routing/run.sh — slipway as a traffic router in front of two remote
# Open Inference Protocol backends (90/10 split plus a 10 % mirror) against
# nginx doing the same to the same backends, driven by the same wrk script
# in the same run; then shadow isolation (a 100 % mirror to a 10× slower
# shadow). See README.md.
#
# Knobs (environment): DURATION seconds per load point (12), WARMUP (3),
# CONCURRENCY ("16 64"; empty: isolation only), ROUNDS slipway/nginx
# pairs per concurrency, run slipway-nginx-nginx-slipway-… (2),
# ISO_DURATION seconds per isolation point (10),
# ISO_ROUNDS mirror-off/on pairs for slipway, run off-on-on-off (2),
# ISO_CONCURRENCY (16), ISO_PRIMARY_DELAY and ISO_SHADOW_DELAY the backends'
# delays in the isolation experiment (1ms, 10ms), ISO_NGINX=0 to skip
# nginx's isolation points, QUIET_WAIT longest wait for a quiet machine
# before each point (6), RETRIES how many points disturbed by other work
# (other CPU over BUSY, 0.25 cores) are run again (2), THREADS wrk threads
# (nproc), ROWS holdout rows cycled (256), ROUTER_CPUS and LOAD_CPUS
# (taskset CPU lists, both or neither: the router on the first, wrk and the
# backends on the second; nginx then runs one worker per router CPU),
# SKIP_BUILD=1 to use bin/slipway
# as it is, RESULTS directory for the report (bench/routing/results),
# SLIPWAY_FLAGS more flags for `slipway server` (say "--mirror-queue 1024"),
# SLIPWAY_ENV environment for slipway only (say "GOMAXPROCS=2 GOGC=200").
set -euo pipefail
export GOTOOLCHAIN=local
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

DURATION=${DURATION:-12}
WARMUP=${WARMUP:-3}
CONCURRENCY=${CONCURRENCY-"16 64"} # empty: the isolation experiment alone
ROUNDS=${ROUNDS:-2}
ISO_DURATION=${ISO_DURATION:-8}
ISO_ROUNDS=${ISO_ROUNDS:-2}
ISO_CONCURRENCY=${ISO_CONCURRENCY:-16}
ISO_PRIMARY_DELAY=${ISO_PRIMARY_DELAY:-1ms}
ISO_SHADOW_DELAY=${ISO_SHADOW_DELAY:-10ms}
ISO_NGINX=${ISO_NGINX:-1}
QUIET_WAIT=${QUIET_WAIT:-6}
RETRIES=${RETRIES:-2}
BUSY=${BUSY:-0.25}
THREADS=${THREADS:-$(nproc)}
ROWS=${ROWS:-256}
RESULTS=${RESULTS:-$here/results}
ROUTER_CPUS=${ROUTER_CPUS:-}
LOAD_CPUS=${LOAD_CPUS:-}
CSV=examples/fraud/holdout.csv
SIGNATURE=examples/fraud/v2/signature.json
BIN=bin/slipway
PATH_INFER=/v2/models/fraud/infer
TIMEOUT=2s # every remote version's timeout in slipway, and nginx's proxy timeouts

log() { printf '== %3ds %s\n' "$SECONDS" "$*" >&2; }
# shellcheck source=../lib.sh
source "$here/../lib.sh"

# Pinning (ROUTER_CPUS, LOAD_CPUS): the router gets cores of its own, as
# it would in production, instead of sharing them with its load generator
# and backends. Off by default.
on_router=() on_load=() nginx_workers=auto
if [[ -n $ROUTER_CPUS || -n $LOAD_CPUS ]]; then
	[[ -n $ROUTER_CPUS && -n $LOAD_CPUS ]] || { echo "run.sh: set both ROUTER_CPUS and LOAD_CPUS, or neither" >&2; exit 2; }
	on_router=(taskset -c "$ROUTER_CPUS") on_load=(taskset -c "$LOAD_CPUS")
	# nginx's "auto" counts the machine's cores, not the ones it may use.
	nginx_workers=$(taskset -c "$ROUTER_CPUS" nproc)
fi

# --- dependencies -----------------------------------------------------------
need_pkgs=()
command -v wrk >/dev/null || need_pkgs+=(wrk)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need_pkgs+=(nginx)
if ((${#need_pkgs[@]})); then
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		log "installing ${need_pkgs[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_pkgs[@]}" >/dev/null
	else
		die "missing ${need_pkgs[*]}: apt-get install -y ${need_pkgs[*]}"
	fi
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
command -v curl >/dev/null || die "missing curl"
PY=$(command -v python3 || true)
[[ -n $PY ]] || die "missing python3 (to pick free ports)"

# --- processes we start, stopped on any exit --------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/slipway-routing.XXXXXX")
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

# free_ports N: N distinct free loopback ports, held open together while
# they are picked.
free_ports() {
	"$PY" -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# --- build ---------------------------------------------------------------------
if [[ ${SKIP_BUILD:-} != 1 || ! -x $BIN ]]; then
	log "building slipway (make build)"
	make build >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; die "make build failed (SKIP_BUILD=1 uses bin/slipway as it is)"; }
fi
log "building the backend (bench/routing/backend)"
go build -o "$tmp/backend" ./bench/routing/backend

# --- backends ----------------------------------------------------------------
# a and b take the split, shadow the 10 % mirror; p is the primary and slow
# the 10× slower shadow of the isolation experiment.
read -r port_a port_b port_s port_p port_slow sport nport_main nport_off nport_on <<<"$(free_ports 9)"
declare -A BPORT=([a]=$port_a [b]=$port_b [shadow]=$port_s [p]=$port_p [slow]=$port_slow)
declare -A BDELAY=([a]=0 [b]=0 [shadow]=0 [p]=$ISO_PRIMARY_DELAY [slow]=$ISO_SHADOW_DELAY)
BACKENDS="a b shadow p slow"
bpids=()
for v in $BACKENDS; do
	"${on_load[@]}" "$tmp/backend" -addr "127.0.0.1:${BPORT[$v]}" -version "$v" -delay "${BDELAY[$v]}" >"$tmp/backend-$v.log" 2>&1 &
	pids+=($!)
	bpids+=($!)
	wait_ready "backend $v" "http://127.0.0.1:${BPORT[$v]}" "$!" "$tmp/backend-$v.log"
done
log "backends: a :$port_a, b :$port_b, shadow :$port_s (no delay); p :$port_p ($ISO_PRIMARY_DELAY), slow :$port_slow ($ISO_SHADOW_DELAY)"

# infer_count V: inference requests backend V has answered since start.
infer_count() { curl -sf "http://127.0.0.1:${BPORT[$1]}/stats" | sed -n 's/.*"infer":\([0-9]*\).*/\1/p'; }
bad_count() { curl -sf "http://127.0.0.1:${BPORT[$1]}/stats" | sed -n 's/.*"bad":\([0-9]*\).*/\1/p'; }
# service_ms V: backend V's mean time in its inference handler (delay
# included) since start, in milliseconds.
service_ms() {
	curl -sf "http://127.0.0.1:${BPORT[$1]}/stats" |
		sed -n 's/.*"infer":\([0-9]*\).*"busy_ns":\([0-9]*\).*/\1 \2/p' | awk '{printf "%.3f", $1 ? $2 / $1 / 1e6 : 0}'
}

# wait_drain V: waits (up to 15 s) until backend V stops receiving, so
# shadow copies still queued in a router do not spill into the next point.
wait_drain() {
	local i n m
	n=$(infer_count "$1")
	for ((i = 0; i < 50; i++)); do
		sleep 0.3
		m=$(infer_count "$1")
		[[ $m == "$n" ]] && return 0
		n=$m
	done
	log "backend $1 still receiving after 15 s"
}

# --- slipway -------------------------------------------------------------------
surl=http://127.0.0.1:$sport
log "starting slipway on 127.0.0.1:$sport"
# shellcheck disable=SC2086 # SLIPWAY_ENV and SLIPWAY_FLAGS are split into words on purpose
"${on_router[@]}" env ${SLIPWAY_ENV:-} "$BIN" server --data "$tmp/data" --http "127.0.0.1:$sport" --grpc "" ${SLIPWAY_FLAGS:-} >"$tmp/slipway.log" 2>&1 &
spid=$!
pids+=("$spid")
wait_ready slipway "$surl" "$spid" "$tmp/slipway.log"
export SLIPWAY_ACTOR=bench
for v in $BACKENDS; do
	"$BIN" --server "$surl" model push fraud --version "$v" --url "http://127.0.0.1:${BPORT[$v]}/v2/models/fraud" \
		--signature "$SIGNATURE" --meta timeout=$TIMEOUT >/dev/null
done
# route NAME: sets slipway's policy for a phase of the run.
route() {
	case $1 in
	main) "$BIN" --server "$surl" route set fraud --split a=90 --split b=10 --mirror shadow=10 --reason "routing benchmark" ;;
	iso-off) "$BIN" --server "$surl" route set fraud --split p=100 --reason "isolation benchmark: no mirror" ;;
	iso-on) "$BIN" --server "$surl" route set fraud --split p=100 --mirror slow=100 --reason "isolation benchmark: 100% mirror" ;;
	esac >/dev/null
}
route main

# mirror_counts: slipway's own count of shadow copies, "sent dropped
# failed", from slipway_mirror_requests_total on /metrics (summed over
# shadow versions; "- - -" when the server does not export it).
mirror_counts() {
	curl -sf "$surl/metrics" 2>/dev/null | awk '
		/^slipway_mirror_requests_total\{/ {
			found = 1
			if (match($0, /result="[a-z]+"/)) n[substr($0, RSTART + 8, RLENGTH - 9)] += $NF
		}
		END { if (found) printf "%d %d %d\n", n["sent"], n["dropped"], n["failed"]; else print "- - -" }' || echo "- - -"
}

# --- nginx -----------------------------------------------------------------------
nprefix=$tmp/nginx
mkdir -p "$nprefix"
sed -e "s|@PREFIX@|$nprefix|g" -e "s|@WORKERS@|$nginx_workers|" -e "s|@PORT_A@|$port_a|" -e "s|@PORT_B@|$port_b|" -e "s|@PORT_S@|$port_s|" \
	-e "s|@PORT_P@|$port_p|" -e "s|@PORT_SLOW@|$port_slow|" -e "s|@PORT_MAIN@|$nport_main|" \
	-e "s|@PORT_ISO_OFF@|$nport_off|" -e "s|@PORT_ISO_ON@|$nport_on|" "$here/nginx.conf.in" >"$nprefix/nginx.conf"
! grep -v '^ *#' "$nprefix/nginx.conf" | grep '@[A-Z_]*@' || die "nginx.conf.in has a placeholder run.sh does not fill"
"$NGINX" -t -q -p "$nprefix" -c "$nprefix/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx-t.log" || { cat "$tmp/nginx-t.log" >&2; die "nginx refused the config"; }
log "starting nginx on 127.0.0.1:$nport_main (isolation: :$nport_off off, :$nport_on on)"
"${on_router[@]}" "$NGINX" -p "$nprefix" -c "$nprefix/nginx.conf" -g 'daemon off;' >"$tmp/nginx.log" 2>&1 &
npid=$!
pids+=("$npid")
nurl=http://127.0.0.1:$nport_main
wait_ready nginx "$nurl" "$npid" "$tmp/nginx.log"

# --- both answer the same request alike -----------------------------------------
body=$(awk -F, 'NR == 2 {
	split("amount hour merchant_risk distance_from_home tx_count_24h is_foreign card_age_days", f, " ")
	for (i = 1; i <= 7; i++) {
		v = ($i == "" || tolower($i) == "nan") ? "null" : $i
		printf "%s{\"name\":\"%s\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[%s]}", (i > 1 ? "," : "{\"inputs\":["), f[i], v
	}
	print "]}"
}' "$CSV")
# check NAME URL WANT: 20 requests, each a 200 OIP answer from a version in WANT (a regex).
check() {
	local i out
	for ((i = 0; i < 20; i++)); do
		out=$(curl -sf -X POST -H 'Content-Type: application/json' --data "$body" "$2$PATH_INFER") || die "$1 failed a request: $(curl -s -X POST --data "$body" "$2$PATH_INFER")"
		[[ $out =~ \"model_version\":\"($3)\" && $out == *'"outputs":[{"name":"score","shape":[1],"datatype":"FP32","data":['* ]] || die "$1 answered $out"
	done
}
log "checking both routers answer valid OIP responses"
check slipway "$surl" 'a|b'
check nginx "$nurl" 'a|b'
route iso-on
check "slipway (isolation)" "$surl" p
route main
check "nginx (isolation, off)" "http://127.0.0.1:$nport_off" p
check "nginx (isolation, on)" "http://127.0.0.1:$nport_on" p
wait_drain slow

# --- load --------------------------------------------------------------------------
declare -A R # R[key,field]

# point KEY ROUTER URL CONCURRENCY SECONDS: one wrk run, with CPU use and
# how many requests each backend received during it.
point() {
	local key=$1 router=$2 url=$3 c=$4 d=$5 out="$tmp/wrk-$1.txt" c0 c1 k0 k1 b0 b1 w0 w1 line kv v rpid
	[[ $router == slipway ]] && rpid=$spid || rpid=$npid
	wait_quiet
	declare -A n0
	for v in $BACKENDS; do n0[$v]=$(infer_count "$v"); done
	local m0=(- - -) m1
	[[ $router == slipway ]] && read -ra m0 <<<"$(mirror_counts)"
	c0=$(cpu_ticks "$rpid")
	k0=$(cpu_ticks "${bpids[@]}")
	b0=$(busy_ticks)
	w0=$(date +%s%N)
	{
		TIMEFORMAT='%U %S'
		time BENCH_CSV=$CSV BENCH_ROWS=$ROWS BENCH_PATH=$PATH_INFER \
			"${on_load[@]}" wrk -t"$THREADS" -c"$c" -d"${d}s" --timeout 10s -s "$here/../serving/infer.lua" "$url" >"$out"
	} 2>"$out.time"
	c1=$(cpu_ticks "$rpid")
	k1=$(cpu_ticks "${bpids[@]}")
	b1=$(busy_ticks)
	w1=$(date +%s%N)
	line=$(grep '^RESULT ' "$out") || { cat "$out" >&2; die "wrk printed no result for $key"; }
	for kv in ${line#RESULT }; do R[$key,${kv%%=*}]=${kv#*=}; done
	# Shadow copies a router still has queued arrive after the load ends.
	wait_drain shadow
	wait_drain slow
	for v in $BACKENDS; do R[$key,n_$v]=$(($(infer_count "$v") - ${n0[$v]})); done
	# slipway's own view: copies sent to the shadow, dropped on a full
	# queue, failed in the shadow.
	R[$key,mirror_slipway]=-
	if [[ $router == slipway && ${m0[0]} != - ]]; then
		read -ra m1 <<<"$(mirror_counts)"
		[[ ${m1[0]} != - ]] && R[$key,mirror_slipway]="$((m1[0] - m0[0])) / $((m1[1] - m0[1])) / $((m1[2] - m0[2]))"
	fi
	# CPU shares are over the wall time wrk ran, start-up and exit included.
	local s n=${R[$key,requests]}
	s=$(awk -v a="$w0" -v b="$w1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
	R[$key,router_cpu]=$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v s="$s" 'BEGIN {printf "%.2f", t / hz / s}')
	R[$key,cpu_per_req]=$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v n="$n" 'BEGIN {printf "%.0f", t / hz / n * 1e6}')
	R[$key,backend_cpu]=$(awk -v t=$((k1 - k0)) -v hz="$HZ" -v s="$s" 'BEGIN {printf "%.2f", t / hz / s}')
	R[$key,wrk_cpu]=$(awk -v s="$s" '{printf "%.2f", ($1 + $2) / s}' "$out.time")
	# Whatever else ran meanwhile (other builds and tests on a shared machine).
	R[$key,other_cpu]=$(awk -v b=$((b1 - b0 - (c1 - c0) - (k1 - k0))) -v hz="$HZ" -v s="$s" -v w="${R[$key,wrk_cpu]}" \
		'BEGIN {o = b / hz / s - w; printf "%.2f", o < 0 ? 0 : o}')
	R[$key,errors]=$((${R[$key,err_connect]} + ${R[$key,err_read]} + ${R[$key,err_write]} + ${R[$key,err_status]} + ${R[$key,err_timeout]}))
	# Where the requests went: a's share of the split, and the copies that
	# reached the shadow per answered request.
	R[$key,a_pct]=$(awk -v a="${R[$key,n_a]}" -v b="${R[$key,n_b]}" 'BEGIN {printf "%.1f", a + b ? 100 * a / (a + b) : 0}')
	R[$key,mirror_pct]=$(awk -v m=$((${R[$key,n_shadow]} + ${R[$key,n_slow]})) -v n="$n" 'BEGIN {printf "%.1f", 100 * m / n}')
	log "$(printf '%-14s c=%-3s %7.0f req/s  p50 %7.3f ms  p99 %7.3f ms  errors %s  a %s%%  mirrored %s%% (sent/dropped/failed %s)  cores: router %s backends %s wrk %s other %s' \
		"$key" "$c" "${R[$key,rps]}" "$(ms "${R[$key,p50_us]}")" "$(ms "${R[$key,p99_us]}")" "${R[$key,errors]}" \
		"${R[$key,a_pct]}" "${R[$key,mirror_pct]}" "${R[$key,mirror_slipway]}" "${R[$key,router_cpu]}" "${R[$key,backend_cpu]}" "${R[$key,wrk_cpu]}" "${R[$key,other_cpu]}")"
}

# measure KEY ROUTER URL CONCURRENCY SECONDS: a point, run once more when
# other work on the machine disturbed it (while retries are left); the run
# with less other work is kept, and marked in the report.
retries_left=$RETRIES
measure() {
	local key=$1 k
	point "$@"
	awk -v o="${R[$key,other_cpu]}" -v b="$BUSY" 'BEGIN {exit !(o > b)}' || return 0
	((retries_left > 0)) || return 0
	retries_left=$((retries_left - 1))
	log "$key: other processes used ${R[$key,other_cpu]} cores meanwhile; running it again"
	point "$key+" "${@:2}"
	R[$key,runs]=2
	awk -v a="${R[$key+,other_cpu]}" -v b="${R[$key,other_cpu]}" 'BEGIN {exit !(a < b)}' || return 0
	for k in "${!R[@]}"; do
		[[ $k == "$key+,"* ]] && R[$key,${k#"$key+,"}]=${R[$k]}
	done
	return 0
}
# mark KEY: a star for a point that was run twice.
mark() { [[ ${R[$1,runs]:-1} == 2 ]] && echo '*' || true; }
warm() { BENCH_CSV=$CSV BENCH_ROWS=$ROWS "${on_load[@]}" wrk -t"$THREADS" -c16 -d"${WARMUP}s" -s "$here/../serving/infer.lua" "$1" >/dev/null; }

log "warming up ($WARMUP s each)"
warm "$surl"
warm "$nurl"
wait_drain shadow

for c in $CONCURRENCY; do
	log "concurrency $c, $ROWS rows, $DURATION s each, $THREADS wrk threads, $ROUNDS round(s)"
	for ((r = 1; r <= ROUNDS; r++)); do
		# slipway, nginx, nginx, slipway, …: a drift in the machine's
		# speed (nginx's own CPU per request has moved by a quarter
		# between runs) hits both routers alike.
		if ((r % 2)); then order="slipway nginx"; else order="nginx slipway"; fi
		for s in $order; do
			[[ $s == slipway ]] && u=$surl || u=$nurl
			measure "$s,$c,$r" "$s" "$u" "$c" "$DURATION"
		done
	done
done

log "shadow isolation: primary p ($ISO_PRIMARY_DELAY), shadow slow ($ISO_SHADOW_DELAY), concurrency $ISO_CONCURRENCY, $ISO_DURATION s each"
route iso-off
warm "$surl"
iso_keys=()
for ((r = 1; r <= ISO_ROUNDS; r++)); do
	# off, on, on, off, …: a drift in the machine's load hits both alike.
	if ((r % 2)); then order="off on"; else order="on off"; fi
	for m in $order; do
		route "iso-$m"
		measure "slipway-$m-$r" slipway "$surl" "$ISO_CONCURRENCY" "$ISO_DURATION"
		iso_keys+=("slipway-$m-$r")
	done
done
route main
if [[ $ISO_NGINX == 1 ]]; then
	warm "http://127.0.0.1:$nport_off"
	measure "nginx-off-1" nginx "http://127.0.0.1:$nport_off" "$ISO_CONCURRENCY" "$ISO_DURATION"
	measure "nginx-on-1" nginx "http://127.0.0.1:$nport_on" "$ISO_CONCURRENCY" "$ISO_DURATION"
	iso_keys+=(nginx-off-1 nginx-on-1)
fi

# What the routers said about it all.
slipway_problems=$(grep -ciE 'level=(warn|error)|panic' "$tmp/slipway.log" || true)
nginx_problems=$(grep -cE '\[(warn|error|crit|alert|emerg)\]' "$nprefix/error.log" || true)
bad_total=0
for v in $BACKENDS; do bad_total=$((bad_total + $(bad_count "$v"))); done
service_p=$(service_ms p)
service_slow=$(service_ms slow)

# --- report ------------------------------------------------------------------------
# mean ROUTER CONCURRENCY FIELD: the field's mean over the rounds.
mean() {
	local r t=0
	for ((r = 1; r <= ROUNDS; r++)); do t=$(awk -v t="$t" -v v="${R[$1,$2,$r,$3]}" 'BEGIN {print t + v}'); done
	awk -v t="$t" -v n="$ROUNDS" 'BEGIN {printf "%.0f", t / n}'
}
# mean_p99 ROUTER MIRROR: mean of the p99s of the isolation points.
mean_p99() {
	local k s=0 n=0
	for k in "${iso_keys[@]}"; do
		[[ $k == "$1-$2-"* ]] || continue
		s=$((s + ${R[$k,p99_us]})) n=$((n + 1))
	done
	awk -v s="$s" -v n="$n" 'BEGIN {printf "%.0f", n ? s / n : 0}'
}

slipway_version=$("$BIN" version 2>/dev/null | head -1 | awk '{print $NF}')
nginx_version=$("$NGINX" -v 2>&1 | awk -F/ '{print $2}')
wrk_version=$({ wrk -v 2>&1 || true; } | head -1 | awk '{print $2}')
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
date=$(date -u +%Y-%m-%d)
iso_off=$(mean_p99 slipway off)
iso_on=$(mean_p99 slipway on)
iso_ratio=$(ratio "$iso_on" "$iso_off")
mkdir -p "$RESULTS"
report=$RESULTS/$date.md

{
	echo "# Routing benchmark, $date"
	echo
	echo "slipway and nginx as routers in front of the same remote Open Inference Protocol"
	echo "backends: 90 % of requests to backend a, 10 % to b (random per request), and a copy"
	echo "of 10 % of requests (sampled independently) to a shadow backend whose answer is"
	echo "discarded. Backends: bench/routing/backend, a fixed valid OIP answer after reading"
	echo "the body, no delay, one process each on loopback. Load: POST $PATH_INFER, one fraud"
	echo "holdout row per request (OIP v2 JSON, $ROWS rows cycled, missing values as null), closed"
	echo "loop: wrk $wrk_version with bench/serving/infer.lua, $THREADS threads, ${DURATION} s per point after a"
	echo "${WARMUP} s warm-up, the same script, connections and duration for both routers."
	echo
	if [[ -n $ROUTER_CPUS ]]; then
		echo "- machine: $(nproc) cores ($cpu), $(uname -sr). Pinned: the router on CPUs $ROUTER_CPUS"
		echo "  (nginx with $nginx_workers worker(s), slipway's GOMAXPROCS following), wrk and the five"
		echo "  backends on CPUs $LOAD_CPUS."
	else
		echo "- machine: $(nproc) cores ($cpu), $(uname -sr). wrk, the router and the five backends"
		echo "  all share these cores: req/s is the whole box's capacity, and p99 on a saturated box is"
		echo "  mostly scheduling delay."
	fi
	echo "  The CPU columns are cores used during the point (user + system"
	echo "  time / duration) by the router (nginx: master and workers), by the backends, by wrk, and by"
	echo "  other processes on the machine (noise: anything above ~0.1 disturbed the point); kernel"
	echo "  network work in softirq is in none of them. Router CPU/req is the router's CPU time per"
	echo "  answered request. Each point waited (up to ${QUIET_WAIT} s) for the machine to be quiet first"
	echo "- slipway $slipway_version, $(go version | awk '{print $3}'), GOMAXPROCS default, embedded storage; the"
	echo "  backends are versions pushed with \`--url http://127.0.0.1:PORT/v2/models/fraud\`"
	echo "  (\`--meta timeout=$TIMEOUT\`), routed by \`slipway route set fraud --split a=90 --split b=10 --mirror shadow=10\`"
	echo "- nginx $nginx_version (Debian), bench/routing/nginx.conf.in: worker_processes $nginx_workers, no access log,"
	echo "  upstream keepalive 64, proxy_http_version 1.1, split_clients on \$request_id, mirror with"
	echo "  mirror_request_body on to a location that answers 204 for the 90 % not sampled"
	echo "- \"a / mirrored\": a's share of the requests backends a and b received, and copies the"
	echo "  shadow received per answered request (counted by the backends, copies still queued in"
	echo "  the router when the load ended included); slipway's own counts of its copies are from"
	echo "  slipway_mirror_requests_total on /metrics: sent, dropped on its full shadow queue, failed"
	echo
	if [[ -z $CONCURRENCY ]]; then
		echo "(CONCURRENCY empty: the isolation experiment alone.)"
	else
		echo "| router | concurrency | round | req/s | p50 | p99 | p99.9 | errors | a / mirrored | slipway's copies sent / dropped / failed | router CPU | router CPU/req | backends CPU | wrk CPU | other CPU |"
		echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		for c in $CONCURRENCY; do
			for ((r = 1; r <= ROUNDS; r++)); do
				for s in slipway nginx; do
					k=$s,$c,$r
					printf '| %s | %s | %s%s | %.0f | %s ms | %s ms | %s ms | %s | %s %% / %s %% | %s | %s | %s µs | %s | %s | %s |\n' "$s" "$c" "$r" "$(mark "$k")" "${R[$k,rps]}" \
						"$(ms "${R[$k,p50_us]}")" "$(ms "${R[$k,p99_us]}")" "$(ms "${R[$k,p999_us]}")" "${R[$k,errors]}" \
						"${R[$k,a_pct]}" "${R[$k,mirror_pct]}" "${R[$k,mirror_slipway]}" "${R[$k,router_cpu]}" "${R[$k,cpu_per_req]}" \
						"${R[$k,backend_cpu]}" "${R[$k,wrk_cpu]}" "${R[$k,other_cpu]}"
				done
			done
		done
		echo
		echo "## Against the targets"
		echo
		echo "Means over the $ROUNDS round(s) of each router; each round's own ratio after them."
		echo
		echo "| concurrency | slipway / nginx throughput (target ≥ 1) | per round | slipway / nginx p99 (target ≤ 1) | per round |"
		echo "| ---: | ---: | ---: | ---: | ---: |"
		for c in $CONCURRENCY; do
			tr=$(ratio "$(mean slipway "$c" rps)" "$(mean nginx "$c" rps)")
			lr=$(ratio "$(mean slipway "$c" p99_us)" "$(mean nginx "$c" p99_us)")
			trs=() lrs=()
			for ((r = 1; r <= ROUNDS; r++)); do
				trs+=("$(ratio "${R[slipway,$c,$r,rps]}" "${R[nginx,$c,$r,rps]}")")
				lrs+=("$(ratio "${R[slipway,$c,$r,p99_us]}" "${R[nginx,$c,$r,p99_us]}")")
			done
			echo "| $c | ${tr}× ($(verdict "$tr" ">=" 1)) | ${trs[*]} | ${lr} ($(verdict "$lr" "<=" 1)) | ${lrs[*]} |"
		done
	fi
	echo
	echo "## Shadow isolation"
	echo
	echo "All traffic to primary backend p (sleeps $ISO_PRIMARY_DELAY per request), and with the mirror on a copy"
	echo "of every request to shadow backend slow (sleeps $ISO_SHADOW_DELAY). Mean time in the backends' handlers"
	echo "over the run: p $service_p ms, slow $service_slow ms ($(ratio "$service_slow" "$service_p")× slower). slipway:"
	echo "\`route set fraud --split p=100\` against \`--split p=100 --mirror slow=100\`, $ISO_ROUNDS round(s) in the"
	echo "order off, on, on, off, … so a drift in the machine's load hits both; nginx: \`proxy_pass\` against"
	echo "\`mirror\` + \`proxy_pass\`, for reference. Concurrency $ISO_CONCURRENCY, ${ISO_DURATION} s per point; the routers'"
	echo "queued shadow copies were let drain before each next point. \"mirrored\" is the share of"
	echo "requests whose copy reached the shadow."
	echo
	echo "| router | mirror | round | req/s | p50 | p99 | p99.9 | errors | mirrored | slipway's copies sent / dropped / failed | router CPU | other CPU |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for k in "${iso_keys[@]}"; do
		IFS=- read -r s m r <<<"$k"
		printf '| %s | %s | %s%s | %.0f | %s ms | %s ms | %s ms | %s | %s %% | %s | %s | %s |\n' "$s" "$m" "$r" "$(mark "$k")" "${R[$k,rps]}" \
			"$(ms "${R[$k,p50_us]}")" "$(ms "${R[$k,p99_us]}")" "$(ms "${R[$k,p999_us]}")" "${R[$k,errors]}" \
			"${R[$k,mirror_pct]}" "${R[$k,mirror_slipway]}" "${R[$k,router_cpu]}" "${R[$k,other_cpu]}"
	done
	echo
	echo "slipway's primary p99 (mean over rounds): mirror off $(ms "$iso_off") ms, 100 % mirror to the slow shadow"
	echo "$(ms "$iso_on") ms: **${iso_ratio}× (target ≤ 1.10: $(verdict "$iso_ratio" "<=" 1.10))**."
	if [[ $ISO_NGINX == 1 ]]; then
		echo "nginx, same experiment: $(ms "${R[nginx-off-1,p99_us]}") ms off, $(ms "${R[nginx-on-1,p99_us]}") ms on:"
		echo "$(ratio "${R[nginx-on-1,p99_us]}" "${R[nginx-off-1,p99_us]}")× (nginx keeps the client connection busy until the mirror subrequest has ended)."
	fi
	echo
	if ((retries_left < RETRIES)); then
		echo "Points marked * were disturbed by other work (other CPU over $BUSY cores) and run a second"
		echo "time; the run with less other work is shown."
		echo
	fi
	echo "Router logs during the run: slipway $slipway_problems warning/error lines, nginx $nginx_problems;"
	echo "requests the backends refused as malformed: $bad_total."
} >"$report"

echo
cat "$report"
echo
log "written to ${report#"$root"/}"
