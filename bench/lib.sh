# Shared by the bench/*/run.sh harnesses: CPU accounting on a shared
# machine and the small formatting helpers of the reports. Sourced after
# the script defines log().

die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# wait_ready NAME URL PID LOG: polls URL/v2/health/ready for up to 15 s,
# showing LOG and giving up at once if PID exits.
wait_ready() {
	local i
	for ((i = 0; i < 150; i++)); do
		curl -sf -o /dev/null "$2/v2/health/ready" && return 0
		kill -0 "$3" 2>/dev/null || { cat "$4" >&2; die "$1 exited during start-up"; }
		sleep 0.1
	done
	cat "$4" >&2
	die "$1 not ready at $2 after 15 s"
}

# cpu_ticks PID...: user+system clock ticks of the PIDs and their children
# (uvicorn's or nginx's workers), alive ones only.
cpu_ticks() {
	local p t=0 f q
	for q in "$@"; do
		for p in "$q" $(pgrep -P "$q" || true); do
			f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
			f=${f##*) } # fields after the command name; utime and stime are the 12th and 13th
			set -- $f
			t=$((t + ${12} + ${13}))
		done
	done
	echo "$t"
}
HZ=$(getconf CLK_TCK)
# busy_ticks: user, nice and system clock ticks of the whole machine.
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4; exit}' /proc/stat; }

# wait_quiet: on a shared machine, waits up to QUIET_WAIT seconds for the
# machine to use under 0.15 cores over half a second (our servers are idle
# between points), so a point does not start in someone's build.
wait_quiet() {
	local i b0 b1
	for ((i = 0; i < QUIET_WAIT * 2; i++)); do
		b0=$(busy_ticks)
		sleep 0.5
		b1=$(busy_ticks)
		((200 * (b1 - b0) <= 15 * HZ)) && return 0
	done
	log "the machine is busy with other work; measuring anyway (see the other CPU column)"
}

ms() { awk -v us="$1" 'BEGIN {printf "%.3f", us / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
verdict() { awk -v x="$1" -v op="$2" -v t="$3" 'BEGIN {ok = (op == ">=") ? x >= t : x <= t; print ok ? "met" : "MISSED"}'; }
