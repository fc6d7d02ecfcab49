package rollout_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/examples"
	"github.com/slipway-ml/slipway/internal/analysis"
	"github.com/slipway-ml/slipway/internal/blob"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/rollout"
	"github.com/slipway-ml/slipway/internal/runtime"
	"github.com/slipway-ml/slipway/internal/serving"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/store/postgres"
	"github.com/slipway-ml/slipway/internal/store/postgres/pgtest"
	"github.com/slipway-ml/slipway/internal/store/sqlite"
	"github.com/slipway-ml/slipway/internal/telemetry"
	"github.com/slipway-ml/slipway/internal/traffic"

	_ "github.com/slipway-ml/slipway/internal/runtime/xgboost"
)

// The benchmarks in this file measure three figures of the controller:
//
//   - BenchmarkRollbackDecisionToBaseline: from the instant the analysis
//     hands the controller a failing verdict to the instant the gateway's
//     routing table sends nothing to the candidate any more (target ≤ 10 ms);
//   - BenchmarkUndo: from the call to undo a completed rollout to the
//     instant all traffic is routed to the previous version (≤ 10 ms);
//   - BenchmarkTick1000: one controller tick over 1,000 live canaries, with
//     the real analysis over real telemetry, and without analysis.
//
// The first two run the production data plane: the real gateway with the
// fraud XGBoost models, the registry, telemetry and a real store (SQLite in
// a temporary directory, and PostgreSQL). The end instant is taken when the
// gateway's SetRoute or ClearRoute returns, which is after it swapped its
// routing table; each iteration then sends 200 requests from different
// users through the gateway to check that the routing says what was
// measured. ns/op is the controller call alone (Tick or Act); the figures
// of the issue are the custom metrics.

// fraudModel is the example model the data-plane benchmarks roll out.
const fraudModel = "fraud"

// canary50 is a canary at 50% that only a person or a failing analysis
// ends: its stage lasts an hour.
const canary50 = `
deployment:
  model: fraud
  version: 2.0.0
  stages:
    - name: canary
      weight: 50
      duration: 1h
      promotion:
        analysis:
          metrics:
            - {name: error-rate, threshold: 1}
  rollback:
    triggers:
      - {metric: error-rate, above: 5}
`

