package runbook

import (
	"github.com/slipway-ml/slipway/internal/markdown"

	"fmt"
	"strings"

	"github.com/slipway-ml/slipway/internal/spec"
)

// previewHeader is the header that sends a request to a blue-green
// candidate in preview (rollout.PreviewHeader; not imported, to keep this
// package off the controller).
const previewHeader = "X-Slipway-Preview"

func (p Plan) routing(m *markdown.Writer) {
	d := p.Spec.Deployment
	m.Printf("## Routing\n\n")
	m.Printf("- Sticky key `%s`: a user keeps the version they got while the candidate's share grows, and only ever moves from %s to %s; requests without the key are split at random.\n", d.Sticky, p.Baseline.Version, d.Version)
	for _, st := range p.Steps.Steps {
		switch st.Kind {
		case spec.StepShadow:
			m.Printf("- %s: every user is answered by %s; %s of requests are mirrored to %s, whose answers are compared and thrown away.\n", st.Name, p.Baseline.Version, spec.PercentFromBasisPoints(st.Mirror), d.Version)
		case spec.StepPreview:
			m.Printf("- %s: %s takes no live traffic; smoke-test it with the header `%s: true` or the pinned path `/v2/models/%s/versions/%s/infer`.\n", st.Name, d.Version, previewHeader, d.Model, d.Version)
		case spec.StepSwitch:
			warm := "released at the switch (a rollback reloads it)"
			if p.Steps.KeepWarm {
				warm = "kept loaded until the stage passes, so a rollback is instant"
			}
			m.Printf("- %s: all traffic to %s at once; %s is %s.\n", st.Name, d.Version, p.Baseline.Version, warm)
		case spec.StepCanary:
			if st.Weight >= 10000 {
				m.Printf("- %s: all traffic to %s.\n", st.Name, d.Version)
				break
			}
			m.Printf("- %s: %s of traffic to %s, the rest to %s.\n", st.Name, spec.PercentFromBasisPoints(st.Weight), d.Version, p.Baseline.Version)
		default:
			m.Printf("- %s: %s of traffic to %s, the rest to %s.\n", st.Name, spec.PercentFromBasisPoints(st.Weight), d.Version, p.Baseline.Version)
		}
	}
	if p.Steps.Strategy != spec.BlueGreen {
		m.Printf("- Throughout the rollout the header `%s: true` sends a request to %s whatever the weights, for checks by hand.\n", previewHeader, d.Version)
	}
	if p.Steps.Promotes {
		m.Printf("- On completion the production alias moves to %s and the rollout's routes are released: traffic follows the alias.\n\n", d.Version)
	} else {
		m.Printf("- The shadow ends without promoting: production stays on %s.\n\n", p.Baseline.Version)
	}
}

func (p Plan) watched(m *markdown.Writer) {
	m.Printf("## Metrics watched\n\n")
	var rows [][]string
	for _, s := range p.Stages {
		for _, c := range s.Step.Analysis.Metrics {
			info := c.Info()
			rows = append(rows, []string{s.Step.Name, c.Name, c.String(), string(info.Unit), info.Description})
		}
	}
	if len(rows) == 0 {
		m.Printf("No stage analyses a metric: stages advance when their time is up.\n\n")
	} else {
		m.Table([]string{"Stage", "Metric", "Condition", "Unit", "What it measures"}, rows)
	}
	if len(p.Triggers) == 0 {
		m.Printf("Rollback triggers: none.\n\n")
		return
	}
	m.Printf("Rollback triggers, checked at every tick of every stage over the stage's traffic so far:\n\n")
	rows = rows[:0]
	for _, tp := range p.Triggers {
		t := tp.Trigger
		notify := "-"
		if t.Notify {
			notify = "yes"
		}
		rows = append(rows, []string{t.String(), string(t.Action), notify, fmt.Sprint(t.MinSamples), p.catches(tp)})
	}
	m.Table([]string{"When", "Action", "Notify", "Min samples", "Catches a worse candidate"}, rows)
}

// catches says, stage by stage, how soon a trigger catches its scenario.
func (p Plan) catches(tp TriggerPlan) string {
	n := tp.Stages[0].Need
	var parts []string
	if n.Test == "" {
		parts = append(parts, fmt.Sprintf("on its point estimate once the candidate has %d %s", n.MinSamples, n.Noun))
	} else {
		parts = append(parts, "for "+n.Scenario+":")
	}
	if !p.Traffic.Known() {
		if fc, _, ok := n.FailAt(); ok && n.Test != "" {
			parts = append(parts, fmt.Sprintf("~%s %s", Count(float64(fc)), n.Noun))
		}
		return strings.Join(parts, " ")
	}
	var per []string
	for i, c := range tp.Stages {
		st := p.Steps.Steps[i]
		switch {
		case c.Fail.Never:
			per = append(per, st.Name+" never")
		case st.Duration > 0 && c.Fail.After > st.Duration:
			per = append(per, fmt.Sprintf("%s not within its %s (needs ~%s)", st.Name, dur(st.Duration), dur(c.Fail.After)))
		default:
			per = append(per, fmt.Sprintf("%s after %s", st.Name, about(c.Fail.After)))
		}
	}
	return strings.Join(parts, " ") + " " + strings.Join(per, "; ")
}

