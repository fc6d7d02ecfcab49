package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/examples"
	"github.com/slipway-ml/slipway/internal/api"
	"github.com/slipway-ml/slipway/internal/simulate"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

// The demo's specs, written with real durations; {{d:10m}} is replaced by
// the duration divided by --speed.
const (
	demoFraudV2 = `deployment:
  model: fraud
  version: 2.0.0
  baseline: production
  strategy: canary
  stages:
    - name: canary
      weight: 20
      duration: {{d:10m}}
      promotion:
        analysis:
          metrics:
            - name: error-rate
              threshold: 1
            - name: latency-p99
              threshold: 100
            - name: log-loss       # a few frauds carry most of the loss:
              relative: 1.2        # it needs more labels than a rate
              minSamples: 300
    - name: half
      weight: 50
      duration: {{d:10m}}
      promotion:
        analysis:
          metrics:
            - name: log-loss
              relative: 1.2
              minSamples: 300
  rollback:
    triggers:
      - {metric: error-rate, above: 5}
      - {metric: latency-p99, above: 250, action: pause, notify: true}
`
	demoFraudV3 = `deployment:
  model: fraud
  version: 3.0.0
  strategy: canary
  stages:
    - name: canary
      weight: 10
      duration: {{d:10m}}
      promotion:
        analysis:
          metrics:
            - {name: error-rate, threshold: 1}
            - {name: log-loss, relative: 1.2, minSamples: 300}
    - name: half
      weight: 50
      duration: {{d:10m}}
  rollback:
    triggers:
      - {metric: log-loss, relative: 1.5}
      - {metric: error-rate, above: 5}
`
	demoDigitsShadow = `deployment:
  model: digits
  version: 2.0.0
  strategy: shadow
  shadow:
    mirror: 100
    duration: {{d:15m}}
    analysis:
      metrics:
        - {name: error-rate, threshold: 1}
        - {name: agreement, threshold: 75}
        - {name: latency-p99, threshold: 50}
`
	demoDigitsBandit = `deployment:
  model: digits
  version: 2.0.0
  strategy: bandit
  experiment:
    metric: values.conversion    # 1 when the user finished the form, from feedback
    arms:
      - {version: 2.0.0, share: 50}   # the control, production, has the rest
    policy: thompson             # each arm's share: the chance it is the best
    floor: 10                    # percent every arm keeps
    duration: {{d:10m}}  # then the arm most likely to be best wins
    guardrails:
      - {name: error-rate, threshold: 1}
`
)

// demoForm is what the demo's digits users do after an answer: the
// conversions the bandit decides on.
var demoForm = simulate.Autofill{Output: "probabilities", Confidence: 0.8, Filled: 0.15, Typed: 0.03, Wrong: 0.01}

// compress replaces every {{d:DURATION}} of a spec by DURATION/speed.
func compress(spec string, speed float64) string {
	var b strings.Builder
	for {
		i := strings.Index(spec, "{{d:")
		if i < 0 {
			b.WriteString(spec)
			return b.String()
		}
		j := strings.Index(spec[i:], "}}")
		d, err := time.ParseDuration(spec[i+4 : i+j])
		if err != nil {
			panic(fmt.Sprintf("demo spec duration %q: %v", spec[i+4:i+j], err))
		}
		scaled := time.Duration(float64(d) / speed).Round(100 * time.Millisecond)
		b.WriteString(spec[:i] + scaled.String())
		spec = spec[i+j+2:]
	}
}

