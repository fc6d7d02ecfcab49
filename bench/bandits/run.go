package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/slipway-ml/slipway/internal/bandit"
)

type config struct {
	seed    uint64
	runs    int
	tick    int
	floor   float64
	workers int
}

// problems are the two Bernoulli problems: one easy (a clearly
// best arm among five) and one like conversions (three close, low rates).
func problems() []bernoulli {
	return []bernoulli{
		{name: "5 arms, means 0.10 ×4 and 0.90, 10,000 rounds", means: []float64{0.10, 0.10, 0.10, 0.10, 0.90}, rounds: 10000},
		{name: "conversions 0.04, 0.05, 0.07, 100,000 rounds", means: []float64{0.04, 0.05, 0.07}, rounds: 100000},
	}
}

// contender is one row of a regret table.
type contender struct {
	name string
	play player
}

func contenders(cfg config) []contender {
	th, _ := bandit.NewThompson(bandit.Bernoulli, 0)
	eg, _ := bandit.NewEpsilonGreedy(0.1)
	floor := percent(cfg.floor)
	return []contender{
		{"Thompson sampling", perRequest(th)},
		{"UCB1", perRequest(bandit.UCB1{})},
		{"epsilon-greedy, ε = 0.1", perRequest(eg)},
		{"uniform split", perRequest(bandit.Uniform{})},
		{fmt.Sprintf("Thompson, batched: ticks of %d, no floor", cfg.tick), batched(th, cfg.tick, 0)},
		{fmt.Sprintf("Thompson, batched: ticks of %d, %s floor", cfg.tick, floor), batched(th, cfg.tick, cfg.floor)},
		{fmt.Sprintf("UCB1, batched: ticks of %d, %s floor", cfg.tick, floor), batched(bandit.UCB1{}, cfg.tick, cfg.floor)},
	}
}

// runMany runs fn for runs runs on cfg.workers goroutines; run r of
// stream s draws from its own PCG(seed, s<<32 | r), so the results do not
// depend on the workers.
func runMany(cfg config, stream uint64, fn func(rng *rand.Rand) float64) []float64 {
	out := make([]float64, cfg.runs)
	next := make(chan int)
	var wg sync.WaitGroup
	for range cfg.workers {
		wg.Go(func() {
			for r := range next {
				out[r] = fn(rand.New(rand.NewPCG(cfg.seed, stream<<32|uint64(r))))
			}
		})
	}
	for r := range cfg.runs {
		next <- r
	}
	close(next)
	wg.Wait()
	return out
}

// summary is the mean of runs and its 95% interval, mean ± 1.96·sd/√n
// (normal approximation, fine at 200 runs).
type summary struct{ mean, lo, hi float64 }

func summarize(xs []float64) summary {
	n := float64(len(xs))
	mean := 0.0
	for _, x := range xs {
		mean += x
	}
	mean /= n
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	h := 1.96 * math.Sqrt(ss/(n-1)/n)
	return summary{mean, mean - h, mean + h}
}

func run(w io.Writer, cfg config) error {
	fmt.Fprintf(w, "Seed %d, %d runs per row; 95%% intervals are mean ± 1.96 standard errors.\n", cfg.seed, cfg.runs)
	for p, prob := range problems() {
		rows := contenders(cfg)
		results := make([]summary, len(rows))
		for q, c := range rows {
			results[q] = summarize(runMany(cfg, uint64(p)<<16|uint64(q), func(rng *rand.Rand) float64 { return c.play(prob, rng) }))
		}
		regretTable(w, cfg, prob, rows, results)
	}
	return contextual(w, cfg)
}

func regretTable(w io.Writer, cfg config, prob bernoulli, rows []contender, results []summary) {
	uniform, bound := results[3].mean, prob.laiRobbins()
	fmt.Fprintf(w, "\n### Regret: %s\n\n", prob.name)
	fmt.Fprintln(w, "| policy | cumulative regret | 95% interval | ÷ uniform | ÷ Lai–Robbins |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	for q, c := range rows {
		r := results[q]
		fmt.Fprintf(w, "| %s | %.1f | %.1f – %.1f | %.3f | %.2f |\n", c.name, r.mean, r.lo, r.hi, r.mean/uniform, r.mean/bound)
	}
	fmt.Fprintf(w, "| Lai–Robbins lower bound, Σ Δᵢ/KL(μᵢ, μ*) · ln T | %.1f | | %.3f | 1 |\n", bound, bound/uniform)
	top, gaps := prob.best(), 0.0
	for _, m := range prob.means {
		gaps += top - m
	}
	fmt.Fprintf(w, "| least cost of a %s floor, floor · Σ Δᵢ · T | %.1f | | %.3f | |\n", percent(cfg.floor), cfg.floor*gaps*float64(prob.rounds), cfg.floor*gaps*float64(prob.rounds)/uniform)
}

// contextual compares contextual policies with the best single version
// and the oracle on two segments whose best version differs.
func contextual(w io.Writer, cfg config) error {
	s := segments{rate: [2][2]float64{{0.08, 0.03}, {0.04, 0.07}}, rounds: 100000}
	ucb, err := bandit.NewLinUCB(1)
	if err != nil {
		return err
	}
	lts, err := bandit.NewLinThompson(0.25)
	if err != nil {
		return err
	}
	th, _ := bandit.NewThompson(bandit.Bernoulli, 0)
	ridge := func() *bandit.Ridge {
		r, err := bandit.NewRidge([]string{"segment"}, 2, 1)
		if err != nil {
			panic(err)
		}
		return r
	}
	rows := []struct {
		name string
		make func() chooser
	}{
		{"oracle: each segment its best version", func() chooser { return fixed{perSegment: &s} }},
		{"LinUCB, α = 1", func() chooser { return linear{ridge(), ucb.Choose} }},
		{"linear Thompson sampling, v = 0.25", func() chooser { return linear{ridge(), lts.Choose} }},
		{"Thompson sampling without the segment", func() chooser { return &contextFree{p: th, arms: make([]bandit.Arm, 2)} }},
		{"v1 for everyone", func() chooser { return fixed{arm: 0} }},
		{"v2 for everyone", func() chooser { return fixed{arm: 1} }},
	}
	fmt.Fprintf(w, "\n### Contextual: two segments, %s rounds\n\n", thousands(s.rounds))
	fmt.Fprintf(w, "Segment A (x = 0): v1 %.2f, v2 %.2f; segment B (x = 1): v1 %.2f, v2 %.2f; half the requests each. "+
		"Expected reward per request: oracle %.3f, best single version %.3f.\n\n",
		s.rate[0][0], s.rate[1][0], s.rate[0][1], s.rate[1][1], s.oracle(), s.single())
	fmt.Fprintln(w, "| policy | total reward | 95% interval | per request | ÷ best single version | ÷ oracle |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	n := float64(s.rounds)
	for q, row := range rows {
		r := summarize(runMany(cfg, 1<<20|uint64(q), func(rng *rand.Rand) float64 { return playSegments(s, row.make(), rng) }))
		fmt.Fprintf(w, "| %s | %.0f | %.0f – %.0f | %.4f | %.3f | %.3f |\n", row.name, r.mean, r.lo, r.hi, r.mean/n, r.mean/(n*s.single()), r.mean/(n*s.oracle()))
	}
	return nil
}

// percent formats a share as a percentage: 5%, 2.5%.
func percent(share float64) string {
	return strings.TrimSuffix(fmt.Sprintf("%.1f", 100*share), ".0") + "%"
}

// thousands formats n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