func (p Plan) escalation(m *markdown.Writer) {
	d := p.Spec.Deployment
	m.Printf("## Escalation\n\n")
	var pause, rollback []string
	for _, t := range p.Steps.Triggers {
		if t.Action == spec.ActionPause {
			pause = append(pause, "trigger "+t.String())
		} else {
			rollback = append(rollback, "trigger "+t.String())
		}
	}
	for _, st := range p.Steps.Steps {
		if st.Analysis.Empty() {
			continue
		}
		rollback = append(rollback, "stage "+st.Name+" fails its analysis")
		if st.Analysis.Inconclusive == spec.ActionRollback {
			rollback = append(rollback, "stage "+st.Name+" still inconclusive after twice its duration")
		} else {
			pause = append(pause, "stage "+st.Name+" still inconclusive after twice its duration")
		}
	}
	m.Printf("Pauses (weights hold; triggers keep firing; a person resumes with `%s`, promotes or aborts):\n\n", p.cmd("rollout resume "+d.Model))
	list(m, pause, "nothing pauses on its own; a person can with `"+p.cmd("rollout pause "+d.Model)+"`")
	m.Printf("Rolls back at once (all traffic to %s, no steps re-run):\n\n", p.Baseline.Version)
	list(m, rollback, "nothing rolls back on its own: only a person, with the commands below")
	if p.Steps.Approvals > 0 {
		var names []string
		for _, st := range p.Steps.Steps {
			if st.Approval {
				names = append(names, st.Name)
			}
		}
		m.Printf("Waits for a person: %s, approved with `%s`.\n\n", strings.Join(names, ", "), p.cmd("rollout promote "+d.Model))
	}
}

func list(m *markdown.Writer, items []string, none string) {
	if len(items) == 0 {
		m.Printf("- %s.\n\n", none)
		return
	}
	for _, it := range items {
		m.Printf("- %s\n", it)
	}
	m.Printf("\n")
}

func (p Plan) rollback(m *markdown.Writer) {
	d := p.Spec.Deployment
	m.Printf("## Rollback\n\n")
	m.Printf("Triggers: any rollback trigger or failed stage above, on its own. By hand, when something looks wrong that the metrics do not show (alerts downstream, complaints, a bad smoke test):\n\n")
	m.Printf("```sh\n")
	m.Printf("# during the rollout: all traffic back to %s at once; %s stays loaded for inspection\n", p.Baseline.Version, d.Version)
	m.Printf("%s --reason \"…\"\n", p.cmd("rollout abort "+d.Model))
	m.Printf("# during the rollout, to look before deciding: hold the weights\n")
	m.Printf("%s --reason \"…\"\n", p.cmd("rollout pause "+d.Model))
	if p.Steps.Promotes {
		m.Printf("# after it completed: production back to %s\n", p.Baseline.Version)
		m.Printf("%s --reason \"…\"\n", p.cmd("rollout undo "+d.Model))
	}
	m.Printf("# routes set by hand outside a rollout: back to following the production alias\n")
	m.Printf("%s\n", p.cmd("route clear "+d.Model))
	m.Printf("# check: who answers now\n")
	m.Printf("%s\n", p.cmd("rollout status "+d.Model))
	m.Printf("```\n\n")
}

