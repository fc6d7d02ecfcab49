package runbook

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/examples"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

const canarySpec = `deployment:
  model: fraud
  version: 2.0.0
  stages:
    - name: canary
      weight: 1
      duration: 30m
      promotion:
        analysis:
          metrics:
            - {name: error-rate, threshold: 1}
    - name: limited
      weight: 10
      duration: 1h
      promotion:
        analysis:
          metrics:
            - {name: error-rate, threshold: 1}
  rollback:
    triggers:
      - {metric: error-rate, above: 5}
`

// fraudVersions are the bundled fraud example versions by version.
func fraudVersions(t *testing.T) map[string]slipway.Version {
	t.Helper()
	exs, err := examples.All()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]slipway.Version{}
	for _, ex := range exs {
		if ex.Model == "fraud" {
			v := ex.Meta
			v.Format = slipway.FormatXGBoost
			data, _ := ex.Artifact()
			v.Size = int64(len(data))
			out[v.Version] = v
		}
	}
	return out
}

func inputs(t *testing.T, specText, traffic string) Inputs {
	t.Helper()
	s, err := spec.Parse([]byte(specText))
	if err != nil {
		t.Fatal(err)
	}
	vs := fraudVersions(t)
	in := Inputs{Spec: s, Candidate: vs[s.Deployment.Version], Baseline: vs["1.0.0"], Production: "1.0.0"}
	if traffic != "" {
		if in.Traffic, err = ParseRate(traffic); err != nil {
			t.Fatal(err)
		}
	}
	return in
}

// assertContains fails the test for each of wants that out, the text of
// what, lacks.
func assertContains(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, out)
		}
	}
}

