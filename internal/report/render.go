package report

import (
	"fmt"
	"io"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/markdown"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

// timeLayout is how the report writes times: UTC, to the second.
const timeLayout = "2006-01-02 15:04:05"

// Markdown writes the report: summary, stakeholder summary, timeline,
// stages, metrics per stage, decisions, the controller's rollbacks, the
// aborts and undos of people (when there were any) and live traffic.
func (r Report) Markdown(w io.Writer) error {
	m := markdown.NewWriter(w)
	ro := r.Rollout
	m.Printf("# Post-deployment report: %s %s → %s (rollout #%d)\n\n", ro.Model, baselineName(ro), ro.Candidate, ro.ID)
	r.summary(m)
	m.Printf("## Summary for stakeholders\n\n%s\n\n", r.Stakeholders())
	r.timeline(m)
	r.stages(m)
	r.metrics(m)
	r.decisions(m)
	r.rollbacks(m)
	r.stops(m)
	r.live(m)
	if len(r.Notes) > 0 {
		m.Printf("## Notes\n\n")
		for _, n := range r.Notes {
			m.Printf("- %s\n", n)
		}
		m.Printf("\n")
	}
	return m.Err()
}

func (r Report) summary(m *markdown.Writer) {
	ro := r.Rollout
	end := "still live"
	if r.Ended() {
		end = stamp(r.End)
	}
	dur := short(r.Duration())
	if !r.Ended() {
		dur += " so far"
	}
	strategy := ro.Strategy
	if r.Plan != nil {
		strategy = fmt.Sprintf("%s, %d stages planned over %s", ro.Strategy, len(r.Plan.Steps), short(r.Plan.Duration))
	}
	m.Table([]string{"", ""}, [][]string{
		{"Model", ro.Model},
		{"Candidate", ro.Candidate},
		{"Baseline", baselineName(ro)},
		{"Strategy", strategy},
		{"Started", stamp(r.Start) + " UTC by " + orText(ro.CreatedBy, "unknown")},
		{"Ended", end},
		{"Duration", dur},
		{"Status", string(ro.Status)},
		{"Outcome", r.Outcome()},
		{"Rollbacks by the controller", fmt.Sprint(r.count("rolled-back"))},
		{"Aborts and undos by people", fmt.Sprint(r.count("aborted", "undone"))},
		{"Decisions by people", fmt.Sprint(r.byPeople())},
	})
}

func (r Report) count(kinds ...string) int {
	n := 0
	for _, e := range r.Events {
		for _, k := range kinds {
			if e.Kind == k {
				n++
			}
		}
	}
	return n
}

// byPeople counts the transitions made by someone other than the
// controller, the rollout's start aside.
func (r Report) byPeople() int {
	n := 0
	for _, e := range r.Events {
		if e.Actor != "controller" && e.Kind != "started" && e.Kind != "decision" {
			n++
		}
	}
	return n
}

func (r Report) timeline(m *markdown.Writer) {
	m.Printf("## Timeline\n\n")
	if len(r.Events) == 0 {
		m.Printf("No events are stored for this rollout.\n\n")
		return
	}
	var rows [][]string
	for _, e := range r.Events {
		rows = append(rows, []string{stamp(e.At), "+" + short(e.At.Sub(r.Start)), e.Actor, e.Kind, stepName(e), percent(e.Weight), e.Reason})
	}
	m.Table([]string{"Time (UTC)", "Since start", "Actor", "Event", "Stage", "Candidate share", "Reason"}, rows)
}

func stepName(e slipway.RolloutEvent) string {
	if e.StepName == "" {
		return fmt.Sprint(e.Step + 1)
	}
	return fmt.Sprintf("%d %s", e.Step+1, e.StepName)
}

func (r Report) stages(m *markdown.Writer) {
	m.Printf("## Stages\n\n")
	if len(r.Stages) == 0 {
		m.Printf("No stage was entered.\n\n")
		return
	}
	var rows [][]string
	for _, s := range r.Stages {
		ended, outcome := "-", "still here"
		if s.Exit != nil {
			ended = s.Exit.Kind + " by " + s.Exit.Actor
			outcome = s.Exit.Reason
		}
		verdict := "-"
		if s.Verdict != nil {
			verdict = string(s.Verdict.Result)
		}
		planned := "-"
		if s.Planned > 0 {
			planned = short(s.Planned)
		}
		rows = append(rows, []string{fmt.Sprint(s.Step + 1), s.Name, percent(s.Weight), planned, stamp(s.Entered), short(s.Served(r.Now)), verdict, ended, outcome})
	}
	m.Table([]string{"#", "Stage", "Candidate share", "Planned", "Entered (UTC)", "Served", "Analysis", "Ended by", "Why"}, rows)
}

// metrics writes, for every stay with an analysis, the last verdict's
// metrics of both versions side by side.
func (r Report) metrics(m *markdown.Writer) {
	m.Printf("## Metrics per stage\n\n")
	shown := false
	for _, s := range r.Stages {
		v := s.Verdict
		if v == nil || len(v.Metrics) == 0 {
			continue
		}
		shown = true
		m.Printf("### %s (%s): %s", s.Name, percent(s.Weight), v.Result)
		if v.Window > 0 {
			m.Printf(" over %s of traffic", short(v.Window))
		}
		m.Printf("\n\n%s\n\n", sentence(v.Reason))
		m.Table([]string{"Metric", "Rule", "Baseline " + r.Rollout.Baseline, "Candidate " + r.Rollout.Candidate, "Change", "n candidate/baseline", "Result", "Why", "Test"},
			metricRows(v.Metrics))
	}
	if !shown {
		m.Printf("No stage recorded an analysis with metrics: stages advanced on time, or by hand.\n\n")
	}
}

func metricRows(ms []slipway.MetricResult) [][]string {
	var rows [][]string
	for _, mr := range ms {
		rows = append(rows, []string{mr.Metric, mr.Rule, value(mr.Metric, mr.Baseline), value(mr.Metric, mr.Candidate), change(mr),
			samples(mr), string(mr.Result), mr.Reason, test(mr)})
	}
	return rows
}

// value renders a measured value in its metric's unit; "-" when not
// measured.
func value(metric string, v *float64) string {
	if v == nil {
		return "-"
	}
	info, _ := spec.LookupMetric(metric)
	return info.Unit.Format(round(*v))
}

func round(v float64) float64 {
	var f float64
	fmt.Sscanf(fmt.Sprintf("%.4g", v), "%g", &f)
	return f
}

func change(mr slipway.MetricResult) string {
	if mr.Candidate == nil || mr.Baseline == nil || *mr.Baseline == 0 {
		return "-"
	}
	return fmt.Sprintf("%+.1f%%", 100*(*mr.Candidate-*mr.Baseline)/abs(*mr.Baseline))
}

func samples(mr slipway.MetricResult) string {
	base := fmt.Sprint(mr.BaselineN)
	if mr.Baseline == nil && mr.BaselineN == 0 {
		base = "-"
	}
	s := fmt.Sprintf("%d/%s", mr.CandidateN, base)
	if mr.MinSamples > 0 {
		s += fmt.Sprintf(" (min %d)", mr.MinSamples)
	}
	return s
}

func test(mr slipway.MetricResult) string {
	if mr.Test == "" {
		return "-"
	}
	s := mr.Test
	if mr.PValue != nil {
		s += fmt.Sprintf(", p = %.3g", *mr.PValue)
	}
	return s
}

func (r Report) decisions(m *markdown.Writer) {
	m.Printf("## Decisions\n\n")
	if len(r.Decisions) == 0 {
		m.Printf("None recorded.\n\n")
		return
	}
	for i, e := range r.Decisions {
		m.Printf("%d. **%s** by %s at %s (+%s), stage %s: %s", i+1, e.Kind, e.Actor, stamp(e.At), short(e.At.Sub(r.Start)), stepName(e), sentence(e.Reason))
		if v := e.Verdict; v != nil {
			m.Printf(" Verdict: %s", v.Result)
			if v.Window > 0 {
				m.Printf(" over %s", short(v.Window))
			}
			if v.Reason != "" {
				m.Printf(", %s", v.Reason)
			}
			m.Printf(".")
		}
		m.Printf("\n")
	}
	m.Printf("\n")
}

func (r Report) rollbacks(m *markdown.Writer) {
	m.Printf("## Rollbacks\n\n")
	if len(r.Rollbacks) == 0 {
		if len(r.Stops) > 0 {
			m.Printf("None by the controller: no trigger fired; people sent the traffic back (see Aborts and undos).\n\n")
		} else {
			m.Printf("None: no trigger fired and the controller did not roll back.\n\n")
		}
		return
	}
	for _, e := range r.Rollbacks {
		r.returned(m, e)
		if v := e.Verdict; v != nil && len(v.Metrics) > 0 && e.Kind == "trigger-fired" {
			mr := v.Metrics[0]
			m.Printf("  - %s: candidate %s, baseline %s, n %s.\n", mr.Rule, value(mr.Metric, mr.Candidate), value(mr.Metric, mr.Baseline), samples(mr))
		}
	}
	m.Printf("\n")
}

// stops lists the aborts and undos people made, apart from the
// controller's rollbacks; nothing when there were none.
func (r Report) stops(m *markdown.Writer) {
	if len(r.Stops) == 0 {
		return
	}
	m.Printf("## Aborts and undos\n\n")
	for _, e := range r.Stops {
		r.returned(m, e)
	}
	m.Printf("\n")
}

// returned writes the list item of an event that sent traffic back.
func (r Report) returned(m *markdown.Writer, e slipway.RolloutEvent) {
	m.Printf("- %s: **%s** by %s at stage %s, %s after the start, with %s of traffic on the candidate before it. %s\n",
		stamp(e.At), e.Kind, e.Actor, stepName(e), short(e.At.Sub(r.Start)), percent(r.weightBefore(e)), sentence(e.Reason))
}

// weightBefore is the candidate's share just before e: the weight of the
// event before it.
func (r Report) weightBefore(e slipway.RolloutEvent) int {
	w := 0
	for _, x := range r.Events {
		if x.Seq >= e.Seq {
			break
		}
		w = x.Weight
	}
	return w
}

func (r Report) live(m *markdown.Writer) {
	if r.Live == nil {
		return
	}
	ro := r.Rollout
	m.Printf("## Live traffic since the start\n\n")
	cand, cok := versionStats(*r.Live, ro.Candidate)
	base, bok := versionStats(*r.Live, ro.Baseline)
	if !cok && !bok {
		m.Printf("The server keeps no traffic of %s or %s over the last %s.\n\n", ro.Candidate, ro.Baseline, short(time.Duration(r.Live.WindowSeconds*float64(time.Second))))
		return
	}
	m.Printf("Over the last %s, as far as the server's telemetry reaches back:\n\n", short(time.Duration(r.Live.WindowSeconds*float64(time.Second))))
	rows := [][]string{
		{"requests", fmt.Sprint(base.Requests), fmt.Sprint(cand.Requests)},
		{"error rate", fmt.Sprintf("%.3g%%", 100*base.ErrorRate), fmt.Sprintf("%.3g%%", 100*cand.ErrorRate)},
		{"latency p50", fmt.Sprintf("%.3g ms", base.LatencyMS.P50), fmt.Sprintf("%.3g ms", cand.LatencyMS.P50)},
		{"latency p99", fmt.Sprintf("%.3g ms", base.LatencyMS.P99), fmt.Sprintf("%.3g ms", cand.LatencyMS.P99)},
		{"labelled feedback", fmt.Sprint(base.Quality.N), fmt.Sprint(cand.Quality.N)},
		{"accuracy", frac(base.Quality.Accuracy), frac(cand.Quality.Accuracy)},
		{"log loss", num(base.Quality.LogLoss), num(cand.Quality.LogLoss)},
	}
	if !bok {
		for _, row := range rows {
			row[1] = "-"
		}
	}
	if !cok {
		for _, row := range rows {
			row[2] = "-"
		}
	}
	m.Table([]string{"", "baseline " + ro.Baseline, "candidate " + ro.Candidate}, rows)
}

func versionStats(st telemetry.ModelStats, version string) (telemetry.VersionStats, bool) {
	for _, v := range st.Versions {
		if v.Version == version {
			return v, true
		}
	}
	return telemetry.VersionStats{}, false
}

func frac(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.3g%%", 100**p)
}

func num(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.4g", *p)
}

func baselineName(r slipway.Rollout) string {
	if r.BaselineRef != "" && r.BaselineRef != r.Baseline {
		return r.Baseline + " (" + r.BaselineRef + ")"
	}
	return r.Baseline
}

func percent(bp int) string { return spec.PercentFromBasisPoints(bp).String() }

func stamp(t time.Time) string { return t.UTC().Format(timeLayout) }

// short renders a duration to the millisecond under a minute and to the
// second above: 850ms, 2.05s, 1m5s, 1h30m.
func short(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return spec.Duration(d.Round(time.Second)).String()
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
