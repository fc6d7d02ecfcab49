package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/examples"
	"github.com/slipway-ml/slipway/internal/api"
	"github.com/slipway-ml/slipway/internal/rollout"
	"github.com/slipway-ml/slipway/internal/simulate"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// The crash tests kill the real binary in the middle of a rollout, by
// SIGKILL from outside or by the server itself right after it persisted a
// transition and before it applied it (SLIPWAY_CRASH_AFTER), then start it
// again on the same data directory and check that the rollout resumes where
// the store says: no step skipped or repeated, no effect lost, and no
// request answered by a version whose rollback was recorded.

// promoteSpec promotes fraud 1.0.0 → 2.0.0 in three stages; only the first
// is analysed, and long enough for its samples to arrive.
const promoteSpec = `
deployment:
  model: fraud
  version: 2.0.0
  stages:
    - name: canary
      weight: 50
      duration: 3s
      promotion:
        analysis:
          metrics:
            - {name: error-rate, threshold: 1}
            - {name: log-loss, relative: 1.3}
    - {name: most, weight: 75, duration: 1s}
    - {name: nearly, weight: 90, duration: 1s}
`

// rollbackSpec deploys fraud 3.0.0 (trained on flipped labels) over 2.0.0;
// its log-loss trigger fires within seconds.
const rollbackSpec = `
deployment:
  model: fraud
  version: 3.0.0
  stages:
    - {name: canary, weight: 30, duration: 30s}
  rollback:
    triggers:
      - {metric: log-loss, relative: 1.5}
`

