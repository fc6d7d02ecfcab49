package spec_test

import (
	"fmt"
	"os"

	"github.com/slipway-ml/slipway/internal/spec"
)

func ExampleParse() {
	s, err := spec.Parse([]byte(`
deployment:
  model: fraud-detector
  version: 2.1.0
  stages:
    - name: canary
      weight: 0.5
      duration: 30m
      promotion:
        analysis:
          metrics:
            - name: error-rate
              threshold: 1
    - name: half
      weight: 50
      duration: 1h
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, st := range s.Plan().Steps {
		fmt.Printf("%s: %d bp for %v from %v\n", st.Name, st.Weight, st.Duration, st.Start)
	}
	// Output:
	// canary: 50 bp for 30m0s from 0s
	// half: 5000 bp for 1h0m0s from 30m0s
	// full: 10000 bp for 0s from 1h30m0s
}

func ExampleParse_errors() {
	_, err := spec.Parse([]byte(`
deployment:
  model: fraud-detector
  version: 2.1.0
  stages:
    - name: canary
      wieght: 1
      duration: 30m
    - name: limited
      weight: 0.05
      duration: -1h
`))
	fmt.Println(err)
	// Output:
	// line 7: deployment.stages[0].wieght: unknown field; did you mean weight?
	// line 10: deployment.stages[1].weight: 0.05 is below the minimum 0.1 (percent)
	// line 11: deployment.stages[1].duration: -1h is negative
}

func ExamplePlan_Render() {
	s, err := spec.Parse([]byte(`
deployment:
  model: churn
  version: 1.4.0
  strategy: linear
  linear: {step: 25%, every: 10m}
  rollback:
    triggers:
      - {metric: error-rate, above: 5}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := s.Plan().Render(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// Deployment plan: churn version 1.4.0 against baseline production, strategy linear
	//
	// STAGE    WEIGHT  DURATION  STARTS AT  ANALYSIS  APPROVAL
	// step-1*  25%     10m       0s         -         -
	// step-2*  50%     10m       10m        -         -
	// step-3*  75%     10m       20m        -         -
	// full*    100%    -         30m        -         -
	//
	// * full: added, as the last stage goes to 100%.
	// * step-N: expanded from linear.
	// Expected duration: 30m.
	// On completion the production alias moves to 1.4.0.
	// A stage advances when its duration is over and its analysis passes; a failed analysis rolls back;
	// an analysis without a verdict when its stage ends waits for data for up to the stage's duration again,
	// then pauses the rollout unless the stage says otherwise.
	//
	// Rollback triggers, checked at every tick of every stage:
	// WHEN                 ACTION    NOTIFY  MIN SAMPLES
	// error-rate above 5%  rollback  -       100
	//
	// Notifications: none.
}
