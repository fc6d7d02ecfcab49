package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/rollout"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

// currentStep marks the step a rollout stands at in the steps table.
const currentStep = "▶"

// renderRolloutStatus writes a rollout as `slipway rollout status` shows
// it: what is rolled out against what and why it is where it is, the plan
// with the current step marked, the weights and timing, the latest
// judgements, and the live traffic of both versions when stats is set.
// `slipway demo` reuses it for its live view.
func renderRolloutStatus(w io.Writer, st rollout.Status, stats *telemetry.ModelStats) {
	r := st.Rollout
	fmt.Fprintf(w, "%s: %s → %s (%s), %s\n", r.Model, baselineName(r), r.Candidate, orDash(r.Strategy), r.Status)
	if r.Reason != "" {
		fmt.Fprintf(w, "reason: %s\n", r.Reason)
	}
	fmt.Fprintf(w, "rollout #%d, started %s by %s\n\n", r.ID, ago(r.CreatedAt), orDash(r.CreatedBy))
	renderSteps(w, st.Steps, r.Step)

	fmt.Fprintf(w, "\nweights now: candidate %s / baseline %s", percent(st.Weight), percent(10000-st.Weight))
	if st.Mirror > 0 {
		fmt.Fprintf(w, "; %s of requests mirrored to the candidate", percent(st.Mirror))
	}
	fmt.Fprintln(w)
	if r.Status.Live() {
		elapsed, remaining := st.Elapsed, st.Remaining
		if elapsed == 0 {
			elapsed = seconds(st.ElapsedSeconds)
		}
		if remaining == 0 {
			remaining = seconds(st.RemainingSeconds)
		}
		fmt.Fprintf(w, "%s: %s elapsed, %s remaining\n", stepLabel(st.Steps, r.Step), shortDuration(elapsed), shortDuration(remaining))
	}
	if st.Waiting != "" {
		fmt.Fprintf(w, "waiting for: %s\n", st.Waiting)
	}
	for _, n := range st.Notifications {
		state := "ok"
		if n.Failing {
			state = "FAILING: " + n.LastError
		}
		fmt.Fprintf(w, "notifications to %s: %d sent, %d failed, %d dropped; %s\n", n.Webhook, n.Sent, n.Failed, n.Dropped, state)
	}
	if v := st.Verdict; v != nil {
		fmt.Fprintf(w, "\nlatest verdict: %s\n", describeVerdict(*v))
		renderMetrics(w, "", v.Metrics)
	}
	if len(st.Triggers) > 0 {
		fmt.Fprintln(w, "\nrollback triggers:")
		renderMetrics(w, "", st.Triggers)
	}
	if stats != nil {
		fmt.Fprintln(w)
		renderVersionsSideBySide(w, *stats, r.Candidate, r.Baseline)
	}
}

// renderSteps writes the plan, one row per step, marking step current.
func renderSteps(w io.Writer, steps []rollout.StepView, current int) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\t#\tSTEP\tKIND\tWEIGHT\tMIRROR\tDURATION\tAPPROVAL\tANALYSIS")
	for i, s := range steps {
		mark := ""
		if i == current {
			mark = currentStep
		}
		mirror, approval, dur := "-", "-", "-"
		if s.Mirror > 0 {
			mirror = percent(s.Mirror)
		}
		if s.Approval {
			approval = "required"
		}
		if s.DurationSeconds > 0 {
			dur = shortDuration(seconds(s.DurationSeconds))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, i+1, s.Name, orDash(s.Kind), percent(s.Weight), mirror, dur, approval,
			orDash(strings.Join(s.Analysis, "; ")))
	}
	tw.Flush()
}

// renderMetrics writes metric judgements as a table, each row indented
// by indent: the numbers behind a verdict.
func renderMetrics(w io.Writer, indent string, ms []slipway.MetricResult) {
	if len(ms) == 0 {
		fmt.Fprintf(w, "%s(no metric conditions)\n", indent)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%sMETRIC\tRULE\tCANDIDATE\tBASELINE\tN CAND/BASE\tRESULT\tREASON\n", indent)
	for _, m := range ms {
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\t%s\n", indent, m.Metric, orDash(m.Rule), measured(m.Candidate), measured(m.Baseline),
			samples(m), m.Result, orDash(m.Reason))
	}
	tw.Flush()
}

