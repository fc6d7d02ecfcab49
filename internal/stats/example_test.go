package stats_test

import (
	"fmt"

	"github.com/slipway-ml/slipway/internal/stats"
)

// A controller checks the canary's error rate at every tick, carrying the
// running result from tick to tick, and rolls back the first time the
// test rejects with the candidate worse.
func ExampleTwoProportions() {
	ticks := []struct{ xc, nc, xb, nb int64 }{
		{2, 500, 40, 4500},
		{9, 1000, 92, 9000},
		{30, 2000, 181, 18000},
		{52, 3000, 270, 27000},
	}
	var run stats.SeqResult
	for i, tk := range ticks {
		run = stats.Running(run, stats.TwoProportions(tk.xc, tk.nc, tk.xb, tk.nb, stats.SeqOptions{}))
		fmt.Printf("tick %d: %.2f%% vs %.2f%%, p %.3f\n", i+1, 100*run.Candidate, 100*run.Baseline, run.PValue)
		if run.Rejects() && run.Z > 0 {
			fmt.Printf("roll back: error rate up by %.2f points (interval %.2f to %.2f)\n",
				100*run.Estimate, 100*run.Lower, 100*run.Upper)
			break
		}
	}
	// Output:
	// tick 1: 0.40% vs 0.89%, p 1.000
	// tick 2: 0.90% vs 1.02%, p 1.000
	// tick 3: 1.50% vs 1.01%, p 0.719
	// tick 4: 1.73% vs 1.00%, p 0.023
	// roll back: error rate up by 0.73 points (interval 0.04 to 1.03)
}

// The ratio test says by how much the candidate's error rate exceeds the
// baseline's, with an interval that holds at every look.
func ExampleRiskRatio() {
	r := stats.RiskRatio(52, 3000, 270, 27000, stats.SeqOptions{})
	fmt.Printf("ratio %.2f, interval %.2f to %.2f, p %.4f\n", r.Estimate, r.Lower, r.Upper, r.PValue)
	// Output:
	// ratio 1.73, interval 1.05 to 2.72, p 0.0206
}

// Latency at p99 with a 10% tolerance: count the candidate's requests
// slower than 1.1 times the baseline's p99 (from its sketch), and test
// whether more than 1% are.
func ExampleQuantileExceedance() {
	const p, tolerance = 0.99, 0.10
	baselineP99, baselineN := 180.0, int64(40000) // milliseconds, requests
	threshold := (1 + tolerance) * baselineP99
	above, candidateN := int64(61), int64(4000) // candidate requests slower than threshold
	r := stats.QuantileExceedance(above, candidateN, baselineN, p, stats.SeqOptions{})
	fmt.Printf("%.2f%% of candidate requests above %.0f ms (expected %.0f%%): p %.4f, worse: %v\n",
		100*r.Candidate, threshold, 100*r.Baseline, r.PValue, r.Rejects() && r.Z > 0)
	// Output:
	// 1.52% of candidate requests above 198 ms (expected 1%): p 0.1049, worse: false
}