func TestCrashRollout(t *testing.T) {
	if testing.Short() {
		t.Skip("crash tests run the binary for a minute; skipped with -short")
	}

	// SIGKILL from outside about a second into a three-second stage: the
	// stage resumes with the time it had served, not the time the server
	// was down, and the rollout completes.
	t.Run("KilledMidStage", func(t *testing.T) {
		c := newCrashCase(t)
		p := c.start("")
		c.setup(p, "1.0.0")
		tr := c.play(p)
		c.deploy(p, promoteSpec)
		before := c.waitStatus(p, 10*time.Second, "the first stage to serve 1s", func(st rollout.Status) bool {
			return st.Rollout.Step == 0 && st.Elapsed >= time.Second
		})
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.waitKilled(t, 10*time.Second)
		tr.stop()
		// Downtime that must not count as served time.
		const down = 2500 * time.Millisecond
		time.Sleep(down)

		p = c.start("")
		st := c.status(p)
		if st.Rollout.Status != slipway.RolloutProgressing || st.Rollout.Step != 0 {
			t.Fatalf("after restart: %s at step %d, want progressing at step 0", st.Rollout.Status, st.Rollout.Step)
		}
		if limit := before.Elapsed + 1500*time.Millisecond; st.Elapsed > limit {
			t.Fatalf("the first stage had served %s when the server was killed and %s after a restart %s later: the downtime counted as served time", before.Elapsed, st.Elapsed, down)
		}
		t.Logf("the first stage had served %s when killed, %s after the restart", before.Elapsed, st.Elapsed)
		tr = c.play(p)
		c.waitEnded(p, 30*time.Second, slipway.RolloutCompleted)
		tr.stopClean(t)
		c.checkPromoted(p)
	})

	// The server dies right after persisting the first advance, before
	// the routes changed: the restarted one routes by step 1 before it
	// takes traffic, and does not advance again.
	t.Run("AfterStageAdvanced", func(t *testing.T) {
		c := newCrashCase(t)
		p, _ := c.crashAfter("stage-advanced", "1.0.0", promoteSpec)
		st := c.status(p)
		if st.Rollout.Status != slipway.RolloutProgressing || st.Rollout.Step != 1 {
			t.Fatalf("after restart: %s at step %d, want progressing at step 1 (the persisted advance)", st.Rollout.Status, st.Rollout.Step)
		}
		if w := c.candidateWeight(p, "2.0.0"); w != st.Steps[1].Weight {
			t.Fatalf("after restart the route gives 2.0.0 %d bp, want step 1's %d", w, st.Steps[1].Weight)
		}
		tr := c.play(p)
		c.waitEnded(p, 30*time.Second, slipway.RolloutCompleted)
		tr.stopClean(t)
		c.checkPromoted(p)
	})

	// The server dies after persisting the completion, before the
	// production alias moved: the restarted one moves it before it serves.
	t.Run("AfterCompleted", func(t *testing.T) {
		c := newCrashCase(t)
		p, _ := c.crashAfter("completed", "1.0.0", promoteSpec)
		st := c.status(p)
		if st.Rollout.Status != slipway.RolloutCompleted || !st.Rollout.Applied {
			t.Fatalf("after restart: %s, applied %v; want completed and applied before the server took traffic", st.Rollout.Status, st.Rollout.Applied)
		}
		if prod := c.production(p); prod != "2.0.0" {
			t.Fatalf("after restart production is %s, want 2.0.0", prod)
		}
		restarted := time.Now()
		tr := c.play(p)
		time.Sleep(time.Second)
		tr.stopClean(t)
		c.onlyVersion(tr.since(restarted), "2.0.0", 100)
		c.checkPromoted(p)
	})

	// A quality trigger rolls 3.0.0 back and the server dies after
	// persisting the rollback, before the route changed: the restarted one
	// never answers from 3.0.0.
	t.Run("AfterRolledBack", func(t *testing.T) {
		c := newCrashCase(t)
		p, before := c.crashAfter("rolled-back", "2.0.0", rollbackSpec)
		if n := before.count("3.0.0"); n == 0 {
			t.Fatal("3.0.0 answered nothing before the crash: the canary never ran")
		}
		st := c.status(p)
		if st.Rollout.Status != slipway.RolloutRolledBack || !st.Rollout.Applied {
			t.Fatalf("after restart: %s, applied %v; want rolled-back and applied before the server took traffic", st.Rollout.Status, st.Rollout.Applied)
		}
		if !strings.Contains(st.Rollout.Reason, "log-loss") {
			t.Fatalf("rolled back because %q, want the log-loss trigger", st.Rollout.Reason)
		}
		restarted := time.Now()
		tr := c.play(p)
		time.Sleep(1500 * time.Millisecond)
		tr.stopClean(t)
		c.onlyVersion(tr.since(restarted), "2.0.0", 100)
		if prod := c.production(p); prod != "2.0.0" {
			t.Fatalf("after the rollback production is %s, want 2.0.0", prod)
		}
		evs := c.events(p)
		c.wantKinds(evs, map[string]int{"started": 1, "trigger-fired": 1, "rolled-back": 1, "completed": 0, "stage-advanced": 0})
	})

	// The server dies after persisting the new rollout, before its route
	// existed (the deploy request gets no answer): the restarted one
	// routes the first stage before it serves, and the rollout completes.
	t.Run("AfterStarted", func(t *testing.T) {
		c := newCrashCase(t)
		p := c.start("started")
		c.setup(p, "1.0.0")
		tr := c.play(p)
		if r, err := p.client.Deploy(context.Background(), []byte(promoteSpec)); err == nil {
			t.Fatalf("deploy answered %+v from a server that should have died", r)
		}
		p.waitKilled(t, 10*time.Second)
		tr.stop()

		p = c.start("")
		st := c.status(p)
		if st.Rollout.Status != slipway.RolloutProgressing || st.Rollout.Step != 0 {
			t.Fatalf("after restart: %s at step %d, want progressing at step 0", st.Rollout.Status, st.Rollout.Step)
		}
		if w := c.candidateWeight(p, "2.0.0"); w != st.Steps[0].Weight {
			t.Fatalf("after restart the route gives 2.0.0 %d bp, want step 0's %d", w, st.Steps[0].Weight)
		}
		restarted := time.Now()
		tr = c.play(p)
		c.waitEnded(p, 30*time.Second, slipway.RolloutCompleted)
		tr.stopClean(t)
		if tr.count("2.0.0") == 0 || len(tr.since(restarted)) == 0 {
			t.Fatal("the resumed canary answered nothing from 2.0.0")
		}
		c.checkPromoted(p)
	})
}

