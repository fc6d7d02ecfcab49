package runbook

import (
	"time"

	"github.com/slipway-ml/slipway/internal/spec"
)

// Plan is a deployment plan with every figure worked out, ready to
// render: what Build makes of Inputs.
type Plan struct {
	Inputs
	// Steps is the spec unfolded, as the controller will run it.
	Steps spec.Plan
	// Changes are the differences between the baseline and the candidate.
	Changes Changes
	Risk    Risk
	// Baselines are the figures the estimates start from.
	Baselines Baselines
	// Stages are the steps with the traffic each version will see and
	// what each condition needs, in order.
	Stages []Stage
	// Triggers are the rollback triggers with what each needs in each
	// stage; Triggers[i].Stages[j] is trigger i in stage j.
	Triggers []TriggerPlan
}

// Stage is one step of the plan with its traffic and its conditions.
type Stage struct {
	Step spec.Step
	// CandidateRPS and BaselineRPS are the requests per second each
	// version answers (for a shadow, the candidate's are mirrored copies);
	// zero when the traffic is not known.
	CandidateRPS, BaselineRPS float64
	// Conditions are the step's analysis, each with what it needs.
	Conditions []Condition
	// Decides sums up whether the step's analysis can decide in time.
	Decides Sufficiency
}

// CandidateRequests is what the candidate answers over the step's
// duration at the stated traffic.
func (s Stage) CandidateRequests() float64 { return s.CandidateRPS * s.Step.Duration.Seconds() }

// BaselineRequests is what the baseline answers over the step's duration.
func (s Stage) BaselineRequests() float64 { return s.BaselineRPS * s.Step.Duration.Seconds() }

// Condition is one condition at one step: what it needs, and how long
// the step's traffic takes to bring it.
type Condition struct {
	Need Need
	// CandidateRate and BaselineRate are the observations per second each
	// version gets for this condition (requests, labels or mirrored
	// requests).
	CandidateRate, BaselineRate float64
	// Pass is how long until a candidate that meets the condition can
	// pass; Fail how long until the scenario's worse candidate fails.
	Pass, Fail Timing
	// Verdict judges Pass and Fail against the step's duration.
	Verdict Sufficiency
}

// Timing is how long a step's traffic takes to bring some observations.
type Timing struct {
	After time.Duration
	// Never says the traffic never brings them (a version gets none).
	Never bool
	// Unknown says the traffic was not stated.
	Unknown bool
}

// Sufficiency says whether a step's traffic lets its analysis decide.
type Sufficiency int

// Judgements of a step's traffic against what its analysis needs.
const (
	// Unjudged: the traffic is not known, or the step has no analysis.
	Unjudged Sufficiency = iota
	// Enough: both outcomes are reached within the step's duration.
	Enough
	// Extended: an outcome needs the extra wait the controller gives an
	// inconclusive analysis (up to the step's duration again).
	Extended
	// NotEnough: an outcome is not reached even then; the step ends
	// inconclusive and does what the spec says (pause by default).
	NotEnough
)

func (s Sufficiency) String() string {
	switch s {
	case Enough:
		return "enough"
	case Extended:
		return "only with the extra wait"
	case NotEnough:
		return "not enough"
	}
	return "not judged"
}

// TriggerPlan is one rollback trigger with its need at every stage.
type TriggerPlan struct {
	Trigger spec.Trigger
	Stages  []Condition
}

// Build works out the plan: the change summary, the risk, the traffic of
// every stage, and what every condition needs. It reads nothing but in.
func Build(in Inputs) Plan {
	p := Plan{Inputs: in, Steps: in.Spec.Plan(), Baselines: baselines(in)}
	p.Changes = compare(in.Baseline, in.Candidate)
	for _, st := range p.Steps.Steps {
		p.Stages = append(p.Stages, p.stage(st))
	}
	for _, t := range p.Steps.Triggers {
		tp := TriggerPlan{Trigger: t}
		for _, st := range p.Steps.Steps {
			c := p.condition(st, estimateTrigger(t, len(p.Steps.Triggers), p.Baselines, p.split(st, t.Info())), t.Info())
			tp.Stages = append(tp.Stages, c)
		}
		p.Triggers = append(p.Triggers, tp)
	}
	p.Risk = assess(p)
	return p
}