// demoRollouts plays the holdout data as live traffic and runs the demo's
// four rollouts, printing each decision as it is taken and the live
// figures of both versions every few seconds.
func (a *app) demoRollouts(ctx context.Context, c *api.Client, speed float64) error {
	fraudData, err := demoDataset("fraud", "", "region")
	if err != nil {
		return err
	}
	digitsData, err := demoDataset("digits", "input")
	if err != nil {
		return err
	}
	trafficCtx, stopTraffic := context.WithCancel(ctx)
	defer stopTraffic()
	streams := []*simulate.Traffic{
		{BaseURL: c.BaseURL, Model: "fraud", Data: fraudData, Users: 500, Rate: 150, Workers: 8, FeedbackDelay: time.Second},
		{BaseURL: c.BaseURL, Model: "digits", Data: digitsData, Users: 400, Rate: 100, Workers: 4, FeedbackDelay: time.Second,
			Values: demoForm.Values, Seed: 1},
	}
	for _, s := range streams {
		go s.Run(trafficCtx)
	}
	f := demoForm
	fmt.Fprintf(a.stdout, "\nlive traffic from the holdout data: fraud 150 req/s from 500 users, digits 100 req/s from 400 users (header X-User-Id);\n")
	fmt.Fprintf(a.stdout, "each request's ground truth comes back 1s later on /v2/models/{model}/feedback.\n")
	fmt.Fprintf(a.stdout, "The simulation assumes the digits users fill in a sign-up form from a photo of a handwritten digit: the form\n")
	fmt.Fprintf(a.stdout, "fills the digit in when the answering version is at least %.0f%% sure, and the user finishes the form (converts)\n", 100*f.Confidence)
	fmt.Fprintf(a.stdout, "with a %.0f%% chance when it is filled in right, %.0f%% when they must type it, %.0f%% when it is filled in wrong;\n", 100*f.Filled, 100*f.Typed, 100*f.Wrong)
	fmt.Fprintf(a.stdout, "the feedback carries it as values.conversion (0 or 1). Those rates are the simulation's; which version earns\n")
	fmt.Fprintf(a.stdout, "which comes from the models' own outputs.\n")
	fmt.Fprintf(a.stdout, "--speed %g: the specs' stage durations are divided by %g.\n", speed, speed)

	w := &demoWatch{a: a, c: c, start: time.Now(), seen: map[string]int{}}
	err = w.play(ctx, []demoAct{
		{model: "digits", title: "digits 1.0.0 → 2.0.0: a shadow, its outputs compared with production's", spec: compress(demoDigitsShadow, speed)},
		{model: "fraud", title: "fraud 1.0.0 → 2.0.0: a canary of the better model", spec: compress(demoFraudV2, speed)},
		{model: "fraud", title: "fraud 2.0.0 → 3.0.0: a canary of a model trained on mislabelled data", spec: compress(demoFraudV3, speed)},
		{model: "digits", title: "digits 1.0.0 vs 2.0.0: a bandit on the users' conversions, now that the shadow found 2.0.0 safe", spec: compress(demoDigitsBandit, speed)},
	})
	if err != nil {
		return err
	}
	stopTraffic()
	var sent, failed int64
	for _, s := range streams {
		n, f, _ := s.Counts()
		sent, failed = sent+n, failed+f
	}
	fmt.Fprintf(a.stdout, "\n== summary (%s, %d requests, %d failed)\n", time.Since(w.start).Round(time.Second), sent, failed)
	if err := a.demoSummary(ctx, c); err != nil {
		return err
	}
	for _, m := range []string{"fraud", "digits"} {
		fmt.Fprintf(a.stdout, "\n$ slipway rollout explain %s\n", m)
		if err := a.runWith(ctx, c, "rollout", "explain", m); err != nil {
			return err
		}
	}
	return nil
}

func demoDataset(model, tensor string, skip ...string) (simulate.Dataset, error) {
	raw, err := examples.Holdout(model)
	if err != nil {
		return simulate.Dataset{}, err
	}
	return simulate.ParseCSV(raw, tensor, skip...)
}

// demoWatch prints the demo's rollouts as they go.
type demoWatch struct {
	a     *app
	c     *api.Client
	start time.Time
	// seen counts the events already printed per model's rollout.
	seen map[string]int
	// ids are the rollouts deployed, by model.
	ids map[string]int64
}

func (w *demoWatch) deploy(ctx context.Context, title, spec string) error {
	fmt.Fprintf(w.a.stdout, "\n== %s\n$ slipway deploy -f - <<EOF\n%sEOF\n", title, spec)
	r, err := w.c.Deploy(ctx, []byte(spec))
	if err != nil {
		return fmt.Errorf("deploy %s: %w", title, err)
	}
	if w.ids == nil {
		w.ids = map[string]int64{}
	}
	w.ids[r.Model] = r.ID
	w.seen[key(r.Model, r.ID)] = 0
	return w.events(ctx, r.Model)
}

