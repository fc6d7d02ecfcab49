package experiment_test

import (
	"fmt"
	"time"

	"github.com/slipway-ml/slipway/internal/experiment"
	"github.com/slipway-ml/slipway/internal/stats"
)

// A controller analyzes an A/B test of two model versions at one of its
// ticks: conversions of the users each version served, after three days
// of a one-week minimum.
func ExampleAnalyze() {
	arms := []experiment.Arm{
		{Name: "v1", Share: 0.5, Assigned: 31200, Values: stats.Moments{N: 31200, Sum: 1530}},
		{Name: "v2", Share: 0.5, Assigned: 31050, Values: stats.Moments{N: 31050, Sum: 1790}},
	}
	opt := experiment.Options{MinSamples: 10000, MinDuration: 7 * 24 * time.Hour}
	for _, elapsed := range []time.Duration{72 * time.Hour, 7 * 24 * time.Hour} {
		r, err := experiment.Analyze(arms, elapsed, opt)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(r.Summary)
		for _, a := range r.Arms {
			fmt.Printf("  %s (%.0f%% to be best)\n", a.Summary, 100*a.ProbBest)
		}
	}
	// Output:
	// waiting: ran 3d of 7d
	//   v1 converts 4.9% over 31,200 users: control (0% to be best)
	//   v2 converts 5.76% vs 4.9% v1 (+17.6%, 95% CI +5.0% to +31.7%, always-valid p=0.00015) over 62,250 users: better than control, not the winner yet (100% to be best)
	// v2 wins: converts 5.76% vs 4.9% v1 (+17.6%), significantly better than the control
	//   v1 converts 4.9% over 31,200 users: control (0% to be best)
	//   v2 converts 5.76% vs 4.9% v1 (+17.6%, 95% CI +5.0% to +31.7%, always-valid p=0.00015) over 62,250 users: winner (100% to be best)
}

// A guardrail on the error rate lets a challenger be at most 10% worse
// than the control.
func ExampleCheckGuardrail() {
	arms := []experiment.Arm{
		{Name: "v1", Share: 0.5, Assigned: 80000, Values: stats.Moments{N: 80000, Sum: 800}},
		{Name: "v2", Share: 0.5, Assigned: 80000, Values: stats.Moments{N: 80000, Sum: 1080}},
	}
	res, err := experiment.CheckGuardrail(arms, experiment.Guardrail{
		Metric:         experiment.Metric{Name: "errors", LowerIsBetter: true},
		MaxDegradation: 0.1,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res[0].Summary)
	// Output:
	// v2 errors 1.35% vs 1% v1 (+35.0% worse, 95% CI +15.1% to +59.0%) over 160,000 users: breached (allowed 10% worse)
}