// crashCase is one scenario: a data directory that outlives the server
// processes started on it, and the traffic played against them.
type crashCase struct {
	t    *testing.T
	dir  string
	data simulate.Dataset
	runs int // servers started, to name their logs and request ids
}

func newCrashCase(t *testing.T) *crashCase {
	raw, err := examples.Holdout("fraud")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := simulate.ParseCSV(raw, "", "region")
	if err != nil {
		t.Fatal(err)
	}
	return &crashCase{t: t, dir: t.TempDir(), data: ds}
}

// crashServer is one run of the binary.
type crashServer struct {
	cmd    *exec.Cmd
	url    string
	log    string // the file its stderr goes to
	client *api.Client

	exited  chan struct{}
	waitErr error // cmd.Wait's result, set before exited closes
}

// start runs the server on the case's data directory with fast ticks;
// crashAfter, if not empty, is SLIPWAY_CRASH_AFTER.
func (c *crashCase) start(crashAfter string) *crashServer {
	t := c.t
	t.Helper()
	c.runs++
	addr := freeAddr(t)
	logPath := filepath.Join(c.dir, fmt.Sprintf("server-%d.log", c.runs))
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(binary, "server", "--data", filepath.Join(c.dir, "data"), "--http", addr, "--grpc", "",
		"--controller-tick", "50ms", "--telemetry-bucket", "100ms", "--telemetry-retention", "5m")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLIPWAY_CRASH_AFTER=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if crashAfter != "" {
		cmd.Env = append(cmd.Env, "SLIPWAY_CRASH_AFTER="+crashAfter)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &crashServer{cmd: cmd, url: "http://" + addr, log: logPath, exited: make(chan struct{})}
	p.client = &api.Client{BaseURL: p.url, Actor: "crash-test"}
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("server %s log:\n%s", p.url, p.logText())
		}
	})
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-p.exited:
			t.Fatalf("server exited while starting: %v\n%s", p.waitErr, p.logText())
		default:
		}
		if resp, err := http.Get(p.url + "/v2/health/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
	}
	t.Fatalf("server did not come up in 20s:\n%s", p.logText())
	return nil
}

func (p *crashServer) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// waitKilled waits for the server to die and checks that SIGKILL killed
// it: any other end means the crash hook did not fire where it should.
func (p *crashServer) waitKilled(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		t.Fatalf("the server was still running %s later: the crash hook never fired\n%s", timeout, p.logText())
	}
	var exit *exec.ExitError
	if !errors.As(p.waitErr, &exit) {
		t.Fatalf("server exit: %v, want death by SIGKILL\n%s", p.waitErr, p.logText())
	}
	ws, ok := exit.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("server exit: %v, want death by SIGKILL: the crash hook did not fire\n%s", p.waitErr, p.logText())
	}
}

// setup pushes the three fraud versions and points production at prod.
// crashAfter runs a server that kills itself right after persisting the
// first transition of kind: production on prod, traffic playing, spec
// deployed. It returns a restarted server on the same data, and the
// traffic the crashed one saw.
func (c *crashCase) crashAfter(kind, prod, spec string) (*crashServer, *player) {
	c.t.Helper()
	p := c.start(kind)
	c.setup(p, prod)
	tr := c.play(p)
	c.deploy(p, spec)
	p.waitKilled(c.t, 30*time.Second)
	tr.stop()
	return c.start(""), tr
}

func (c *crashCase) setup(p *crashServer, prod string) {
	t := c.t
	t.Helper()
	exs, err := examples.All()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, v := range exs {
		if v.Model != "fraud" {
			continue
		}
		data, err := v.Artifact()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.client.Push(ctx, v.Model, v.Meta, v.File, bytes.NewReader(data)); err != nil {
			t.Fatalf("push %s: %v", v.Dir, err)
		}
	}
	if _, err := p.client.MoveAlias(ctx, "fraud", slipway.AliasProduction, prod, "crash test"); err != nil {
		t.Fatal(err)
	}
}