func (p Plan) checklist(m *markdown.Writer) {
	d := p.Spec.Deployment
	m.Printf("## Verification checklist\n\n")
	m.Printf("Before:\n\n")
	if p.Gates == nil {
		m.Printf("- [ ] Gates run and pass: `%s`\n", p.cmd(fmt.Sprintf("gate %s@%s --data HOLDOUT -f %s", d.Model, d.Version, p.specFile())))
	} else {
		m.Printf("- [ ] Gate report reviewed: %d gates, %d failed\n", len(p.Gates.Gates), len(p.Gates.Failed()))
	}
	m.Printf("- [ ] The plan the server will run matches this one: `%s`\n", p.cmd("deploy -f "+p.specFile()+" --dry-run"))
	m.Printf("- [ ] %s answers a known input: `%s`\n", d.Version, p.cmd(fmt.Sprintf("predict %s@%s --csv SAMPLE.csv", d.Model, d.Version)))
	m.Printf("- [ ] The baseline %s is healthy now: `%s`\n", p.Baseline.Version, p.cmd("rollout status "+d.Model))
	m.Printf("- [ ] Whoever watches knows the rollback commands above\n\n")
	m.Printf("During:\n\n")
	m.Printf("- [ ] Follow it: `%s`\n", p.cmd("rollout status "+d.Model+" --watch"))
	for _, st := range p.Steps.Steps {
		switch {
		case st.Kind == spec.StepPreview:
			m.Printf("- [ ] %s: smoke-test %s with `%s: true` before the switch\n", st.Name, d.Version, previewHeader)
		case st.Approval:
			m.Printf("- [ ] %s: review the verdict, then `%s`\n", st.Name, p.cmd("rollout promote "+d.Model))
		case !st.Analysis.Empty():
			m.Printf("- [ ] %s: the analysis passes (`%s` explains each verdict)\n", st.Name, p.cmd("rollout explain "+d.Model))
		}
	}
	m.Printf("\nAfter:\n\n")
	if p.Steps.Promotes {
		m.Printf("- [ ] Production points at %s: `%s`\n", d.Version, p.cmd("model show "+d.Model+"@production"))
	}
	m.Printf("- [ ] Responses name %s in `X-Slipway-Version`\n", d.Version)
	m.Printf("- [ ] The post-deployment report is written: `%s`\n\n", p.cmd("report "+d.Model+" -o report.md"))
}

func (p Plan) success(m *markdown.Writer) {
	d := p.Spec.Deployment
	m.Printf("## Post-deployment success criteria\n\n")
	if p.Steps.Promotes {
		m.Printf("- The rollout completed on its own evidence and production points at %s.\n", d.Version)
	} else {
		m.Printf("- The shadow completed and its comparison passed; %s stays a candidate.\n", d.Version)
	}
	if len(p.Triggers) > 0 {
		m.Printf("- No rollback trigger fired.\n")
	}
	seen := map[string]bool{}
	for _, s := range p.Stages {
		for _, c := range s.Step.Analysis.Metrics {
			if r := c.String(); !seen[r] {
				seen[r] = true
				m.Printf("- %s held at the end of every stage that checks it.\n", r)
			}
		}
	}
	m.Printf("- Over the first day on %s, its error rate stays at or below the baseline's %s and its latency within the limits above.\n", d.Version, pct(p.Baselines.ErrorRate))
	for _, mc := range p.Changes.Metrics {
		if mc.Candidate != nil && mc.Better != spec.EitherBetter {
			m.Printf("- Live %s, once feedback arrives, is close to the %.4g it had in training.\n", mc.Name, *mc.Candidate)
		}
	}
	m.Printf("\n")
}

func (p Plan) message(m *markdown.Writer) {
	d := p.Spec.Deployment
	m.Printf("## Message to stakeholders (draft)\n\n")
	first := "its first stage"
	if len(p.Steps.Steps) > 0 {
		first = fmt.Sprintf("%s (%s)", p.Steps.Steps[0].Name, weight(p.Steps.Steps[0]))
	}
	var watched []string
	seen := map[string]bool{}
	for _, s := range p.Stages {
		for _, c := range s.Step.Analysis.Metrics {
			if !seen[c.Name] {
				seen[c.Name] = true
				watched = append(watched, c.Name)
			}
		}
	}
	for _, t := range p.Steps.Triggers {
		if !seen[t.Metric] {
			seen[t.Metric] = true
			watched = append(watched, t.Metric)
		}
	}
	m.Printf("> **%s %s rollout planned** (risk: %s)\n>\n", d.Model, d.Version, p.Risk.Level)
	m.Printf("> We are replacing %s %s with %s using a %s rollout, starting with %s and expected to take %s.", d.Model, p.Baseline.Version, d.Version, p.Steps.Strategy, first, dur(p.Steps.Duration))
	if len(watched) > 0 {
		m.Printf(" slipway compares %s of the new version with the current one at every stage", strings.Join(watched, ", "))
		if len(p.Triggers) > 0 {
			m.Printf(" and rolls back on its own if they degrade")
		}
		m.Printf(".")
	}
	if len(p.Risk.Reasons) > 0 {
		m.Printf(" Main risk: %s.", p.Risk.Reasons[0].Text)
	}
	m.Printf(" A rollback returns all traffic to %s at once and re-runs no step. We will share the post-deployment report when it ends.\n\n", p.Baseline.Version)
}

func (p Plan) notes(m *markdown.Writer) {
	if len(p.Inputs.Notes) == 0 {
		return
	}
	m.Printf("## Notes\n\n")
	for _, n := range p.Inputs.Notes {
		m.Printf("- %s\n", n)
	}
	m.Printf("\n")
}
