package spec

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/bandit"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// Experiment is the ab-test and bandit strategies' section: the versions
// compared (the arms), the metric that decides between them and the
// guardrails every challenger must hold. The control arm is the
// deployment's baseline; it gets whatever share the challengers leave.
type Experiment struct {
	// Arms are the challengers with their shares of the experiment's
	// traffic. Default: the deployment's version at 50%. The
	// deployment's version must be one of them.
	Arms []Arm `yaml:"arms,omitempty"`
	// Metric is the primary metric: a feedback value, values.NAME (a
	// conversion of 0 or 1, or any number such as revenue), or reward
	// (the feedback's reward field). Required.
	Metric string `yaml:"metric"`
	// Binary says the metric's values are 0 or 1 (a conversion), tested
	// as proportions; false tests means of any values. Default true.
	Binary bool `yaml:"binary"`
	// LowerIsBetter says smaller values win (churn, cost). Default false.
	LowerIsBetter bool `yaml:"lowerIsBetter,omitempty"`
	// Guardrails are conditions every challenger must hold against the
	// control, judged like a stage's metrics (error-rate relative 1.5,
	// latency-p99 …). A breach stops the experiment and sends every user
	// back to the control.
	Guardrails []Metric `yaml:"guardrails,omitempty"`
	// MinSamples is the observations of the metric each arm needs before
	// a winner is declared. Default 1000.
	MinSamples int `yaml:"minSamples"`
	// MinDuration is how long the experiment runs before a winner is
	// declared, so that daily cycles are covered. Default 0.
	MinDuration Duration `yaml:"minDuration,omitempty"`
	// Duration is the longest the experiment runs: an A/B test without a
	// winner by then does what Inconclusive says; a bandit then promotes
	// its best arm. Required.
	Duration Duration `yaml:"duration"`
	// Promote moves the production alias to the winner. Default true.
	Promote bool `yaml:"promote"`
	// Inconclusive is what an A/B test without a winner does when its
	// duration is over: pause (for a person) or rollback (keep the
	// control). Default pause.
	Inconclusive Action `yaml:"inconclusive,omitempty"`
	// Audience limits the experiment to the requests that match every
	// rule; everyone else stays on the control. None means everyone.
	Audience []AudienceRule `yaml:"audience,omitempty"`
	// Policy is a bandit's allocation rule: thompson, ucb1,
	// epsilon-greedy or uniform. Default thompson. Bandit only.
	Policy string `yaml:"policy,omitempty"`
	// Floor is the least share of traffic every arm keeps, in percent,
	// so that no arm starves. Default 5. Bandit only.
	Floor Percent `yaml:"floor,omitempty"`
	// Epsilon is epsilon-greedy's exploration rate, above 0. Default 0.1.
	// Bandit only.
	Epsilon float64 `yaml:"epsilon,omitempty"`
	// Contexts make a bandit contextual: each named context (an audience
	// of request headers or parameters) gets its own allocation from its
	// own evidence, so different users can get different versions;
	// requests in no context share the allocation from all the evidence.
	// Bandit only.
	Contexts []Context `yaml:"contexts,omitempty"`
}

// Context is one audience of a contextual bandit.
type Context struct {
	// Name is unique in the experiment. Required.
	Name string `yaml:"name"`
	// Match is the rules a request meets, all of them, to be in the
	// context. Required.
	Match []AudienceRule `yaml:"match"`
}

// Experiment defaults.
const (
	DefaultExperimentSamples = 1000
	DefaultBanditFloor       = Percent(5)
	DefaultBanditPolicy      = "thompson"
)

func (x *Experiment) setDefaults() {
	x.Binary = true
	x.MinSamples = DefaultExperimentSamples
	x.Promote = true
	x.Inconclusive = ActionPause
}

// DefaultEpsilon is epsilon-greedy's exploration rate when the spec gives
// none.
const DefaultEpsilon = 0.1

// Arm is one challenger of an experiment and its share of traffic.
type Arm struct {
	Version string  `yaml:"version"`
	Share   Percent `yaml:"share"`
}

// AudienceRule tests a request header or OIP parameter (exactly one) by
// exact value, prefix or regular expression (exactly one), as route
// segments do.
type AudienceRule struct {
	Header string `yaml:"header,omitempty"`
	Param  string `yaml:"param,omitempty"`
	Exact  string `yaml:"exact,omitempty"`
	Prefix string `yaml:"prefix,omitempty"`
	Regex  string `yaml:"regex,omitempty"`
}

// The metric name an experiment reads from the feedback's reward field.
const RewardMetric = "reward"

