// Package spec reads deployment specs: the YAML a user writes to say how a
// new model version reaches production. Parse sets the defaults, decodes
// the text over them and validates all of it, reporting every problem with
// its line and field path; Plan unfolds the strategy into the steps the
// rollout controller runs and `slipway deploy --dry-run` prints; YAML
// writes the spec back with every default filled in.
//
// The package reads bytes only. Whether the model and versions exist is
// asked of a Resolver (the registry) by Check.
//
// # The format
//
//	deployment:
//	  model: fraud-detector   # required
//	  version: 2.1.0          # required: the candidate
//	  baseline: production    # an alias or a version; default production
//	  strategy: canary        # canary (default) | linear | blue-green | shadow
//	  sticky: header:X-User-Id  # default; or param:NAME: pins each user to one version
//	  stages:                 # canary, and shadow with then: canary
//	    - name: canary        # default stage-N; unique
//	      weight: 1           # percent of live traffic, 0.1..100, increasing
//	      duration: 30m       # 30m, 1h30m, 2d; required unless weight 100 or approval
//	      approval: false     # wait for `slipway rollout promote` before leaving
//	      promotion:
//	        analysis:
//	          metrics:
//	            - name: error-rate
//	              threshold: 1      # in the metric's unit: percent here
//	              minSamples: 100   # default 100
//	          inconclusive: pause   # pause (default) | rollback, when the stage ends without a verdict
//	  linear: {step: 10%, every: 10m, analysis: {…}}      # strategy linear
//	  blueGreen:                                          # strategy blue-green
//	    preview: {duration: 10m, approval: true, analysis: {…}}
//	    keepWarm: true                                    # default true
//	    postPromotion: {duration: 30m, analysis: {…}}
//	  shadow: {mirror: 100, duration: 1h, analysis: {…}, then: canary}  # strategy shadow
//	  rollback:
//	    triggers:
//	      - {metric: error-rate, above: 1, action: pause, notify: true}
//	      - {metric: error-rate, above: 5}                # action defaults to rollback
//	      - {metric: latency-p99, relative: 2}            # 2× the baseline
//	  notifications:
//	    - {webhook: https://hooks.example.com/x, slack: true, events: [paused, rolled-back]}
//	  gates: {…}                                          # kept as given; checked to be a mapping
//
// A canary whose last stage is below 100% gets a final stage "full" at
// 100% with no duration: reaching it completes the rollout and moves the
// production alias to the candidate. Linear steps expand into stages
// step-1 … step-N below 100%, then "full". A shadow without then only
// observes: the candidate is never promoted.
//
// Metrics (see Metrics for the catalogue with units): a bare threshold
// bounds the side where the metric gets worse (an upper bound for
// error-rate, latency, loss and drift; a lower bound for throughput,
// accuracy, AUC, agreement); min and max bound either side; relative
// limits the ratio candidate/baseline on the worse side; maxIncrease and
// maxDecrease limit the change from the baseline in percent. Business
// values (values.NAME) have no worse side, so they take min, max,
// maxIncrease and maxDecrease only.
//
// Top-level keys starting with "x-" are ignored, as a place for YAML
// anchors; merge keys (<<) work anywhere.
package spec