func key(model string, id int64) string { return fmt.Sprintf("%s#%d", model, id) }

// demoAct is one rollout of the demo. A model's acts run one after
// another; different models' run side by side.
type demoAct struct {
	model, title, spec string
}

// play deploys each model's first act, then, as a model's rollout ends,
// its next one, printing events as they happen and every few seconds the
// live figures, until every act has ended.
func (w *demoWatch) play(ctx context.Context, acts []demoAct) error {
	const every = 5 * time.Second
	next := map[string][]demoAct{}
	var models []string
	for _, act := range acts {
		if _, ok := next[act.model]; !ok {
			models = append(models, act.model)
		}
		next[act.model] = append(next[act.model], act)
	}
	deploy := func(m string) error {
		act := next[m][0]
		next[m] = next[m][1:]
		return w.deploy(ctx, act.title, act.spec)
	}
	for _, m := range models {
		if err := deploy(m); err != nil {
			return err
		}
	}
	lastView := time.Now()
	for {
		ended := true
		for _, m := range models {
			st, err := w.c.RolloutStatus(ctx, m)
			if err != nil {
				return err
			}
			// After the status, so that the event that ended it shows.
			if err := w.events(ctx, m); err != nil {
				return err
			}
			if st.Rollout.Status == slipway.RolloutPaused {
				// A paused rollout waits for a person; the demo has none.
				fmt.Fprintf(w.a.stdout, "  %s is paused (%s); the demo aborts it\n", m, st.Rollout.Reason)
				if _, err := w.c.RolloutAct(ctx, m, "abort", false, "the demo does not wait for a person"); err != nil {
					return err
				}
			}
			if st.Rollout.Status.Live() || !st.Rollout.Applied {
				ended = false
				continue
			}
			if len(next[m]) > 0 {
				if err := deploy(m); err != nil {
					return err
				}
				ended = false
			}
		}
		if ended {
			return nil
		}
		if time.Since(lastView) >= every {
			lastView = time.Now()
			if err := w.view(ctx); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// events prints the model's new rollout events.
func (w *demoWatch) events(ctx context.Context, model string) error {
	id := w.ids[model]
	evs, err := w.c.RolloutEvents(ctx, model, id)
	if err != nil {
		return err
	}
	k := key(model, id)
	for _, ev := range evs[w.seen[k]:] {
		mark := map[string]string{
			"started": "▶", "stage-advanced": "✓", "completed": "✔", "rolled-back": "✘", "trigger-fired": "!",
			"paused": "‖", "decision": "…",
		}[ev.Kind]
		fmt.Fprintf(w.a.stdout, "  %6s %s %-7s %-15s %s\n", demoClock(time.Since(w.start)), orDash(mark), model, ev.Kind, ev.Reason)
	}
	w.seen[k] = len(evs)
	return nil
}

func demoClock(d time.Duration) string {
	d = d.Round(100 * time.Millisecond)
	return fmt.Sprintf("%d:%04.1f", int(d.Minutes()), d.Seconds()-60*float64(int(d.Minutes())))
}

// view prints, for every live rollout, its stage and weights and both
// versions' live figures side by side.
func (w *demoWatch) view(ctx context.Context) error {
	tw := tabwriter.NewWriter(w.a.stdout, 0, 4, 2, ' ', 0)
	for _, model := range []string{"fraud", "digits"} {
		st, err := w.c.RolloutStatus(ctx, model)
		if err != nil || !st.Rollout.Status.Live() {
			continue
		}
		r := st.Rollout
		step := st.Steps[r.Step]
		window := max(seconds(st.ElapsedSeconds), time.Second)
		stats, err := w.c.Telemetry(ctx, model, window)
		if err != nil {
			return err
		}
		left := shortDuration(seconds(st.RemainingSeconds))
		if k := spec.StepKind(step.Kind); k == spec.StepBandit || k == spec.StepExperiment {
			// An experiment's arms: each one's traffic beside the
			// judge's sentence on its share and its conversions.
			metric, arms := demoArms(st.Verdict)
			how := r.Strategy
			if metric != "" {
				how += " on " + metric
			}
			fmt.Fprintf(tw, "  │ %s\t%s vs %s\t%s, %s left\t%s\n", model, r.Baseline, r.Candidate, how, left, r.Status)
			for _, v := range []string{r.Candidate, r.Baseline} {
				vs, _ := versionStats(stats, v)
				fmt.Fprintf(tw, "  │   %s\t%d req, %.2f%% errors, p99 %.3gms\t%s\t\n", v, vs.Requests, 100*vs.ErrorRate, vs.LatencyMS.P99, orDash(arms[v]))
			}
			continue
		}
		share := fmt.Sprintf("%s of traffic", percent(st.Weight))
		if st.Mirror > 0 {
			share = fmt.Sprintf("mirror %s", percent(st.Mirror))
		}
		fmt.Fprintf(tw, "  │ %s\t%s → %s\t%s, stage %s (%d/%d), %s, %s left\t%s\n", model, r.Baseline, r.Candidate, r.Strategy, step.Name,
			r.Step+1, len(st.Steps), share, left, r.Status)
		for _, v := range []string{r.Candidate, r.Baseline} {
			vs, ok := versionStats(stats, v)
			if !ok {
				continue
			}
			fmt.Fprintf(tw, "  │   %s\t%d req, %.2f%% errors, p99 %.3gms\t%s\t\n", v, vs.Requests, 100*vs.ErrorRate, vs.LatencyMS.P99, demoQuality(vs.Quality))
		}
		for _, sh := range stats.Shadows {
			if sh.Shadow == r.Candidate && sh.Agreement != nil {
				fmt.Fprintf(tw, "  │   %s (shadow)\t%d compared, agreement %.1f%%\tp99 %.3gms vs %.3gms\t\n", sh.Shadow, sh.Compared, 100**sh.Agreement,
					sh.ShadowLatencyMS.P99, sh.PrimaryLatencyMS.P99)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w.a.stdout, "  │")
	return nil
}

// demoArms picks an experiment's per-arm sentences out of its verdict, by
// version, and the metric that decides: the judge writes one result per
// arm whose rule starts with "arm VERSION" and whose sentence says where
// the arm stands.
func demoArms(v *slipway.Verdict) (metric string, arms map[string]string) {
	arms = map[string]string{}
	if v == nil {
		return "", arms
	}
	for _, m := range v.Metrics {
		rest, ok := strings.CutPrefix(m.Rule, "arm ")
		if !ok {
			continue
		}
		version, _, _ := strings.Cut(rest, " ")
		version = strings.TrimSuffix(version, ":")
		sentence := m.Sentence
		if s, ok := strings.CutPrefix(sentence, "arm "+version+": "); ok {
			sentence = s
		}
		arms[version], metric = sentence, m.Metric
	}
	return metric, arms
}

func demoQuality(q telemetry.QualityStats) string {
	if q.N == 0 {
		return "no labels yet"
	}
	var parts []string
	if q.Accuracy != nil {
		parts = append(parts, fmt.Sprintf("accuracy %.1f%%", 100**q.Accuracy))
	}
	if q.LogLoss != nil {
		parts = append(parts, fmt.Sprintf("log-loss %.3f", *q.LogLoss))
	}
	return fmt.Sprintf("%s (n=%d)", strings.Join(parts, ", "), q.N)
}

// demoSummary prints each rollout's outcome and why.
func (a *app) demoSummary(ctx context.Context, c *api.Client) error {
	rs, err := c.Rollouts(ctx, store.RolloutFilter{})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLLOUT\tMODEL\tCHANGE\tSTRATEGY\tOUTCOME\tTOOK\tWHY")
	for i := len(rs) - 1; i >= 0; i-- {
		r := rs[i]
		fmt.Fprintf(tw, "#%d\t%s\t%s → %s\t%s\t%s\t%s\t%s\n", r.ID, r.Model, r.Baseline, r.Candidate, r.Strategy, r.Status,
			r.UpdatedAt.Sub(r.CreatedAt).Round(time.Second), truncate(r.Reason, 110))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, m := range []string{"fraud", "digits"} {
		v, err := c.Version(ctx, slipway.Ref{Model: m, Selector: slipway.AliasProduction})
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s@production is %s\n", m, v.Version.Version)
	}
	return nil
}