// ControlShare is the share of the experiment's traffic the control
// keeps, in basis points.
func (x *Experiment) ControlShare() int {
	total := 0
	for _, a := range x.Arms {
		total += a.Share.BasisPoints()
	}
	return 10000 - total
}

func checkExperiment(c *checker, d *Deployment) {
	c.only("experiment")
	x := d.Experiment
	if x == nil {
		example := "experiment: {metric: values.conversion, duration: 7d}"
		c.addf("deployment.experiment", "required for strategy %s, such as %s", d.Strategy, example)
		return
	}
	const p = "deployment.experiment"
	switch {
	case x.Metric == "":
		c.addf(p+".metric", "required: the feedback value that decides, such as values.conversion, or reward")
	case x.Metric != RewardMetric:
		if info, ok := LookupMetric(x.Metric); !ok || info.Unit != UnitValue {
			c.addf(p+".metric", "%q: an experiment is decided by a feedback value, values.NAME, or by reward", x.Metric)
		}
	}
	c.requiredDuration(p+".duration", x.Duration, "the longest the experiment runs, such as 7d")
	if x.MinDuration > x.Duration && x.Duration > 0 {
		c.addf(p+".minDuration", "%s is longer than duration %s", x.MinDuration, x.Duration)
	}
	if x.MinSamples < 0 {
		c.addf(p+".minSamples", "%d is negative", x.MinSamples)
	}
	c.action(p+".inconclusive", x.Inconclusive)
	seen := map[string]bool{}
	found := false
	for i, a := range x.Arms {
		ap := fmt.Sprintf("%s.arms[%d]", p, i)
		if err := slipway.ValidName("version", a.Version); err != nil {
			c.addf(ap+".version", "%v", err)
		}
		if seen[a.Version] {
			c.addf(ap+".version", "%q is already an arm", a.Version)
		}
		if a.Version == d.Baseline {
			c.addf(ap+".version", "%q is the baseline, which is the control arm already", a.Version)
		}
		seen[a.Version] = true
		found = found || a.Version == d.Version
		if a.Share <= 0 || a.Share >= 100 {
			c.addf(ap+".share", "%s: a share between 0 and 100%%, the control keeping the rest", a.Share)
		}
	}
	// A champion-challenger's arms change as challengers come and go; its
	// version names the first challenger only.
	if !found && d.Version != "" && d.Strategy != ChampionChallenger && !c.anyBad(p+".arms") {
		c.addf(p+".arms", "the deployment's version %s must be one of the arms", d.Version)
	}
	if cs := x.ControlShare(); cs <= 0 && !c.anyBad(p+".arms") {
		c.addf(p+".arms", "the shares add up to %s, leaving nothing for the control", PercentFromBasisPoints(10000-cs))
	}
	for i := range x.Guardrails {
		c.metric(fmt.Sprintf("%s.guardrails[%d]", p, i), &x.Guardrails[i], false)
	}
	c.audience(p+".audience", x.Audience)
	names := map[string]bool{}
	for i, ctx := range x.Contexts {
		cp := fmt.Sprintf("%s.contexts[%d]", p, i)
		if err := slipway.ValidName("context", ctx.Name); err != nil {
			c.addf(cp+".name", "%v", err)
		} else if names[ctx.Name] {
			c.addf(cp+".name", "%q is already a context", ctx.Name)
		}
		names[ctx.Name] = true
		if len(ctx.Match) == 0 {
			c.addf(cp+".match", "required: the rules a request meets to be in the context, such as - {header: X-Device, exact: mobile}")
		}
		c.audience(cp+".match", ctx.Match)
	}
	if len(x.Contexts) > 0 && len(x.Audience) > 0 {
		c.addf(p+".contexts", "give audience or contexts, not both")
	}
	if d.Strategy == Bandit {
		if x.LowerIsBetter {
			c.addf(p+".lowerIsBetter", "a bandit maximizes its metric; send a value that grows when things get better (1 − churn, −cost)")
		}
		if !slices.Contains(bandit.Names(), x.Policy) {
			c.addf(p+".policy", "%q is not a bandit policy (known: %s)", x.Policy, strings.Join(bandit.Names(), ", "))
		}
		arms := len(x.Arms) + 1
		if f := float64(x.Floor); f < 0 || f*float64(arms) > 100 {
			c.addf(p+".floor", "%s for %d arms: at most %s", x.Floor, arms, PercentFromBasisPoints(10000/arms))
		}
		if x.Epsilon < 0 || x.Epsilon > 1 {
			c.addf(p+".epsilon", "%v: from 0 to 1", x.Epsilon)
		}
	} else {
		for _, f := range []string{"policy", "epsilon", "floor", "contexts"} {
			if c.given(p + "." + f) {
				c.addf(p+"."+f, "only for strategy bandit")
			}
		}
	}
}

