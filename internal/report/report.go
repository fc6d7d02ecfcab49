// Package report writes the post-deployment report of a rollout, as
// `slipway report` prints it: from the rollout's stored events and the
// verdicts they carry (and live telemetry while the server still keeps
// it), the timeline, the metrics of both versions side by side at the end
// of each stage, every decision with its reason, the controller's
// rollbacks apart from the aborts and undos people made, the duration,
// the outcome and a summary for stakeholders.
//
// Gather reads a rollout through small interfaces; Build works the report
// out of the events alone; Report.Markdown renders it.
package report

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

// Rollouts reads rollouts and their events; *api.Client meets it.
type Rollouts interface {
	Rollouts(ctx context.Context, f store.RolloutFilter) ([]slipway.Rollout, error)
	RolloutEvents(ctx context.Context, model string, id int64) ([]slipway.RolloutEvent, error)
}

// StatsSource reads a model's live telemetry over a window; *api.Client
// meets it.
type StatsSource interface {
	Telemetry(ctx context.Context, model string, window time.Duration) (telemetry.ModelStats, error)
}

// Inputs is everything a report is built from.
type Inputs struct {
	Rollout slipway.Rollout
	// Events is the rollout's log, oldest first.
	Events []slipway.RolloutEvent
	// Live is the model's telemetry since the rollout started; nil when
	// none could be read (Notes say why).
	Live *telemetry.ModelStats
	// Now is when the report is written; it ends the duration of a
	// rollout still live.
	Now time.Time
	// Notes are facts the report could not read, a sentence each.
	Notes []string
}

// Gather reads the rollout target names, a model (its latest rollout)
// or a rollout number (#7 or 7; a number that is no rollout's is tried
// as a model name), with its events, and live telemetry when stats is
// not nil.
func Gather(ctx context.Context, src Rollouts, stats StatsSource, target string, now time.Time) (Inputs, error) {
	r, err := find(ctx, src, target)
	if err != nil {
		return Inputs{}, err
	}
	evs, err := src.RolloutEvents(ctx, r.Model, r.ID)
	if err != nil {
		return Inputs{}, fmt.Errorf("read events of rollout #%d: %w", r.ID, err)
	}
	in := Inputs{Rollout: r, Events: evs, Now: now}
	if stats != nil {
		window := max(now.Sub(r.CreatedAt).Round(time.Second)+time.Second, time.Minute)
		live, err := stats.Telemetry(ctx, r.Model, window)
		if err != nil {
			in.Notes = append(in.Notes, fmt.Sprintf("Live telemetry could not be read: %v.", err))
		} else {
			in.Live = &live
		}
	}
	return in, nil
}

func find(ctx context.Context, src Rollouts, target string) (slipway.Rollout, error) {
	if target == "" {
		return slipway.Rollout{}, slipway.Errorf(slipway.ErrInvalid, "name a model or a rollout number")
	}
	if id, err := strconv.ParseInt(strings.TrimPrefix(target, "#"), 10, 64); err == nil && id > 0 {
		all, err := src.Rollouts(ctx, store.RolloutFilter{})
		if err != nil {
			return slipway.Rollout{}, fmt.Errorf("list rollouts: %w", err)
		}
		for _, r := range all {
			if r.ID == id {
				return r, nil
			}
		}
		if strings.HasPrefix(target, "#") {
			return slipway.Rollout{}, slipway.Errorf(slipway.ErrNotFound, "no rollout #%d", id)
		}
	}
	rs, err := src.Rollouts(ctx, store.RolloutFilter{Model: target, Limit: 1})
	if err != nil {
		return slipway.Rollout{}, fmt.Errorf("list rollouts of %s: %w", target, err)
	}
	if len(rs) == 0 {
		return slipway.Rollout{}, slipway.Errorf(slipway.ErrNotFound, "%q is neither a rollout number nor a model with rollouts", target)
	}
	return rs[0], nil
}