// renderVersionsSideBySide writes the live traffic of the candidate and
// the baseline in two columns.
func renderVersionsSideBySide(w io.Writer, st telemetry.ModelStats, candidate, baseline string) {
	window := shortDuration(seconds(st.WindowSeconds))
	cand, candOK := versionStats(st, candidate)
	base, baseOK := versionStats(st, baseline)
	if !candOK && !baseOK {
		fmt.Fprintf(w, "live traffic: no requests to %s or %s in the last %s\n", candidate, baseline, window)
		return
	}
	fmt.Fprintf(w, "live traffic over the last %s:\n", window)
	rows := []struct {
		name string
		cell func(telemetry.VersionStats) string
	}{
		{"requests", func(v telemetry.VersionStats) string { return fmt.Sprint(v.Requests) }},
		{"error rate", func(v telemetry.VersionStats) string { return fmt.Sprintf("%.2f%%", 100*v.ErrorRate) }},
		{"latency p50", func(v telemetry.VersionStats) string { return fmt.Sprintf("%.3g ms", v.LatencyMS.P50) }},
		{"latency p99", func(v telemetry.VersionStats) string { return fmt.Sprintf("%.3g ms", v.LatencyMS.P99) }},
		{"accuracy", func(v telemetry.VersionStats) string {
			if v.Quality.Accuracy == nil {
				return "-"
			}
			return fmt.Sprintf("%s (n=%d)", metricValue(v.Quality.Accuracy), v.Quality.N)
		}},
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\tCANDIDATE %s\tBASELINE %s\n", candidate, baseline)
	for _, row := range rows {
		c, b := "-", "-"
		if candOK {
			c = row.cell(cand)
		}
		if baseOK {
			b = row.cell(base)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", row.name, c, b)
	}
	tw.Flush()
}

func versionStats(st telemetry.ModelStats, version string) (telemetry.VersionStats, bool) {
	for _, v := range st.Versions {
		if v.Version == version {
			return v, true
		}
	}
	return telemetry.VersionStats{}, false
}

// renderRolloutList writes rollouts one a row, newest first as given.
func renderRolloutList(w io.Writer, rs []slipway.Rollout) {
	fmt.Fprintln(w, "ID\tMODEL\tCANDIDATE\tBASELINE\tSTRATEGY\tSTATUS\tSTEP\tUPDATED\tREASON")
	for _, r := range rs {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Model, r.Candidate, baselineName(r), orDash(r.Strategy), r.Status,
			r.Step+1, ago(r.UpdatedAt), orDash(truncate(r.Reason, 60)))
	}
}

// renderEvents writes a rollout's event log one event a row.
func renderEvents(w io.Writer, events []slipway.RolloutEvent) {
	fmt.Fprintln(w, "TIME\tACTOR\tEVENT\tSTATUS\tSTEP\tWEIGHT\tREASON")
	for _, e := range events {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ago(e.At), orDash(e.Actor), e.Kind, e.Status, eventStep(e), percent(e.Weight), orDash(e.Reason))
	}
}

// decisions keeps the events `slipway rollout explain` explains: every
// transition, and every decision backed by an analysis.
func decisions(events []slipway.RolloutEvent) []slipway.RolloutEvent {
	var out []slipway.RolloutEvent
	for _, e := range events {
		if e.Verdict != nil || e.Kind != "decision" {
			out = append(out, e)
		}
	}
	return out
}

// renderExplain writes why a rollout did what it did: each decision and
// transition in order, who made it and why, and under each the numbers of
// the analysis behind it.
func renderExplain(w io.Writer, model string, events []slipway.RolloutEvent) {
	ds := decisions(events)
	if len(ds) == 0 {
		fmt.Fprintf(w, "%s: no decisions recorded\n", model)
		return
	}
	fmt.Fprintf(w, "rollout #%d of %s: %d decisions\n", ds[0].Rollout, model, len(ds))
	for _, e := range ds {
		fmt.Fprintf(w, "\n%s  %s by %s → %s at step %s, candidate %s\n", ago(e.At), e.Kind, orDash(e.Actor), e.Status, eventStep(e), percent(e.Weight))
		if e.Reason != "" {
			fmt.Fprintf(w, "    %s\n", e.Reason)
		}
		if v := e.Verdict; v != nil {
			fmt.Fprintf(w, "    verdict: %s\n", describeVerdict(*v))
			renderMetrics(w, "    ", v.Metrics)
			for _, m := range v.Metrics {
				if m.Sentence != "" {
					fmt.Fprintf(w, "    · %s\n", m.Sentence)
				}
			}
		}
	}
}

// describeVerdict sums a verdict up in one line.
func describeVerdict(v slipway.Verdict) string {
	s := string(v.Result)
	if v.Window > 0 {
		s += " over " + shortDuration(v.Window)
	}
	if v.Reason != "" {
		s += ": " + v.Reason
	}
	return s
}

// baselineName is the baseline version, with the alias the spec named it
// by when it named one.
func baselineName(r slipway.Rollout) string {
	if r.BaselineRef != "" && r.BaselineRef != r.Baseline {
		return r.Baseline + " (" + r.BaselineRef + ")"
	}
	return orDash(r.Baseline)
}

// stepLabel names step i of steps for people, counting from 1.
func stepLabel(steps []rollout.StepView, i int) string {
	if i >= 0 && i < len(steps) {
		return fmt.Sprintf("step %d/%d %s", i+1, len(steps), steps[i].Name)
	}
	return fmt.Sprintf("step %d", i+1)
}

func eventStep(e slipway.RolloutEvent) string {
	if e.StepName != "" {
		return fmt.Sprintf("%d %s", e.Step+1, e.StepName)
	}
	return fmt.Sprint(e.Step + 1)
}

func samples(m slipway.MetricResult) string {
	base := fmt.Sprint(m.BaselineN)
	if m.Baseline == nil && m.BaselineN == 0 {
		base = "-" // the rule needs no baseline
	}
	s := fmt.Sprintf("%d/%s", m.CandidateN, base)
	if m.MinSamples > 0 {
		s += fmt.Sprintf(" (min %d)", m.MinSamples)
	}
	return s
}

func measured(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.4g", *p)
}

// shortDuration prints 30m rather than 30m0s.
func shortDuration(d time.Duration) string {
	s := d.Round(time.Second).String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// isTerminal reports whether w is a terminal, where a watch redraws in
// place instead of printing one snapshot after another.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// emitText is emit for free text: JSON with -o json, else text written
// as it is, without aligning tabs.
func (a *app) emitText(v any, text func(w io.Writer)) error {
	if a.output == "json" {
		return a.emit(v, nil)
	}
	text(a.stdout)
	return nil
}
