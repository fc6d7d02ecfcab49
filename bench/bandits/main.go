// Command bandits measures slipway's bandit policies on simulated
// traffic of known conversion rates: the cumulative regret of Thompson
// sampling, UCB1, epsilon-greedy and a uniform split against the
// Lai–Robbins lower bound, per request and in slipway's batched form
// (shares recomputed every tick, with a floor per arm), and the reward of
// a contextual bandit against the best single version and the oracle. It
// prints markdown tables.
//
//	go run ./bench/bandits [-seed 1] [-runs 200] [-quick]
//
// The same flags give the same tables. See README.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
)

func main() {
	var cfg config
	quick := false
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the simulation; the same seed gives the same tables")
	flag.IntVar(&cfg.runs, "runs", 200, "runs per policy and problem")
	flag.IntVar(&cfg.tick, "tick", 500, "requests per tick in the batched runs")
	flag.Float64Var(&cfg.floor, "floor", 0.05, "minimum share of each arm in the batched runs")
	flag.BoolVar(&quick, "quick", false, "20 runs instead of -runs, for a look in a few seconds")
	flag.IntVar(&cfg.workers, "workers", runtime.GOMAXPROCS(0), "runs simulated at once (does not change the results)")
	flag.Parse()
	if quick {
		cfg.runs = 20
	}
	if cfg.runs < 2 || cfg.tick < 1 || !(cfg.floor >= 0 && cfg.floor < 0.2) || cfg.workers < 1 {
		fmt.Fprintln(os.Stderr, "bandits: -runs must be at least 2, -tick at least 1, -floor in [0, 0.2), -workers at least 1")
		os.Exit(2)
	}
	start := time.Now()
	if err := run(os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bandits:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "bandits: %s on %d workers\n", time.Since(start).Round(100*time.Millisecond), cfg.workers)
}
