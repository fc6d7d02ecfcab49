package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
)

func fraud() slipway.Rollout {
	return slipway.Rollout{
		ID: 42, Model: "fraud", Candidate: "3.0.0", Baseline: "2.0.0", BaselineRef: "production",
		Strategy: "canary", Status: slipway.RolloutProgressing,
	}
}

func TestSlackText(t *testing.T) {
	verdict := &slipway.Verdict{Result: slipway.Fail, Reason: "error-rate 4% > 1%"}
	tests := []struct {
		name string
		r    func(*slipway.Rollout)
		ev   slipway.RolloutEvent
		want string
	}{{
		name: "rolled back by the controller, reason escaped",
		ev: slipway.RolloutEvent{Kind: "rolled-back", Actor: "controller", StepName: "canary", Weight: 0,
			Reason: "accuracy 91.2% < 0.98× baseline 96.1%"},
		want: ":rotating_light: fraud 2.0.0 → 3.0.0 rolled back at stage canary: accuracy 91.2% &lt; 0.98× baseline 96.1%",
	}, {
		name: "advanced, fractional weight",
		ev:   slipway.RolloutEvent{Kind: "stage-advanced", Actor: "controller", StepName: "warmup", Weight: 50, Reason: "analysis passed"},
		want: ":arrow_up: fraud 2.0.0 → 3.0.0 advanced to stage warmup (0.5%): analysis passed",
	}, {
		name: "paused by a person",
		ev:   slipway.RolloutEvent{Kind: "paused", Actor: "alice", StepName: "canary", Weight: 500, Reason: "looking into latency"},
		want: ":double_vertical_bar: fraud 2.0.0 → 3.0.0 paused at stage canary (5%) by alice: looking into latency",
	}, {
		name: "reason from the verdict, unnamed step",
		ev:   slipway.RolloutEvent{Kind: "trigger-fired", Actor: "controller", Step: 1, Weight: 2500, Verdict: verdict},
		want: ":warning: fraud 2.0.0 → 3.0.0 trigger fired at step 2 (25%): error-rate 4% &gt; 1%",
	}, {
		name: "completed has no stage",
		ev:   slipway.RolloutEvent{Kind: "completed", Actor: "controller", StepName: "full", Weight: 10000},
		want: ":white_check_mark: fraud 2.0.0 → 3.0.0 completed",
	}, {
		name: "undone names the version production returned to",
		r:    func(r *slipway.Rollout) { r.Previous = "2.0.0" },
		ev:   slipway.RolloutEvent{Kind: "undone", Actor: "bob", Reason: "complaints & refunds"},
		want: ":leftwards_arrow_with_hook: fraud 2.0.0 → 3.0.0 undone, production back on 2.0.0 by bob: complaints &amp; refunds",
	}, {
		name: "no baseline, multi-line reason folded",
		r:    func(r *slipway.Rollout) { r.Baseline = "" },
		ev:   slipway.RolloutEvent{Kind: "approval-needed", Actor: "controller", StepName: "half", Weight: 5000, Reason: "all metrics pass;\n  promote to go on"},
		want: ":raised_hand: fraud 3.0.0 awaits approval at stage half (50%): all metrics pass; promote to go on",
	}, {
		name: "unknown kind still says something",
		ev:   slipway.RolloutEvent{Kind: "rebalanced", Actor: "controller", StepName: "canary", Weight: 100},
		want: ":information_source: fraud 2.0.0 → 3.0.0 rebalanced stage canary (1%)",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fraud()
			if tt.r != nil {
				tt.r(&r)
			}
			got := SlackText(Message{Rollout: r, Event: tt.ev})
			if got != tt.want {
				t.Errorf("SlackText:\ngot  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestSlackTextCutsLongReasons(t *testing.T) {
	ev := slipway.RolloutEvent{Kind: "aborted", Actor: "alice", StepName: "canary", Reason: strings.Repeat("why ", 200)}
	got := SlackText(Message{Rollout: fraud(), Event: ev})
	if !strings.HasSuffix(got, "…") || len([]rune(got)) > maxReason+80 {
		t.Errorf("SlackText of a long reason is %d characters: %q", len([]rune(got)), got)
	}
}

func TestDeliveryID(t *testing.T) {
	at := time.Unix(1700000000, 5)
	tests := []struct {
		m    Message
		want string
	}{
		{Message{Rollout: fraud(), Event: slipway.RolloutEvent{Rollout: 42, Seq: 7, Kind: "paused", At: at}}, "42-7"},
		{Message{Event: slipway.RolloutEvent{Rollout: 9, Seq: 3}}, "9-3"},
		{Message{Rollout: fraud(), Event: slipway.RolloutEvent{Kind: "paused", At: at}}, "42-paused-1700000000000000005"},
	}
	for _, tt := range tests {
		if got := tt.m.deliveryID(); got != tt.want {
			t.Errorf("deliveryID(%+v) = %q, want %q", tt.m.Event, got, tt.want)
		}
	}
}

func TestTargetWants(t *testing.T) {
	all := Target{URL: "x"}
	some := Target{URL: "x", Events: []string{"rolled-back", "completed"}}
	tests := []struct {
		t    Target
		kind string
		want bool
	}{
		{all, "started", true},
		{all, "undone", true},
		{all, "decision", false},
		{some, "rolled-back", true},
		{some, "started", false},
		{Target{URL: "x", Events: []string{"decision"}}, "decision", false},
	}
	for _, tt := range tests {
		if got := tt.t.wants(tt.kind); got != tt.want {
			t.Errorf("Target{Events: %q}.wants(%q) = %v, want %v", tt.t.Events, tt.kind, got, tt.want)
		}
	}
}