func render(t *testing.T, p Plan) string {
	t.Helper()
	var b bytes.Buffer
	if err := p.Markdown(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestStageRequestsAndSufficiency(t *testing.T) {
	for _, tc := range []struct {
		traffic               string
		cand, base            [2]float64 // canary, limited
		canary, limited       Sufficiency
		canaryRow, limitedRow string
	}{
		// 50 rps: the canary's 1% sees 900 requests in 30m; failing a
		// candidate at 2% against the 1% limit takes ~1,275, which only
		// the extra wait brings. The 10% stage sees 18,000.
		{"50rps", [2]float64{900, 18000}, [2]float64{89100, 162000}, Extended, Enough,
			"| 1 | canary | canary | 1% | 30m | 0s | - | 900 | 89,100 | only with the extra wait |",
			"| 2 | limited | canary | 10% | 1h | 30m | - | 18,000 | 162k | enough |"},
		// 36k/h is 10 rps: 180 canary requests in 30m, far short.
		{"36k/h", [2]float64{180, 3600}, [2]float64{17820, 32400}, NotEnough, Enough,
			"| 1 | canary | canary | 1% | 30m | 0s | - | 180 | 17,820 | not enough |",
			"| 2 | limited | canary | 10% | 1h | 30m | - | 3,600 | 32,400 | enough |"},
	} {
		p := Build(inputs(t, canarySpec, tc.traffic))
		if len(p.Stages) != 3 {
			t.Fatalf("%d stages; want canary, limited and the added full", len(p.Stages))
		}
		for i, want := range []Sufficiency{tc.canary, tc.limited} {
			s := p.Stages[i]
			if got := s.CandidateRequests(); int(got+0.5) != int(tc.cand[i]) {
				t.Errorf("%s: stage %s candidate requests %v; want %v", tc.traffic, s.Step.Name, got, tc.cand[i])
			}
			if got := s.BaselineRequests(); int(got+0.5) != int(tc.base[i]) {
				t.Errorf("%s: stage %s baseline requests %v; want %v", tc.traffic, s.Step.Name, got, tc.base[i])
			}
			if s.Decides != want {
				t.Errorf("%s: stage %s %s; want %s", tc.traffic, s.Step.Name, s.Decides, want)
			}
		}
		out := render(t, p)
		for _, row := range []string{tc.canaryRow, tc.limitedRow} {
			if !strings.Contains(out, row) {
				t.Errorf("%s: plan lacks the row\n%s\nin:\n%s", tc.traffic, row, out)
			}
		}
	}
}

func TestConditionTimes(t *testing.T) {
	p := Build(inputs(t, canarySpec, "50rps"))
	c := p.Stages[0].Conditions[0]
	// 100 requests at 0.5 rps: 200s to pass; the test's need at 0.5 rps.
	if c.Pass.After != 200*time.Second {
		t.Errorf("pass after %v; want 3m20s", c.Pass.After)
	}
	fc, _, _ := c.Need.FailAt()
	if want := time.Duration(float64(fc) / 0.5 * float64(time.Second)); c.Fail.After != want {
		t.Errorf("fail after %v; want %v for %d requests", c.Fail.After, want, fc)
	}
	out := render(t, p)
	assertContains(t, "plan", out,
		"| error-rate ≤ 1% (n ≥ 100) | 100 requests; after ~3m20s | ~1,275 requests for a candidate at 2% (twice the 1% limit); after ~42m30s | msprt-one-proportion | only with the extra wait |",
		"If the analysis has no verdict when the stage ends: wait up to 30m more for data, then pause for a person.",
		"baseline error rate 1%: assumed 1%: no live traffic of 1.0.0;",
	)
	// The trigger above 5% catches a candidate at 10% after ~255 requests:
	// 8m30s at the canary's 0.5 rps.
	if got := p.Triggers[0].Stages[0].Fail.After; got != 510*time.Second {
		t.Errorf("trigger at the canary after %v; want 8m30s", got)
	}
}

func TestPlanWithoutTraffic(t *testing.T) {
	p := Build(inputs(t, canarySpec, ""))
	out := render(t, p)
	assertContains(t, "plan", out,
		"| Traffic | not stated (give --traffic to judge each stage) |",
		"| 1 | canary | canary | 1% | 30m | 0s | - | - | - | not judged |",
		"the traffic is not stated (--traffic)",
		"~1,275 requests for a candidate at 2%",
	)
}

func TestPlanSections(t *testing.T) {
	in := inputs(t, canarySpec, "50rps")
	in.Server = "http://slipway.internal:8080"
	out := render(t, Build(in))
	sections := []string{"# Deployment plan: fraud 2.0.0", "## Overview", "### Risk: ", "### Change summary", "## Gates",
		"## Strategy and stages", "## Routing", "## Metrics watched", "## Escalation", "## Rollback", "## Verification checklist",
		"## Post-deployment success criteria", "## Message to stakeholders (draft)"}
	last := -1
	for _, s := range sections {
		i := strings.Index(out, s)
		if i < 0 {
			t.Fatalf("plan lacks section %q:\n%s", s, out)
		}
		if i < last {
			t.Errorf("section %q out of order", s)
		}
		last = i
	}
	assertContains(t, "plan", out,
		"| Baseline (previous) | 1.0.0 (production), xgboost",
		"No gate report stored — run `slipway --server http://slipway.internal:8080 gate fraud@2.0.0 --data HOLDOUT -f deploy.yaml`",
		"slipway --server http://slipway.internal:8080 rollout abort fraud --reason",
		"slipway --server http://slipway.internal:8080 rollout undo fraud --reason",
		"slipway --server http://slipway.internal:8080 route clear fraud",
		"Sticky key `header:X-User-Id`",
		"| error-rate above 5% | rollback | - | 100 |",
		"- trigger error-rate above 5%\n- stage canary fails its analysis",
		"- stage canary still inconclusive after twice its duration",
		"| auc | 0.8414 | 0.9178 | +0.0764 (+9.1%) | better |",
		"| log_loss | 0.1756 | 0.1269 | -0.04876 (-27.8%) | better |",
		"> **fraud 2.0.0 rollout planned**",
		"- [ ] The plan the server will run matches this one: `slipway --server http://slipway.internal:8080 deploy -f deploy.yaml --dry-run`",
	)
}

func TestRisk(t *testing.T) {
	reasons := func(p Plan) string {
		var b strings.Builder
		for _, r := range p.Risk.Reasons {
			b.WriteString(r.Level.String() + ": " + r.Text + "\n")
		}
		return b.String()
	}
	// 2.0.0 is better than 1.0.0 in training; no gates and the canary short
	// of traffic keep it at medium.
	p := Build(inputs(t, canarySpec, "36k/h"))
	if p.Risk.Level != Medium {
		t.Errorf("risk %s; want medium:\n%s", p.Risk.Level, reasons(p))
	}
	for _, want := range []string{"no gate report is stored for 2.0.0", "little traffic: stage canary cannot decide", "training log_loss changes by 27.8%"} {
		if !strings.Contains(reasons(p), want) {
			t.Errorf("reasons lack %q:\n%s", want, reasons(p))
		}
	}

	// A schema change breaks callers; failed gates and worse training
	// metrics are high as well.
	in := inputs(t, strings.Replace(canarySpec, "2.0.0", "3.0.0", 1), "50rps")
	in.Candidate.Signature.Inputs = in.Candidate.Signature.Inputs[1:]
	in.Candidate.Signature.Inputs[0].Datatype = "FP64"
	in.Gates = &GateReport{Baseline: "1.0.0", Gates: []GateRow{
		{"quality", "auc", "≥ 0.85", "0.784", "FAIL"}, {"schema", "inputs", "compatible", "2 changes", "FAIL"}, {"size", "size", "≤ 10 MiB", "1.1 MiB", "PASS"}},
		Comparison: []ComparisonRow{{"auc", "0.8414", "0.7845", "-6.8%", "no"}}}
	p = Build(in)
	if p.Risk.Level != High {
		t.Fatalf("risk %s; want high:\n%s", p.Risk.Level, reasons(p))
	}
	for _, want := range []string{
		"schema change: input amount: missing in the candidate; input hour: FP32 → FP64",
		"failed gates: quality auc, schema inputs",
		"training log_loss is 209% worse",
		"medium: training auc is slightly worse (0.841 → 0.784)",
	} {
		if !strings.Contains(reasons(p), want) {
			t.Errorf("reasons lack %q:\n%s", want, reasons(p))
		}
	}
	out := render(t, p)
	assertContains(t, "plan", out,
		": 3 gates, 2 failed.",
		"| quality | auc | ≥ 0.85 | 0.784 | FAIL |",
		"| Metric | 1.0.0 | 3.0.0 | change | acceptable |",
		"| auc | 0.8414 | 0.7845 | -6.8% | no |",
		"- Schema: input amount: missing in the candidate **breaking**.",
		"| Risk | HIGH |",
	)
	if strings.Contains(out, "No gate report stored") {
		t.Error("a stored gate report is reported missing")
	}

	// No analysis and no triggers: nothing stops a bad candidate.
	p = Build(inputs(t, "deployment: {model: fraud, version: 2.0.0, stages: [{weight: 50, duration: 10m}]}", "50rps"))
	if !strings.Contains(reasons(p), "high: no analysis and no rollback triggers") || !strings.Contains(reasons(p), "sends 50% of traffic") {
		t.Errorf("reasons:\n%s", reasons(p))
	}
}

func TestBaselinesFromLiveTelemetry(t *testing.T) {
	in := inputs(t, strings.Replace(canarySpec, "threshold: 1}", "relative: 1.5}", 1), "50rps")
	acc := 0.95
	in.Live = &telemetry.ModelStats{Model: "fraud", WindowSeconds: 3600, Versions: []telemetry.VersionStats{
		{Version: "1.0.0", Requests: 40000, ServerErrors: 150, Timeouts: 50, Quality: telemetry.QualityStats{N: 10000, Accuracy: &acc}},
	}}
	p := Build(in)
	b := p.Baselines
	if b.ErrorRate != 0.005 || b.LabelShare != 0.25 || b.Accuracy != 0.95 {
		t.Fatalf("baselines %+v", b)
	}
	out := render(t, p)
	assertContains(t, "plan", out,
		"baseline error rate 0.5%: measured on 1.0.0: 200 errors in 40,000 requests over the last 1h0m0s;",
		"labelled feedback per request 25%: measured on 1.0.0",
		"a candidate at 1.5% against the baseline's 0.5% (twice the 1.5× limit)",
		"msprt-risk-ratio",
	)

	// No errors seen: the rate is estimated at one in the requests.
	in.Live.Versions[0].ServerErrors, in.Live.Versions[0].Timeouts = 0, 0
	if b := Build(in).Baselines; b.ErrorRate != 1/40001.0 || !strings.Contains(b.ErrorRateSource, "no errors in 40,000 requests") {
		t.Fatalf("baselines without errors %+v", b)
	}
}

func TestBlueGreenAndShadowRouting(t *testing.T) {
	bg := `deployment:
  model: fraud
  version: 2.0.0
  strategy: blue-green
  blueGreen:
    preview: {duration: 10m}
    postPromotion:
      duration: 30m
      analysis:
        metrics:
          - {name: error-rate, relative: 1.5}
`
	p := Build(inputs(t, bg, "50rps"))
	out := render(t, p)
	assertContains(t, "blue-green plan", out,
		"smoke-test it with the header `X-Slipway-Preview: true` or the pinned path `/v2/models/fraud/versions/2.0.0/infer`",
		"preview requests only",
		"1.0.0 is kept loaded until the stage passes, so a rollback is instant",
		"never: the baseline gets no traffic in this step",
	)
	// After the switch the baseline answers nothing: a relative condition
	// cannot decide there.
	if s := p.Stages[1]; s.Decides != NotEnough {
		t.Errorf("switch stage %s: %s; want not enough", s.Step.Name, s.Decides)
	}

	shadow := `deployment:
  model: fraud
  version: 2.0.0
  strategy: shadow
  shadow:
    mirror: 50
    duration: 20m
    analysis:
      metrics:
        - {name: agreement, threshold: 95}
        - {name: latency-p99, relative: 1.2}
`
	p = Build(inputs(t, shadow, "20rps"))
	if s := p.Stages[0]; s.CandidateRPS != 10 || s.BaselineRPS != 20 {
		t.Fatalf("shadow rates %v/%v; want 10 mirrored and 20 answered", s.CandidateRPS, s.BaselineRPS)
	}
	out = render(t, p)
	assertContains(t, "shadow plan", out, "12,000 mirrored", "50% of requests are mirrored to 2.0.0", "The shadow ends without promoting: production stays on 1.0.0.")
}