// Report is a rollout's report with every figure worked out.
type Report struct {
	Inputs
	// Plan is the rollout's stored spec unfolded; nil when the stored
	// spec no longer parses (Notes say why).
	Plan *spec.Plan
	// Start is the first event's time; End the time the rollout ended
	// (completed, rolled back or aborted), zero while it is live.
	Start, End time.Time
	// Stages are the stages in the order they were served; a retried
	// rollout serves its first stage again.
	Stages []StageRecord
	// Decisions are the events that decided something: transitions and
	// analyses that changed nothing but were noted, each with its reason.
	Decisions []slipway.RolloutEvent
	// Rollbacks are the controller's own returns to the baseline: the
	// triggers that fired and the rollbacks they (or a failed analysis)
	// caused.
	Rollbacks []slipway.RolloutEvent
	// Stops are the returns people made: an abort of a live rollout or an
	// undo of a completed one. They are no rollbacks: the controller did
	// not decide them, and the report counts and words them apart.
	Stops []slipway.RolloutEvent
}

// StageRecord is one stay of the rollout in a stage.
type StageRecord struct {
	Step int
	Name string
	// Weight is the candidate's share in basis points; Planned the
	// stage's duration in the spec.
	Weight  int
	Planned time.Duration
	// Entered and Left bound the stay; Left is zero while the rollout is
	// still there.
	Entered, Left time.Time
	// Exit is the event that ended the stay; nil while it lasts.
	Exit *slipway.RolloutEvent
	// Verdict is the last verdict of the stage's analysis recorded during
	// the stay (trigger checks are in Rollbacks); nil when none was.
	Verdict *slipway.Verdict
}

// Served is how long the stay lasted, pauses included, up to now for a
// stay that has not ended.
func (s StageRecord) Served(now time.Time) time.Duration {
	if s.Left.IsZero() {
		return now.Sub(s.Entered)
	}
	return s.Left.Sub(s.Entered)
}

// Ended reports whether the rollout reached an end: completed, rolled
// back or aborted (an undo comes after a completion).
func (r Report) Ended() bool { return !r.End.IsZero() }

// Duration is from the start to the end, or to now while live.
func (r Report) Duration() time.Duration {
	if r.Ended() {
		return r.End.Sub(r.Start)
	}
	return r.Now.Sub(r.Start)
}

// Build works the report out of in.
func Build(in Inputs) Report {
	rep := Report{Inputs: in, Start: in.Rollout.CreatedAt}
	if s, err := spec.Parse([]byte(in.Rollout.Spec)); err != nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf("The stored spec does not parse (%v): stages are named from the events alone.", firstLine(err)))
	} else {
		p := s.Plan()
		rep.Plan = &p
	}
	if len(in.Events) > 0 {
		rep.Start = in.Events[0].At
	}
	var cur *StageRecord
	leave := func(e *slipway.RolloutEvent) {
		if cur != nil {
			cur.Left, cur.Exit = e.At, e
			rep.Stages = append(rep.Stages, *cur)
			cur = nil
		}
	}
	for i := range in.Events {
		e := &in.Events[i]
		if e.Verdict != nil && cur != nil && !fromTrigger(in.Events, i) {
			cur.Verdict = e.Verdict
		}
		if decides(*e) {
			rep.Decisions = append(rep.Decisions, *e)
		}
		switch e.Kind {
		case "started", "stage-advanced", "retried":
			leave(e)
			cur = rep.enter(*e)
		case "trigger-fired":
			rep.Rollbacks = append(rep.Rollbacks, *e)
		case "completed":
			rep.End = e.At
			leave(e)
		case "rolled-back":
			rep.End = e.At
			rep.Rollbacks = append(rep.Rollbacks, *e)
			leave(e)
		case "aborted":
			rep.End = e.At
			rep.Stops = append(rep.Stops, *e)
			leave(e)
		case "undone":
			rep.Stops = append(rep.Stops, *e)
		}
	}
	if cur != nil {
		rep.Stages = append(rep.Stages, *cur)
	}
	return rep
}

