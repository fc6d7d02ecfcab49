package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/slipway-ml/slipway"
)

// Stakeholders sums the rollout up in a paragraph for people who were not
// watching: what was deployed, how it ended and why, how long it took,
// how much traffic the candidate took at most, what the last analysis
// measured, and who stepped in.
func (r Report) Stakeholders() string {
	ro := r.Rollout
	var b strings.Builder
	fmt.Fprintf(&b, "On %s UTC, %s %s was rolled out against %s with a %s rollout.", r.Start.UTC().Format("2006-01-02 at 15:04"), ro.Model, ro.Candidate, ro.Baseline, ro.Strategy)
	switch ro.Status {
	case slipway.RolloutCompleted, slipway.RolloutUndone:
		fmt.Fprintf(&b, " It completed after %s", short(r.completedAfter()))
		if r.Plan == nil || r.Plan.Promotes {
			fmt.Fprintf(&b, " and %s became production", ro.Candidate)
		}
		b.WriteString(".")
		if ro.Status == slipway.RolloutUndone {
			last := r.lastTransition()
			if said, ok := statedReason(last); ok {
				fmt.Fprintf(&b, " It was later undone by %s%s: production is back on %s.", last.Actor, said, orText(ro.Previous, ro.Baseline))
			} else {
				fmt.Fprintf(&b, " It was later undone: production is back on %s. %s", orText(ro.Previous, ro.Baseline), sentence(ro.Reason))
			}
		}
	case slipway.RolloutRolledBack:
		fmt.Fprintf(&b, " It was rolled back automatically after %s, at stage %s; all traffic is back on %s. %s", short(r.Duration()), r.lastStage(), ro.Baseline, sentence(ro.Reason))
	case slipway.RolloutAborted:
		// An abort is a person's call, not the controller's: say who, and
		// what they said, once.
		last := r.lastTransition()
		if said, ok := statedReason(last); ok {
			fmt.Fprintf(&b, " It was aborted by %s%s after %s, at stage %s; all traffic is back on %s and %s is kept for inspection.",
				last.Actor, said, short(r.Duration()), r.lastStage(), ro.Baseline, ro.Candidate)
		} else {
			fmt.Fprintf(&b, " It was aborted after %s, at stage %s; all traffic is back on %s. %s", short(r.Duration()), r.lastStage(), ro.Baseline, sentence(ro.Reason))
		}
	default:
		fmt.Fprintf(&b, " It is still %s after %s, at stage %s.", ro.Status, short(r.Duration()), r.lastStage())
	}
	fmt.Fprintf(&b, " At most %s of live traffic went to %s.", percent(r.maxWeight()), ro.Candidate)
	if v := r.lastVerdict(); v != nil {
		var parts []string
		for _, m := range v.Metrics {
			if m.Candidate != nil && m.Baseline != nil {
				parts = append(parts, fmt.Sprintf("%s %s against %s", m.Metric, value(m.Metric, m.Candidate), value(m.Metric, m.Baseline)))
			} else if m.Candidate != nil {
				parts = append(parts, fmt.Sprintf("%s %s", m.Metric, value(m.Metric, m.Candidate)))
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(&b, " The last analysis measured the new version at %s (%s).", strings.Join(parts, ", "), v.Result)
		}
	}
	if n := r.byPeople(); n > 0 {
		fmt.Fprintf(&b, " People stepped in %d time(s); see Decisions.", n)
	} else {
		b.WriteString(" Every decision after the start was the controller's, on the measurements.")
	}
	return b.String()
}

// completedAfter is the time from the start to the completion.
func (r Report) completedAfter() (d time.Duration) {
	for _, e := range r.Events {
		if e.Kind == "completed" {
			return e.At.Sub(r.Start)
		}
	}
	return r.Duration()
}

func (r Report) lastStage() string {
	if n := len(r.Stages); n > 0 {
		return r.Stages[n-1].Name
	}
	return "-"
}

func (r Report) maxWeight() int {
	w := 0
	for _, e := range r.Events {
		w = max(w, e.Weight)
	}
	return w
}

// lastVerdict is the last verdict recorded, trigger or analysis.
func (r Report) lastVerdict() *slipway.Verdict {
	for i := len(r.Events) - 1; i >= 0; i-- {
		if v := r.Events[i].Verdict; v != nil {
			return v
		}
	}
	return nil
}
