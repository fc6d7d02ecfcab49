package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
)

func f64(x float64) *float64 { return &x }

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const storedSpec = `deployment:
  model: fraud
  version: 2.0.0
  baseline: production
  stages:
    - name: canary
      weight: 10
      duration: 10m
      promotion:
        analysis:
          metrics:
            - {name: error-rate, threshold: 1}
    - name: half
      weight: 50
      duration: 10m
  rollback:
    triggers:
      - {metric: error-rate, above: 5}
`

// rolledBack is a canary that passed its first stage, then was rolled
// back by a trigger in the second, as the controller logs it.
func rolledBack() Inputs {
	pass := &slipway.Verdict{Result: slipway.Pass, Reason: "every metric passed", Window: 10 * time.Minute, Metrics: []slipway.MetricResult{
		{Metric: "error-rate", Rule: "error-rate ≤ 1% (n ≥ 100)", Result: slipway.Pass, Candidate: f64(0.4), Baseline: f64(0.5),
			CandidateN: 1200, BaselineN: 10800, MinSamples: 100, Reason: "0.4% ≤ 1%", Test: "msprt-one-proportion", PValue: f64(1)}}}
	wait := &slipway.Verdict{Result: slipway.Inconclusive, Reason: "error-rate: 40 of 100 requests", Window: 10 * time.Minute,
		Metrics: []slipway.MetricResult{{Metric: "error-rate", Rule: "error-rate ≤ 1% (n ≥ 100)", Result: slipway.Inconclusive, CandidateN: 40, MinSamples: 100}}}
	fired := &slipway.Verdict{Result: slipway.Fail, Reason: "6.1% > 5%", Window: 3 * time.Minute, Metrics: []slipway.MetricResult{
		{Metric: "error-rate", Rule: "error-rate above 5%", Result: slipway.Fail, Candidate: f64(6.1), CandidateN: 820, MinSamples: 100, Reason: "6.1% > 5%"}}}
	trig := "trigger error-rate above 5% fired: 6.1% > 5%"
	r := slipway.Rollout{ID: 7, Model: "fraud", Candidate: "2.0.0", Baseline: "1.0.0", BaselineRef: "production", Strategy: "canary",
		Spec: storedSpec, Status: slipway.RolloutRolledBack, Step: 1, Reason: trig, CreatedBy: "alice", CreatedAt: t0}
	return Inputs{Rollout: r, Now: t0.Add(time.Hour), Events: []slipway.RolloutEvent{
		{Rollout: 7, Seq: 1, At: t0, Actor: "alice", Kind: "started", Status: slipway.RolloutProgressing, StepName: "canary", Weight: 1000, Reason: "started by alice"},
		{Rollout: 7, Seq: 2, At: t0.Add(10 * time.Minute), Actor: "controller", Kind: "decision", Status: slipway.RolloutProgressing, StepName: "canary", Weight: 1000,
			Reason: "stage canary served 10m but its analysis is inconclusive; waiting for data", Verdict: wait},
		{Rollout: 7, Seq: 3, At: t0.Add(12 * time.Minute), Actor: "controller", Kind: "stage-advanced", Status: slipway.RolloutProgressing, Step: 1, StepName: "half", Weight: 5000,
			Reason: "stage canary passed: every metric passed; advancing to half (50%)", Verdict: pass},
		{Rollout: 7, Seq: 4, At: t0.Add(15 * time.Minute), Actor: "controller", Kind: "trigger-fired", Status: slipway.RolloutRolledBack, Step: 1, StepName: "half", Reason: trig, Verdict: fired},
		{Rollout: 7, Seq: 5, At: t0.Add(15 * time.Minute), Actor: "controller", Kind: "rolled-back", Status: slipway.RolloutRolledBack, Step: 1, StepName: "half", Reason: trig, Verdict: fired},
	}}
}

func TestBuildAttributesVerdictsToStages(t *testing.T) {
	rep := Build(rolledBack())
	if len(rep.Stages) != 2 {
		t.Fatalf("%d stages; want canary and half", len(rep.Stages))
	}
	canary, half := rep.Stages[0], rep.Stages[1]
	if canary.Name != "canary" || canary.Weight != 1000 || canary.Planned != 10*time.Minute || canary.Served(rep.Now) != 12*time.Minute {
		t.Errorf("canary %+v", canary)
	}
	// The stage-advanced event carries the canary's verdict, not half's.
	if canary.Verdict == nil || canary.Verdict.Result != slipway.Pass || canary.Exit.Kind != "stage-advanced" {
		t.Errorf("canary verdict %+v, exit %+v", canary.Verdict, canary.Exit)
	}
	// A trigger's verdict is not the stage's analysis.
	if half.Verdict != nil || half.Exit == nil || half.Exit.Kind != "rolled-back" || half.Served(rep.Now) != 3*time.Minute {
		t.Errorf("half %+v", half)
	}
	if rep.Duration() != 15*time.Minute || !rep.Ended() {
		t.Errorf("duration %v, ended %v", rep.Duration(), rep.Ended())
	}
	if len(rep.Decisions) != 5 || len(rep.Rollbacks) != 2 {
		t.Errorf("%d decisions, %d rollbacks; want 5 and 2", len(rep.Decisions), len(rep.Rollbacks))
	}
}

func TestMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := Build(rolledBack()).Markdown(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"# Post-deployment report: fraud 1.0.0 (production) → 2.0.0 (rollout #7)",
		"| Duration | 15m |",
		"| Outcome | Rolled back by controller: all traffic back on 1.0.0. Trigger error-rate above 5% fired: 6.1% > 5%. |",
		"| Started | 2025-03-01 12:00:00 UTC by alice |",
		"| 2025-03-01 12:12:00 | +12m | controller | stage-advanced | 2 half | 50% | stage canary passed",
		"| 1 | canary | 10% | 10m | 2025-03-01 12:00:00 | 12m | pass | stage-advanced by controller |",
		"| 2 | half | 50% | 10m | 2025-03-01 12:12:00 | 3m | - | rolled-back by controller |",
		"### canary (10%): pass over 10m of traffic",
		"| error-rate | error-rate ≤ 1% (n ≥ 100) | 0.5% | 0.4% | -20.0% | 1200/10800 (min 100) | pass | 0.4% ≤ 1% | msprt-one-proportion, p = 1 |",
		"**trigger-fired** by controller at 2025-03-01 12:15:00 (+15m), stage 2 half",
		"with 50% of traffic on the candidate before it",
		"  - error-rate above 5%: candidate 6.1%, baseline -, n 820/- (min 100).",
		"It was rolled back automatically after 15m, at stage half; all traffic is back on 1.0.0.",
		"At most 50% of live traffic went to 2.0.0.",
		"Every decision after the start was the controller's",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestOutcomes(t *testing.T) {
	in := rolledBack()
	in.Events = in.Events[:3]
	in.Rollout.Status, in.Rollout.Reason = slipway.RolloutProgressing, "advancing"
	rep := Build(in)
	if rep.Ended() || rep.Duration() != time.Hour || !strings.Contains(rep.Outcome(), "Still progressing") {
		t.Errorf("live: ended %v, duration %v, %q", rep.Ended(), rep.Duration(), rep.Outcome())
	}
	if s := rep.Stages[len(rep.Stages)-1]; s.Exit != nil || s.Served(rep.Now) != 48*time.Minute {
		t.Errorf("the stage still served: %+v", s)
	}

	in = rolledBack()
	in.Events = append(in.Events[:3], slipway.RolloutEvent{Rollout: 7, Seq: 4, At: t0.Add(20 * time.Minute), Actor: "bob", Kind: "aborted",
		Status: slipway.RolloutAborted, Step: 1, StepName: "half", Reason: "aborted by bob: support tickets"})
	in.Rollout.Status, in.Rollout.Reason = slipway.RolloutAborted, "aborted by bob: support tickets"
	rep = Build(in)
	if !strings.HasPrefix(rep.Outcome(), "Aborted by bob") || !strings.Contains(rep.Stakeholders(), `aborted by bob ("support tickets") after 20m`) ||
		!strings.Contains(rep.Stakeholders(), "People stepped in 1 time(s)") {
		t.Errorf("aborted: %q / %q", rep.Outcome(), rep.Stakeholders())
	}
	if len(rep.Rollbacks) != 0 || len(rep.Stops) != 1 {
		t.Errorf("an abort counted as %d rollback(s), %d stop(s); want 0 and 1", len(rep.Rollbacks), len(rep.Stops))
	}

	in.Rollout.Spec = "deployment: {"
	rep = Build(in)
	if rep.Plan != nil || len(rep.Notes) != 1 || rep.Stages[0].Name != "canary" {
		t.Errorf("unparsable spec: plan %v, notes %q, stages %+v", rep.Plan, rep.Notes, rep.Stages)
	}
}

// TestStatedReason takes what a person said out of the reason the
// controller records for an abort or an undo, so that the report says it
// once.
func TestStatedReason(t *testing.T) {
	for _, c := range []struct {
		kind, actor, reason string
		said                string
		ok                  bool
	}{
		{"aborted", "alice", "aborted by alice: wrong features; all traffic back on 1.0.0, 2.0.0 kept for inspection", ` ("wrong features")`, true},
		{"aborted", "alice", "aborted by alice; all traffic back on 1.0.0, 2.0.0 kept for inspection", ", who gave no reason", true},
		{"aborted", "alice", "aborted by alice: p99 up; errors up; all traffic back on 1.0.0, 2.0.0 kept for inspection", ` ("p99 up; errors up")`, true},
		{"undone", "bob", "undone by bob: complaints; production back on 1.0.0", ` ("complaints")`, true},
		{"aborted", "alice", "aborted by alice", ", who gave no reason", true},
		{"aborted", "alice", "stopped for the night", "", false},
		{"aborted", "alice", "aborted by alicea: typo", "", false},
		{"rolled-back", "controller", "rolled-back by controller: x", "", false},
	} {
		said, ok := statedReason(&slipway.RolloutEvent{Kind: c.kind, Actor: c.actor, Reason: c.reason})
		if said != c.said || ok != c.ok {
			t.Errorf("%s by %s, %q: got %q, %v; want %q, %v", c.kind, c.actor, c.reason, said, ok, c.said, c.ok)
		}
	}
}