// enter starts a stay at the stage event e moved the rollout to.
func (rep *Report) enter(e slipway.RolloutEvent) *StageRecord {
	s := &StageRecord{Step: e.Step, Name: e.StepName, Weight: e.Weight, Entered: e.At}
	if p := rep.Plan; p != nil && e.Step < len(p.Steps) {
		st := p.Steps[e.Step]
		s.Name, s.Planned = st.Name, st.Duration
		s.Weight = st.Weight
		if st.Kind == spec.StepShadow {
			s.Weight = 0
		}
	}
	return s
}

// fromTrigger reports whether the verdict of event i is a trigger's: the
// trigger-fired event itself, or the transition logged with it.
func fromTrigger(evs []slipway.RolloutEvent, i int) bool {
	e := evs[i]
	if e.Kind == "trigger-fired" {
		return true
	}
	return i > 0 && evs[i-1].Kind == "trigger-fired" && evs[i-1].Reason == e.Reason
}

// decides reports whether an event belongs among the decisions: every
// transition, and every noted analysis.
func decides(e slipway.RolloutEvent) bool { return e.Kind != "decision" || e.Verdict != nil }

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// Outcome says how the rollout ended, in a sentence.
func (r Report) Outcome() string {
	ro := r.Rollout
	last := r.lastTransition()
	by := ""
	if last != nil {
		by = " by " + last.Actor
	}
	switch ro.Status {
	case slipway.RolloutCompleted:
		if r.Plan != nil && !r.Plan.Promotes {
			return fmt.Sprintf("Completed%s: the shadow is over and %s stays a candidate; production stays on %s.", by, ro.Candidate, ro.Baseline)
		}
		return fmt.Sprintf("Completed%s: %s took all traffic and is production (it replaced %s).", by, ro.Candidate, orText(ro.Previous, ro.Baseline))
	case slipway.RolloutRolledBack:
		return fmt.Sprintf("Rolled back%s: all traffic back on %s. %s", by, ro.Baseline, sentence(ro.Reason))
	case slipway.RolloutAborted:
		said, ok := statedReason(last)
		if !ok {
			return fmt.Sprintf("Aborted%s: all traffic back on %s. %s", by, ro.Baseline, sentence(ro.Reason))
		}
		return fmt.Sprintf("Aborted%s%s: all traffic back on %s, %s kept for inspection.", by, said, ro.Baseline, ro.Candidate)
	case slipway.RolloutUndone:
		said, ok := statedReason(last)
		if !ok {
			return fmt.Sprintf("Completed, then undone%s: production back on %s. %s", by, orText(ro.Previous, ro.Baseline), sentence(ro.Reason))
		}
		return fmt.Sprintf("Completed, then undone%s%s: production back on %s.", by, said, orText(ro.Previous, ro.Baseline))
	}
	return fmt.Sprintf("Still %s: %s", ro.Status, sentence(ro.Reason))
}

// statedReason is what the person who ended the rollout with e (an abort
// or an undo) said, as ` ("their words")` or ", who gave no reason". The
// controller records such a reason as "aborted by alice: their words;
// all traffic back on …"; ok is false when e's reason is not in that
// form, and the caller then quotes it whole.
func statedReason(e *slipway.RolloutEvent) (said string, ok bool) {
	if e == nil || (e.Kind != "aborted" && e.Kind != "undone") {
		return "", false
	}
	rest, ok := strings.CutPrefix(e.Reason, e.Kind+" by "+e.Actor)
	if !ok {
		return "", false
	}
	if i := strings.LastIndex(rest, "; "); i >= 0 {
		rest = rest[:i] // the controller's own account of where traffic went
	}
	if words, given := strings.CutPrefix(rest, ": "); given && strings.TrimSpace(words) != "" {
		return ` ("` + strings.TrimSpace(words) + `")`, true
	}
	if rest != "" {
		return "", false
	}
	return ", who gave no reason", true
}

// lastTransition is the last event that changed the rollout's status or
// stage.
func (r Report) lastTransition() *slipway.RolloutEvent {
	for i := len(r.Events) - 1; i >= 0; i-- {
		if r.Events[i].Kind != "decision" && r.Events[i].Kind != "trigger-fired" {
			return &r.Events[i]
		}
	}
	return nil
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
