package spec

import (
	"fmt"
	"slices"
	"time"
)

// strategyRule is what the package knows of one strategy: which sections
// it needs and takes, and how it unfolds into steps. A new strategy (A/B
// test, champion-challenger, bandit) is one more entry.
type strategyRule struct {
	// check reports missing and misplaced sections; the sections' own
	// fields are checked whatever the strategy.
	check func(c *checker, d *Deployment)
	// steps unfolds a valid, expanded deployment into the plan's steps.
	steps func(d *Deployment) []Step
	// stages reports whether the strategy runs d.Stages (as a canary), so
	// that expansion appends the final 100% stage.
	stages func(d *Deployment) bool
}

var strategies = map[Strategy]strategyRule{
	Canary: {
		check: func(c *checker, d *Deployment) {
			c.only("stages")
			c.requireStages("canary")
		},
		steps:  func(d *Deployment) []Step { return stageSteps(d.Stages) },
		stages: func(*Deployment) bool { return true },
	},
	Linear: {
		check: func(c *checker, d *Deployment) {
			c.only("linear")
			c.requireLinear(d, "linear")
		},
		steps:  func(d *Deployment) []Step { return stageSteps(d.Stages) },
		stages: func(*Deployment) bool { return true },
	},
	BlueGreen: {
		check: func(c *checker, d *Deployment) {
			c.only("blueGreen")
			if d.BlueGreen == nil {
				c.addf("deployment.blueGreen", "required for strategy blue-green, such as blueGreen: {preview: {duration: 10m}}")
			}
		},
		steps:  blueGreenSteps,
		stages: func(*Deployment) bool { return false },
	},
	ABTest:             {check: checkExperiment, steps: experimentSteps, stages: func(*Deployment) bool { return false }},
	Bandit:             {check: checkExperiment, steps: experimentSteps, stages: func(*Deployment) bool { return false }},
	ChampionChallenger: {check: checkExperiment, steps: experimentSteps, stages: func(*Deployment) bool { return false }},
	Shadow: {
		check:  checkShadow,
		steps:  shadowSteps,
		stages: func(d *Deployment) bool { return d.Shadow != nil && d.Shadow.Then != "" },
	},
}

// sectionOwners says which strategies take each strategy section, for the
// error when another strategy is given one.
var sectionOwners = map[string]string{
	"stages":     "strategy canary, or shadow with then: canary",
	"linear":     "strategy linear, or shadow with then: linear",
	"blueGreen":  "strategy blue-green",
	"shadow":     "strategy shadow",
	"experiment": "strategy ab-test, bandit or champion-challenger",
}

// only reports every strategy section given that is not among allowed.
func (c *checker) only(allowed ...string) {
	for _, sec := range []string{"stages", "linear", "blueGreen", "shadow", "experiment"} {
		path := "deployment." + sec
		if c.given(path) && !slices.Contains(allowed, sec) {
			c.addf(path, "only for %s; this deployment's strategy is %s", sectionOwners[sec], c.describeStrategy())
		}
	}
}

func (c *checker) describeStrategy() string {
	if c.strategy == Shadow && !c.given("deployment.shadow.then") {
		return "shadow without then"
	}
	return string(c.strategy)
}

func (c *checker) requireStages(who string) {
	if !c.given("deployment.stages") {
		c.addf("deployment.stages", "required for %s: list the stages, such as - {name: canary, weight: 1, duration: 30m}", who)
	}
}

func (c *checker) requireLinear(d *Deployment, who string) {
	if d.Linear == nil {
		c.addf("deployment.linear", "required for %s, such as linear: {step: 10%%, every: 10m}", who)
	}
}

func checkShadow(c *checker, d *Deployment) {
	if d.Shadow == nil {
		c.only("shadow")
		c.addf("deployment.shadow", "required for strategy shadow, such as shadow: {mirror: 100, duration: 1h}")
		return
	}
	switch d.Shadow.Then {
	case Canary:
		c.only("shadow", "stages")
		c.requireStages("shadow then canary")
	case Linear:
		c.only("shadow", "linear")
		c.requireLinear(d, "shadow then linear")
	default:
		c.only("shadow")
	}
}