// audience checks rules of an audience or a context.
func (c *checker) audience(path string, rules []AudienceRule) {
	for i, r := range rules {
		rp := fmt.Sprintf("%s[%d]", path, i)
		if (r.Header == "") == (r.Param == "") {
			c.addf(rp, "give one of header or param")
		}
		n := 0
		for _, s := range []string{r.Exact, r.Prefix, r.Regex} {
			if s != "" {
				n++
			}
		}
		if n != 1 {
			c.addf(rp, "give one of exact, prefix or regex")
		}
	}
}

// experimentSteps is one step that runs the experiment for its duration.
func experimentSteps(d *Deployment) []Step {
	x := d.Experiment
	kind := StepExperiment
	if d.Strategy == Bandit {
		kind = StepBandit
	}
	w := 0
	for _, a := range x.Arms {
		if a.Version == d.Version {
			w = a.Share.BasisPoints()
		}
	}
	return []Step{{Name: string(d.Strategy), Kind: kind, Weight: w, Duration: time.Duration(x.Duration)}}
}

// Describe is the plan's analysis cell of an experiment step: the
// decision metric, the arms and their shares, guardrails and audience.
func (x *Experiment) Describe(baseline string, isBandit bool) []string {
	arms := []string{fmt.Sprintf("%s (control) %s", baseline, PercentFromBasisPoints(x.ControlShare()))}
	for _, a := range x.Arms {
		arms = append(arms, fmt.Sprintf("%s %s", a.Version, a.Share))
	}
	lines := []string{fmt.Sprintf("decided by %s (n ≥ %d per arm)", x.Metric, x.MinSamples)}
	if isBandit {
		lines[0] = fmt.Sprintf("%s allocates by %s, floor %s", x.Policy, x.Metric, x.Floor)
		lines = append(lines, "starting shares: "+strings.Join(arms, ", "))
	} else {
		lines = append(lines, "arms: "+strings.Join(arms, ", "))
	}
	for _, g := range x.Guardrails {
		lines = append(lines, "guardrail "+g.String())
	}
	if len(x.Audience) > 0 {
		lines = append(lines, "audience: "+rulesText(x.Audience))
	}
	for _, ctx := range x.Contexts {
		lines = append(lines, fmt.Sprintf("context %s: %s, allocated on its own evidence", ctx.Name, rulesText(ctx.Match)))
	}
	return lines
}

func rulesText(rules []AudienceRule) string {
	texts := make([]string, len(rules))
	for i, r := range rules {
		texts[i] = r.String()
	}
	return strings.Join(texts, " and ")
}

// Rule is the routing rule the audience rule stands for.
func (r AudienceRule) Rule() traffic.Rule {
	return traffic.Rule{Header: r.Header, Param: r.Param, Exact: r.Exact, Prefix: r.Prefix, Regex: r.Regex}
}

func (r AudienceRule) String() string { return r.Rule().String() }

// Notes explain how the experiment decides and ends.
func (x *Experiment) Notes(p Plan) []string {
	promote := "the winner becomes production"
	if !x.Promote {
		promote = "production stays as it is (promote: false)"
	}
	if p.Strategy == ChampionChallenger {
		return []string{
			fmt.Sprintf("The champion (%s) serves the rest. A challenger that beats it on %s with always-valid 95%% significance, after %d observations", p.Baseline, x.Metric, x.MinSamples),
			fmt.Sprintf("and %s, becomes champion (%s moves to it); one that is worse, breaches a guardrail or is no better after %s is retired.", x.MinDuration, p.Baseline, x.Duration),
			"The rollout runs until aborted; add challengers with slipway rollout challenge MODEL VERSION --share N.",
		}
	}
	if p.Strategy == Bandit {
		return []string{
			fmt.Sprintf("Every tick the shares follow the evidence on %s, each arm keeping at least %s; users are sticky within a share.", x.Metric, x.Floor),
			fmt.Sprintf("After %s the arm most likely to be best wins and %s; a guardrail breach sends everyone back to %s.", x.Duration, promote, p.Baseline),
		}
	}
	return []string{
		fmt.Sprintf("Each user keeps one arm for the whole test. A challenger wins when it beats %s and every other arm on %s with always-valid 95%% significance,", p.Baseline, x.Metric),
		fmt.Sprintf("after %d observations per arm and %s; then %s.", x.MinSamples, x.MinDuration, promote),
		fmt.Sprintf("A guardrail breach or every challenger worse than the control stops the test with everyone on %s; no winner after %s: %s.", p.Baseline, x.Duration, x.Inconclusive),
	}
}