// benchStores are the stores the data-plane benchmarks run on: each
// opens a fresh, empty one.
var benchStores = []struct {
	name string
	open func(b *testing.B) store.Store
}{
	{"store=sqlite", func(b *testing.B) store.Store {
		st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "slipway.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}},
	{"store=postgres", func(b *testing.B) store.Store {
		st, err := postgres.Open(context.Background(), pgtest.Schema(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}},
}

// BenchmarkRollbackDecisionToBaseline measures, for a live 1.0.0 → 2.0.0
// canary at 50%, the time from the controller's rollback decision (the
// judge returning Fail inside Tick) to the gateway routing no request to
// 2.0.0. Every iteration deploys a new canary, untimed, and checks that
// both versions answer before the tick and only 1.0.0 after it.
func BenchmarkRollbackDecisionToBaseline(b *testing.B) {
	for _, s := range benchStores {
		b.Run(s.name, func(b *testing.B) {
			p := openPlane(b, s.open(b))
			var spans []time.Duration
			for b.Loop() {
				b.StopTimer()
				p.deployCanary()
				p.router.reset()
				p.judge.failNext()
				b.StartTimer()
				p.ctrl.Tick(p.ctx)
				b.StopTimer()
				decided := p.judge.decision()
				at, ok := p.router.first(func(answering []string) bool { return !slices.Contains(answering, "2.0.0") }, "1.0.0")
				if !ok {
					b.Fatalf("after the rollback the routes still send traffic to 2.0.0: %v", p.router.log())
				}
				spans = append(spans, at.Sub(decided))
				p.expectRollout(slipway.RolloutRolledBack)
				p.expectAnswers(map[string]bool{"1.0.0": true})
				b.StartTimer()
			}
			reportSpans(b, spans, "rollback")
			p.checkLog()
		})
	}
}

// BenchmarkUndo measures undoing a completed 1.0.0 → 2.0.0 rollout: from
// the call to Act to the gateway routing all traffic to 1.0.0. Every
// iteration deploys and promotes a new rollout, untimed, and checks that
// only 2.0.0 answers before the undo and only 1.0.0 after it.
func BenchmarkUndo(b *testing.B) {
	for _, s := range benchStores {
		b.Run(s.name, func(b *testing.B) {
			p := openPlane(b, s.open(b))
			var spans []time.Duration
			for b.Loop() {
				b.StopTimer()
				p.deployCanary()
				p.act(rollout.ActionPromote, true)
				p.expectRollout(slipway.RolloutCompleted)
				p.expectAnswers(map[string]bool{"2.0.0": true})
				p.router.reset()
				b.StartTimer()
				start := time.Now()
				p.act(rollout.ActionUndo, false)
				b.StopTimer()
				// The clear that ends an undo comes after the alias moved
				// back, so a cleared route means 1.0.0.
				at, ok := p.router.first(func(answering []string) bool { return slices.Equal(answering, []string{"1.0.0"}) }, "1.0.0")
				if !ok {
					b.Fatalf("after the undo the routes do not send everything to 1.0.0: %v", p.router.log())
				}
				spans = append(spans, at.Sub(start))
				p.expectRollout(slipway.RolloutUndone)
				p.expectAnswers(map[string]bool{"1.0.0": true})
				b.StartTimer()
			}
			reportSpans(b, spans, "undo")
			p.checkLog()
		})
	}
}

// reportSpans reports the mean, median and 99th percentile of the measured
// spans in milliseconds.
func reportSpans(b *testing.B, spans []time.Duration, what string) {
	if len(spans) == 0 {
		return
	}
	slices.Sort(spans)
	var sum time.Duration
	for _, d := range spans {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(sum)/float64(len(spans)), "ms/"+what)
	b.ReportMetric(ms(percentile(spans, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(spans, 0.99)), "p99-ms")
}

// percentile is the nearest-rank q-quantile of sorted spans.
func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// plane is the production data plane as server.Open assembles it, except
// that the controller's judge and router are wrapped to take the time.
type plane struct {
	b      *testing.B
	ctx    context.Context
	reg    *registry.Registry
	gw     *serving.Gateway
	judge  *failingJudge
	router *timedRouter
	ctrl   *rollout.Controller
	log    *lockedBuffer
	inputs []runtime.Tensor
	users  int // users sent so far, so that every check sees new ones
}

func openPlane(b *testing.B, st store.Store) *plane {
	b.Helper()
	ctx := context.Background()
	blobs, err := blob.OpenDir(filepath.Join(b.TempDir(), "blobs"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { blobs.Close() })
	reg := registry.New(st, blobs)
	reg.StageDir = b.TempDir()
	gw := serving.NewGateway(reg)
	reg.AliasMoved = gw.AliasMoved
	rec := telemetry.New(telemetry.Config{})
	gw.SetObserver(rec)
	gw.StartMirrors(0, 0)
	b.Cleanup(func() { gw.Close() })
	p := &plane{b: b, ctx: ctx, reg: reg, gw: gw, log: &lockedBuffer{}, inputs: fraudInputs(),
		judge:  &failingJudge{real: &analysis.Judge{Source: rec}},
		router: &timedRouter{gw: gw}}
	pushFraud(b, reg)
	p.ctrl = rollout.New(rollout.Config{Store: st, Registry: reg, Router: p.router, Judge: p.judge,
		Logger: slog.New(slog.NewTextHandler(p.log, nil))})
	if err := p.ctrl.Start(ctx); err != nil {
		b.Fatal(err)
	}
	return p
}

// pushFraud pushes the fraud example's versions and makes 1.0.0
// production.
func pushFraud(b *testing.B, reg *registry.Registry) {
	b.Helper()
	ctx := context.Background()
	exs, err := examples.All()
	if err != nil {
		b.Fatal(err)
	}
	for _, ex := range exs {
		if ex.Model != fraudModel {
			continue
		}
		data, err := ex.Artifact()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := reg.Push(ctx, registry.Push{Version: ex.Meta, Artifact: bytes.NewReader(data), Filename: ex.File}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := reg.MoveAlias(ctx, fraudModel, slipway.AliasProduction, "1.0.0", "bench", ""); err != nil {
		b.Fatal(err)
	}
}

// deployCanary starts canary50 and checks that both versions answer.
func (p *plane) deployCanary() {
	p.b.Helper()
	if _, err := p.ctrl.Deploy(p.ctx, []byte(canary50), "bench"); err != nil {
		p.b.Fatalf("deploy: %v", err)
	}
	p.expectAnswers(map[string]bool{"1.0.0": true, "2.0.0": true})
}

func (p *plane) act(action string, full bool) {
	p.b.Helper()
	if _, err := p.ctrl.Act(p.ctx, rollout.Request{Model: fraudModel, Action: action, Full: full, Actor: "bench"}); err != nil {
		p.b.Fatalf("%s: %v", action, err)
	}
}

// expectRollout checks the latest rollout ended in status with its
// effects applied.
func (p *plane) expectRollout(status slipway.RolloutStatus) {
	p.b.Helper()
	st, err := p.ctrl.Status(p.ctx, fraudModel)
	if err != nil {
		p.b.Fatal(err)
	}
	if r := st.Rollout; r.Status != status || !r.Applied {
		p.b.Fatalf("rollout #%d is %s (applied %v: %s), want %s applied", r.ID, r.Status, r.Applied, r.Reason, status)
	}
}

// expectAnswers sends 200 unpinned requests from as many new users
// through the gateway and checks that exactly the versions in want
// answered them.
func (p *plane) expectAnswers(want map[string]bool) {
	p.b.Helper()
	got := map[string]int{}
	for range 200 {
		p.users++
		req := &serving.Request{Model: fraudModel, Inputs: p.inputs,
			Header: map[string][]string{"X-User-Id": {"user-" + strconv.Itoa(p.users)}}}
		resp, err := p.gw.Infer(p.ctx, req)
		if err != nil {
			p.b.Fatalf("infer: %v", err)
		}
		got[resp.Version]++
	}
	for v := range got {
		if !want[v] {
			p.b.Fatalf("answered by %v, want only %v", got, want)
		}
	}
	for v := range want {
		if got[v] == 0 {
			p.b.Fatalf("answered by %v, want each of %v", got, want)
		}
	}
}

// checkLog fails the benchmark if the controller logged an error.
func (p *plane) checkLog() {
	p.b.Helper()
	if s := p.log.String(); s != "" {
		p.b.Fatalf("the controller logged:\n%s", s)
	}
}

// fraudInputs is one transaction in the fraud models' seven features.
func fraudInputs() []runtime.Tensor {
	features := []struct {
		name  string
		value float32
	}{
		{"amount", 10}, {"hour", 3}, {"merchant_risk", 0.2}, {"distance_from_home", 5},
		{"tx_count_24h", 1}, {"is_foreign", 0}, {"card_age_days", 100},
	}
	out := make([]runtime.Tensor, len(features))
	for i, f := range features {
		out[i] = runtime.Tensor{Name: f.name, Datatype: runtime.FP32, Shape: []int64{1}, Data: []float32{f.value}}
	}
	return out
}

// failingJudge is the real analysis.Judge, except that after failNext
// every rollback trigger fires. It records when it handed the verdict back: the
// instant the controller has its decision. Tick is called from the
// benchmark's goroutine and Run is not started, so nothing else calls it.
type failingJudge struct {
	real    rollout.Judge
	fail    bool
	decided time.Time
}

func (j *failingJudge) failNext() { j.fail, j.decided = true, time.Time{} }

func (j *failingJudge) decision() time.Time { return j.decided }

func (j *failingJudge) Judge(q analysis.Query, metrics []spec.Metric, triggers []spec.Trigger) (slipway.Verdict, []analysis.Firing) {
	v, firings := j.real.Judge(q, metrics, triggers)
	if j.fail {
		// A rollback trigger acts at once; a failing stage analysis waits
		// for the end of its stage.
		j.fail = false
		for i := range firings {
			firings[i].Fired = true
			firings[i].Result.Result = slipway.Fail
			firings[i].Result.Reason = "told to fire by the benchmark"
		}
	}
	j.decided = time.Now()
	return v, firings
}

// timedRouter passes the controller's route changes to the gateway and
// records when each returned: by then the gateway has swapped its routing
// table, so that is the instant requests follow the new policy.
type timedRouter struct {
	gw *serving.Gateway

	mu      sync.Mutex // guards changes
	changes []routeChange
}

// routeChange is a route change as the gateway applied it; a nil policy
// means the route was cleared and traffic follows the production alias.
type routeChange struct {
	at     time.Time
	policy *traffic.Policy
}

var _ rollout.Router = (*timedRouter)(nil)

func (r *timedRouter) Load(ctx context.Context, model, version string) error {
	return r.gw.Load(ctx, model, version)
}

func (r *timedRouter) SetRoute(ctx context.Context, model string, p traffic.Policy, actor, reason string) (slipway.RouteChange, error) {
	c, err := r.gw.SetRoute(ctx, model, p, actor, reason)
	if err == nil {
		r.record(&p)
	}
	return c, err
}

func (r *timedRouter) ClearRoute(ctx context.Context, model, actor, reason string) error {
	err := r.gw.ClearRoute(ctx, model, actor, reason)
	if err == nil {
		r.record(nil)
	}
	return err
}

func (r *timedRouter) record(p *traffic.Policy) {
	at := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, routeChange{at: at, policy: p})
}

func (r *timedRouter) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = r.changes[:0]
}

// first returns when the first change was applied after which the
// versions that can answer satisfy ok; production is where a cleared
// route sends traffic.
func (r *timedRouter) first(ok func(answering []string) bool, production string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.changes {
		if ok(answering(c.policy, production)) {
			return c.at, true
		}
	}
	return time.Time{}, false
}

// log describes the recorded changes for a failure message.
func (r *timedRouter) log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.changes {
		out = append(out, fmt.Sprintf("%s %v", c.at.Format(time.StampMicro), answering(c.policy, "production")))
	}
	return out
}

// answering lists, sorted, the versions a policy lets answer a request:
// those with weight in the split and the targets of segments. Mirrors
// never answer. A nil policy leaves it to the production version.
func answering(p *traffic.Policy, production string) []string {
	if p == nil {
		return []string{production}
	}
	var out []string
	add := func(splits []traffic.Split) {
		for _, s := range splits {
			if s.Weight > 0 {
				out = append(out, s.Version)
			}
		}
	}
	add(p.Splits)
	for _, seg := range p.Segments {
		if seg.Version != "" {
			out = append(out, seg.Version)
		}
		add(seg.Splits)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// lockedBuffer collects the controller's log.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// BenchmarkTick1000 measures one tick of the controller over 1,000 live
// canaries at 50%, on the real SQLite store and registry, with a router
// that only accepts policies (no model is loaded). With analysis, each
// rollout's stage judges three metrics and two triggers with the real
// analysis.Judge over a telemetry.Recorder holding five minutes of traffic
// at 2 requests per second for each of the 2,000 versions; without, the
// tick is the controller's own bookkeeping. The stages last an hour, so no
// rollout changes during the benchmark; the clock moves one second per
// tick, as in Run.
func BenchmarkTick1000(b *testing.B) {
	if testing.Short() {
		b.Skip("sets up 1,000 rollouts; skipped with -short")
	}
	const n = 1000
	b.Run("analysis=3-metrics+2-triggers", func(b *testing.B) { benchTick(b, n, analysedCanary, true) })
	b.Run("analysis=none", func(b *testing.B) { benchTick(b, n, bareCanary, false) })
}

// analysedCanary judges error rate, latency against the baseline and the
// drift of the predictions, and watches two triggers.
const analysedCanary = `
deployment:
  model: %s
  version: 2.0.0
  stages:
    - name: canary
      weight: 50
      duration: 1h
      promotion:
        analysis:
          metrics:
            - {name: error-rate, threshold: 1}
            - {name: latency-p99, relative: 2}
            - {name: prediction-drift, threshold: 0.25}
  rollback:
    triggers:
      - {metric: error-rate, above: 5}
      - {metric: latency-p99, relative: 3, action: pause}
`

// bareCanary has nothing to judge.
const bareCanary = `
deployment:
  model: %s
  version: 2.0.0
  stages:
    - {name: canary, weight: 50, duration: 1h}
`

func benchTick(b *testing.B, n int, specText string, withTraffic bool) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(t0.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }

	dir := b.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "slipway.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	blobs, err := blob.OpenDir(filepath.Join(dir, "blobs"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { blobs.Close() })
	reg := registry.New(st, blobs)
	rec := telemetry.New(telemetry.Config{Now: now})
	log := &lockedBuffer{}
	ctrl := rollout.New(rollout.Config{Store: st, Registry: reg, Router: acceptRouter{}, Judge: &analysis.Judge{Source: rec},
		Now: now, Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err := ctrl.Start(ctx); err != nil {
		b.Fatal(err)
	}

	setup := time.Now()
	models := make([]string, n)
	for i := range models {
		models[i] = fmt.Sprintf("m%04d", i)
		// The versions are rows only: the router loads nothing.
		for _, v := range []string{"1.0.0", "2.0.0"} {
			if _, err := st.CreateVersion(ctx, slipway.Version{Model: models[i], Version: v, Format: slipway.FormatXGBoost,
				Digest: "sha256:" + fmt.Sprintf("%064d", i), Size: 1}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := reg.MoveAlias(ctx, models[i], slipway.AliasProduction, "1.0.0", "bench", ""); err != nil {
			b.Fatal(err)
		}
		if _, err := ctrl.Deploy(ctx, fmt.Appendf(nil, specText, models[i]), "bench"); err != nil {
			b.Fatalf("deploy %s: %v", models[i], err)
		}
	}
	stored := time.Since(setup)
	if withTraffic {
		recordTraffic(rec, &clock, models, 5*time.Minute, 2)
	} else {
		clock.Add(int64(5 * time.Minute))
	}
	b.Logf("setup: %d rollouts stored in %s, telemetry in %s", n, stored.Round(time.Millisecond), (time.Since(setup) - stored).Round(time.Millisecond))

	// A first tick checks that the analysis reads the traffic and that
	// every rollout stays where it is.
	ctrl.Tick(ctx)
	if withTraffic {
		s, err := ctrl.Status(ctx, models[0])
		if err != nil {
			b.Fatal(err)
		}
		if s.Verdict == nil || s.Verdict.Result != slipway.Pass || len(s.Verdict.Metrics) != 3 || len(s.Triggers) != 2 {
			b.Fatalf("the analysis of %s did not pass its three metrics and two triggers: %+v, triggers %+v", models[0], s.Verdict, s.Triggers)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		clock.Add(int64(time.Second))
		ctrl.Tick(ctx)
	}
	per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(per/1e6, "ms/tick")
	b.ReportMetric(per/1e3/float64(n), "µs/rollout")

	live, err := st.ListRollouts(ctx, store.RolloutFilter{Live: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range live {
		if r.Status != slipway.RolloutProgressing || r.Step != 0 {
			b.Fatalf("rollout of %s moved during the benchmark: %s at step %d: %s", r.Model, r.Status, r.Step, r.Reason)
		}
	}
	if len(live) != n {
		b.Fatalf("%d live rollouts after the benchmark, want %d", len(live), n)
	}
	if s := log.String(); s != "" {
		b.Fatalf("the controller logged:\n%s", s)
	}
}

// recordTraffic records, for every model's two versions, span of traffic
// at rps requests per second ending at the clock's new time: all answered,
// with log-normal latencies around 2 ms and one score each, the same
// distributions for both versions. The clock moves forward by span.
func recordTraffic(rec *telemetry.Recorder, clock *atomic.Int64, models []string, span time.Duration, rps int) {
	rng := rand.New(rand.NewPCG(1, 2))
	start := clock.Load()
	steps := int(span.Seconds()) * rps
	for i := range steps {
		clock.Store(start + int64(i)*int64(time.Second)/int64(rps))
		for _, m := range models {
			for _, v := range []string{"1.0.0", "2.0.0"} {
				score := float32(1 / (1 + math.Exp(-(-3.5 + 1.5*rng.NormFloat64()))))
				rec.Record(telemetry.Observation{Model: m, Version: v,
					Latency: time.Duration(math.Exp(0.7+0.4*rng.NormFloat64()) * float64(time.Millisecond)),
					Outputs: []runtime.Tensor{{Name: "score", Datatype: runtime.FP32, Shape: []int64{1}, Data: []float32{score}}}})
			}
		}
	}
	clock.Store(start + int64(span))
}

// acceptRouter accepts every policy and loads nothing: the tick benchmark
// measures the controller, not the data plane.
type acceptRouter struct{}

func (acceptRouter) Load(ctx context.Context, model, version string) error { return nil }

func (acceptRouter) SetRoute(ctx context.Context, model string, p traffic.Policy, actor, reason string) (slipway.RouteChange, error) {
	return slipway.RouteChange{Model: model}, p.Validate()
}

func (acceptRouter) ClearRoute(ctx context.Context, model, actor, reason string) error { return nil }
