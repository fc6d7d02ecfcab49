// Command decisions measures the quality of rollback decisions: it
// simulates canary stages with known ground truth (a candidate equal to
// the baseline, or worse on one metric), judges every second of each with
// slipway's rollback triggers, through the same analysis code the rollout
// controller calls, and with the fixed-threshold rule of today's tools,
// and prints how often each rolls back and how fast, as a markdown table.
//
//	go run ./bench/decisions [-seed 1] [-runs 1000] [-stage 30m]
//
// The same flags give the same table. See README.md for the model of the
// streams, the rules judged and the targets.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
)

func main() {
	cfg := config{traffic: traffic{baselineLatencies: 50}}
	var stage time.Duration
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the simulation; the same seed gives the same table")
	flag.IntVar(&cfg.runs, "runs", 1000, "stages simulated per scenario")
	flag.DurationVar(&stage, "stage", 30*time.Minute, "length of a stage, judged every second")
	flag.Float64Var(&cfg.traffic.rps, "rps", 500, "requests per second to both versions")
	flag.Float64Var(&cfg.traffic.share, "share", 0.01, "candidate's share of the requests")
	flag.IntVar(&cfg.workers, "workers", runtime.GOMAXPROCS(0), "runs simulated at once (does not change the results)")
	flag.Parse()
	cfg.stage = int(stage / time.Second)
	if cfg.runs < 1 || cfg.stage < 1 || cfg.traffic.rps <= 0 || !(cfg.traffic.share > 0 && cfg.traffic.share < 1) {
		fmt.Fprintln(os.Stderr, "decisions: -runs and -stage must be at least 1 (second), -rps positive, -share in (0, 1)")
		os.Exit(2)
	}
	start := time.Now()
	kinds := judgeKinds()
	results := runAll(cfg, scenarios(), kinds)
	report(os.Stdout, cfg, results, kinds)
	fmt.Fprintf(os.Stderr, "decisions: %s on %d workers\n", time.Since(start).Round(100*time.Millisecond), cfg.workers)
}