func (p Plan) stage(st spec.Step) Stage {
	s := Stage{Step: st}
	s.CandidateRPS, s.BaselineRPS = p.requestRates(st)
	ms := st.Analysis.Metrics
	for _, m := range ms {
		info := m.Info()
		s.Conditions = append(s.Conditions, p.condition(st, estimate(m, len(ms), p.Baselines, p.split(st, info)), info))
	}
	for _, c := range s.Conditions {
		s.Decides = max(s.Decides, c.Verdict)
	}
	return s
}

// requestRates are the requests per second each version answers in st.
func (p Plan) requestRates(st spec.Step) (cand, base float64) {
	t := float64(p.Traffic)
	w := float64(st.Weight) / 10000
	switch st.Kind {
	case spec.StepShadow:
		return t * float64(st.Mirror) / 10000, t
	case spec.StepPreview:
		return 0, t // smoke tests only
	}
	return t * w, t * (1 - w)
}

// observationRates are the observations per second each version gets for
// a metric of info in st.
func (p Plan) observationRates(st spec.Step, info spec.MetricInfo) (cand, base float64) {
	cand, base = p.requestRates(st)
	shadow := st.Kind == spec.StepShadow
	switch info.Source {
	case spec.SourceShadow:
		if !shadow {
			return 0, 0
		}
		return cand, cand
	case spec.SourceFeedback:
		if shadow {
			return 0, base * p.Baselines.LabelShare // the shadow's answers reach nobody
		}
		return cand * p.Baselines.LabelShare, base * p.Baselines.LabelShare
	case spec.SourcePredictions:
		if shadow {
			return 0, base
		}
	case spec.SourceRequests:
		if shadow && latencyQuantile(info) != 0 || shadow && info.Name == "latency-mean" {
			return cand, cand // the shadow's latency against the primary's on the same requests
		}
	}
	return cand, base
}

// split is how st shares a metric's observations between the versions,
// which the two-version tests depend on. Without stated traffic the
// shares still follow from the weights.
func (p Plan) split(st spec.Step, info spec.MetricInfo) split {
	saved := p.Traffic
	p.Traffic = 1
	cand, base := p.observationRates(st, info)
	p.Traffic = saved
	if cand <= 0 {
		return split{}
	}
	return split{ratio: base / cand}
}

// condition times a need at st's traffic.
func (p Plan) condition(st spec.Step, n Need, info spec.MetricInfo) Condition {
	c := Condition{Need: n}
	c.CandidateRate, c.BaselineRate = p.observationRates(st, info)
	pc, pb := n.PassAt()
	c.Pass = p.timing(float64(pc), float64(pb), c.CandidateRate, c.BaselineRate)
	if fc, fb, ok := n.FailAt(); ok {
		c.Fail = p.timing(float64(fc), float64(fb), c.CandidateRate, c.BaselineRate)
	} else {
		c.Fail = Timing{Never: true}
	}
	c.Verdict = judge(st.Duration, c.Pass, c.Fail)
	return c
}

// timing is how long rates bring cand and base observations.
func (p Plan) timing(cand, base, candRate, baseRate float64) Timing {
	if !p.Traffic.Known() {
		return Timing{Unknown: true}
	}
	var t Timing
	for _, need := range []struct{ n, rate float64 }{{cand, candRate}, {base, baseRate}} {
		if need.n <= 0 {
			continue
		}
		if need.rate <= 0 {
			return Timing{Never: true}
		}
		t.After = max(t.After, time.Duration(need.n/need.rate*float64(time.Second)))
	}
	return t
}

// judge compares the time both outcomes take with a step of duration d,
// which waits up to d again for an inconclusive analysis.
func judge(d time.Duration, pass, fail Timing) Sufficiency {
	if pass.Unknown || d <= 0 {
		return Unjudged
	}
	worst := Enough
	for _, t := range []Timing{pass, fail} {
		switch {
		case t.Never || t.After > 2*d:
			worst = NotEnough
		case t.After > d:
			worst = max(worst, Extended)
		}
	}
	return worst
}