func (c *crashCase) deploy(p *crashServer, spec string) {
	c.t.Helper()
	r, err := p.client.Deploy(context.Background(), []byte(spec))
	if err != nil {
		c.t.Fatalf("deploy: %v", err)
	}
	if r.Status != slipway.RolloutProgressing {
		c.t.Fatalf("deployed %+v", r)
	}
}

// player is fraud traffic played against one server run: ~200 requests a
// second from 300 users, labels 50 ms later. It stops on its own after a
// minute at the latest.
type player struct {
	tr     *simulate.Traffic
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	responses []simulate.Response
}

func (c *crashCase) play(p *crashServer) *player {
	pl := &player{done: make(chan struct{})}
	pl.tr = &simulate.Traffic{BaseURL: p.url, Model: "fraud", Data: c.data, Users: 300, Rate: 200, Workers: 8,
		FeedbackDelay: 50 * time.Millisecond, IDPrefix: fmt.Sprintf("run%d-", c.runs),
		Client: &http.Client{Timeout: 5 * time.Second},
		OnResponse: func(r simulate.Response) {
			pl.mu.Lock()
			pl.responses = append(pl.responses, r)
			pl.mu.Unlock()
		}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	pl.cancel = cancel
	go func() { defer close(pl.done); pl.tr.Run(ctx) }()
	c.t.Cleanup(pl.stop)
	return pl
}

// stop ends the traffic; requests to a server that died fail, and that is
// expected.
func (pl *player) stop() {
	pl.cancel()
	<-pl.done
}

// stopClean ends the traffic and fails the test if any request failed.
func (pl *player) stopClean(t *testing.T) {
	t.Helper()
	pl.stop()
	if sent, failed, _ := pl.tr.Counts(); failed > 0 {
		t.Errorf("%d of %d requests to the restarted server failed", failed, sent)
	}
}

// since returns the responses to requests sent at or after at.
func (pl *player) since(at time.Time) []simulate.Response {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	var out []simulate.Response
	for _, r := range pl.responses {
		if !r.Sent.Before(at) {
			out = append(out, r)
		}
	}
	return out
}

func (pl *player) count(version string) int {
	n := 0
	for _, r := range pl.since(time.Time{}) {
		if r.Version == version {
			n++
		}
	}
	return n
}

// onlyVersion checks that at least atLeast requests were answered, all with
// status 200 by version.
func (c *crashCase) onlyVersion(rs []simulate.Response, version string, atLeast int) {
	c.t.Helper()
	counts := map[string]int{}
	for _, r := range rs {
		key := r.Version
		if r.Status != http.StatusOK {
			key = fmt.Sprintf("%s (HTTP %d)", r.Version, r.Status)
		}
		counts[key]++
	}
	if len(counts) > 1 || counts[version] < atLeast {
		c.t.Fatalf("responses from the restarted server by version: %v; want only %s, at least %d", counts, version, atLeast)
	}
}

func (c *crashCase) status(p *crashServer) rollout.Status {
	c.t.Helper()
	st, err := p.client.RolloutStatus(context.Background(), "fraud")
	if err != nil {
		c.t.Fatalf("rollout status: %v", err)
	}
	return st
}

// waitStatus polls the rollout until ok holds.
func (c *crashCase) waitStatus(p *crashServer, timeout time.Duration, what string, ok func(rollout.Status) bool) rollout.Status {
	c.t.Helper()
	var st rollout.Status
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if st = c.status(p); ok(st) {
			return st
		}
	}
	c.t.Fatalf("waited %s for %s; the rollout is %s at step %d (%s), waiting for %q; events:\n%s",
		timeout, what, st.Rollout.Status, st.Rollout.Step, st.Rollout.Reason, st.Waiting, eventLog(c.events(p)))
	return st
}