// derive sets the defaults that depend on a field's place or on another
// field, before the checks: stage names and the aggregate of business
// values.
func derive(d *Deployment) {
	if x := d.Experiment; x != nil && len(x.Arms) == 0 && d.Version != "" && d.Strategy != ChampionChallenger {
		x.Arms = []Arm{{Version: d.Version, Share: 50}}
	}
	if x := d.Experiment; x != nil && d.Strategy == Bandit {
		if x.Policy == "" {
			x.Policy = DefaultBanditPolicy
		}
		if x.Floor == 0 {
			x.Floor = DefaultBanditFloor
		}
		if x.Epsilon == 0 {
			x.Epsilon = DefaultEpsilon
		}
	}
	for i := range d.Stages {
		if d.Stages[i].Name == "" {
			d.Stages[i].Name = fmt.Sprintf("stage-%d", i+1)
		}
	}
	for _, a := range d.analyses() {
		for i := range a.Metrics {
			m := &a.Metrics[i]
			if m.Aggregate == "" && m.Info().Unit == UnitValue && m.Provider == nil {
				m.Aggregate = "mean"
			}
		}
	}
}

// analyses lists every analysis of d, written or not.
func (d *Deployment) analyses() []*Analysis {
	var out []*Analysis
	for i := range d.Stages {
		out = append(out, &d.Stages[i].Promotion.Analysis)
	}
	if d.Linear != nil {
		out = append(out, &d.Linear.Analysis)
	}
	if b := d.BlueGreen; b != nil {
		out = append(out, &b.Preview.Analysis, &b.PostPromotion.Analysis)
	}
	if d.Shadow != nil {
		out = append(out, &d.Shadow.Analysis)
	}
	return out
}

// expand completes a valid deployment: linear steps become stages, a
// final 100% stage is appended when the last is below 100%, and
// notifications without events get all of them.
func expand(d *Deployment) {
	rule := strategies[d.Strategy]
	if d.Linear != nil && rule.stages(d) {
		d.Stages = linearStages(d.Linear)
	}
	if n := len(d.Stages); n > 0 && rule.stages(d) && d.Stages[n-1].Weight < 100 {
		d.Stages = append(d.Stages, Stage{Name: finalName(d.Stages), Weight: 100, Added: true})
	}
	for i := range d.Notifications {
		if len(d.Notifications[i].Events) == 0 {
			d.Notifications[i].Events = slices.Clone(Events)
		}
	}
}

// linearStages is Step, 2×Step, … below 100%, each lasting Every with the
// linear analysis; expand appends the final 100% stage.
func linearStages(l *LinearSteps) []Stage {
	bp := l.Step.BasisPoints()
	var out []Stage
	for w := bp; w < 10000; w += bp {
		out = append(out, Stage{
			Name:      fmt.Sprintf("step-%d", len(out)+1),
			Weight:    PercentFromBasisPoints(w),
			Duration:  l.Every,
			Promotion: Promotion{Analysis: l.Analysis},
			Added:     true,
		})
	}
	return out
}

// finalName is FinalStage, or FinalStage-N when a stage has that name.
func finalName(stages []Stage) string {
	taken := func(name string) bool {
		return slices.ContainsFunc(stages, func(s Stage) bool { return s.Name == name })
	}
	name := FinalStage
	for i := 2; taken(name); i++ {
		name = fmt.Sprintf("%s-%d", FinalStage, i)
	}
	return name
}

func stageSteps(stages []Stage) []Step {
	out := make([]Step, 0, len(stages))
	for _, s := range stages {
		out = append(out, Step{
			Name:     s.Name,
			Kind:     StepCanary,
			Weight:   s.Weight.BasisPoints(),
			Duration: time.Duration(s.Duration),
			Analysis: s.Promotion.Analysis,
			Approval: s.Approval,
			Added:    s.Added,
		})
	}
	return out
}

func blueGreenSteps(d *Deployment) []Step {
	b := d.BlueGreen
	return []Step{
		{Name: "preview", Kind: StepPreview, Duration: time.Duration(b.Preview.Duration),
			Analysis: b.Preview.Analysis, Approval: b.Preview.Approval},
		{Name: "switch", Kind: StepSwitch, Weight: 10000, Duration: time.Duration(b.PostPromotion.Duration),
			Analysis: b.PostPromotion.Analysis, Approval: b.PostPromotion.Approval},
	}
}

func shadowSteps(d *Deployment) []Step {
	s := d.Shadow
	out := []Step{{Name: "shadow", Kind: StepShadow, Mirror: s.Mirror.BasisPoints(),
		Duration: time.Duration(s.Duration), Analysis: s.Analysis}}
	if s.Then != "" {
		out = append(out, stageSteps(d.Stages)...)
	}
	return out
}