// waitEnded waits for the rollout to end in status with its effects
// applied.
func (c *crashCase) waitEnded(p *crashServer, timeout time.Duration, status slipway.RolloutStatus) rollout.Status {
	c.t.Helper()
	return c.waitStatus(p, timeout, fmt.Sprintf("%s and applied", status), func(st rollout.Status) bool {
		return st.Rollout.Status == status && st.Rollout.Applied
	})
}

func (c *crashCase) events(p *crashServer) []slipway.RolloutEvent {
	c.t.Helper()
	evs, err := p.client.RolloutEvents(context.Background(), "fraud", 0)
	if err != nil {
		c.t.Fatalf("rollout events: %v", err)
	}
	return evs
}

func eventLog(evs []slipway.RolloutEvent) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "  #%d %s %-14s step %d (%s) %s: %s\n", ev.Seq, ev.At.Format("15:04:05.000"), ev.Kind, ev.Step, ev.StepName, ev.Status, ev.Reason)
	}
	return b.String()
}

// wantKinds checks how many events of each kind the log holds.
func (c *crashCase) wantKinds(evs []slipway.RolloutEvent, want map[string]int) {
	c.t.Helper()
	got := map[string]int{}
	for _, ev := range evs {
		got[ev.Kind]++
	}
	for kind, n := range want {
		if got[kind] != n {
			c.t.Fatalf("%d %q events, want %d; events:\n%s", got[kind], kind, n, eventLog(evs))
		}
	}
}

// checkPromoted checks the end of a promotion: production is 2.0.0, and
// the log shows one start, each stage advanced to exactly once and in
// order, and one completion at the end.
func (c *crashCase) checkPromoted(p *crashServer) {
	t := c.t
	t.Helper()
	if prod := c.production(p); prod != "2.0.0" {
		t.Fatalf("production is %s after the promotion, want 2.0.0", prod)
	}
	st := c.status(p)
	evs := c.events(p)
	c.wantKinds(evs, map[string]int{"started": 1, "completed": 1, "rolled-back": 0, "paused": 0})
	var steps []int
	for _, ev := range evs {
		if ev.Kind == "stage-advanced" {
			steps = append(steps, ev.Step)
		}
	}
	if len(steps) != len(st.Steps)-1 {
		t.Fatalf("%d stage advances %v for %d stages; events:\n%s", len(steps), steps, len(st.Steps), eventLog(evs))
	}
	for i, s := range steps {
		if s != i+1 {
			t.Fatalf("stage advances to steps %v, want 1..%d each once in order; events:\n%s", steps, len(st.Steps)-1, eventLog(evs))
		}
	}
	if last := evs[len(evs)-1]; last.Kind != "completed" {
		t.Fatalf("the log ends with %q, want completed; events:\n%s", last.Kind, eventLog(evs))
	}
}

func (c *crashCase) production(p *crashServer) string {
	c.t.Helper()
	as, err := p.client.Aliases(context.Background(), "fraud")
	if err != nil {
		c.t.Fatal(err)
	}
	for _, a := range as {
		if a.Name == slipway.AliasProduction {
			return a.Version
		}
	}
	return ""
}

// candidateWeight is the weight, in basis points, the model's stored route
// gives version; 0 when it has no route or the route leaves version out.
func (c *crashCase) candidateWeight(p *crashServer, version string) int {
	c.t.Helper()
	rc, err := p.client.Route(context.Background(), "fraud")
	if errors.Is(err, slipway.ErrNotFound) {
		return 0
	}
	if err != nil {
		c.t.Fatalf("route: %v", err)
	}
	if len(rc.Policy) == 0 {
		return 0
	}
	var pol traffic.Policy
	if err := json.Unmarshal(rc.Policy, &pol); err != nil {
		c.t.Fatalf("route policy %s: %v", rc.Policy, err)
	}
	for _, s := range pol.Splits {
		if s.Version == version {
			return s.Weight
		}
	}
	return 0
}
