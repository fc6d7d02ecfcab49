package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/examples"
	"github.com/slipway-ml/slipway/internal/api"
	"github.com/slipway-ml/slipway/internal/human"
	"github.com/slipway-ml/slipway/internal/server"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

type demoFlags struct {
	data  string
	http  string
	grpc  string
	keep  bool
	speed float64
}

func (a *app) demoCmd() *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run slipway's main job: four rollouts on live traffic, decided on the evidence",
		Long: fmt.Sprintf(`Start a slipway server on embedded storage, push the bundled example
models, and play their holdout data as live traffic from a population of
users, with each request's ground truth arriving a second later (and, for
digits, whether the user then converted). Then run four rollouts and show
them live, each model's one after the other:

  digits 1.0.0 → 2.0.0   shadow: mirrored traffic, outputs compared, no user answered
  digits 1.0.0 vs 2.0.0  bandit: traffic follows the users' conversions; the winner is promoted
  fraud  1.0.0 → 2.0.0   canary, promoted on the evidence
  fraud  2.0.0 → 3.0.0   canary, rolled back on its own: its quality is worse

The conversions are simulated, and the demo says how: a sign-up form fills
in the handwritten digit when the version that answered is at least %.0f%%
sure; the user finishes the form with a %.0f%% chance when it was filled in
right, %.0f%% when they typed it, %.0f%% when it was filled in wrong. Each
request's conversion goes back with its label on the feedback endpoint, as
values.conversion.

--speed compresses the specs' stage durations (30: a 10m stage runs in 20s);
the whole demo takes under a minute at the default. With --keep the server
stays up until Ctrl-C, so the CLI can be pointed at it.`,
			100*demoForm.Confidence, 100*demoForm.Filled, 100*demoForm.Typed, 100*demoForm.Wrong),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return a.runDemo(ctx, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.data, "data", "", "data directory (default: a new temporary directory, removed afterwards unless --keep)")
	fl.StringVar(&f.http, "http", "127.0.0.1:0", "HTTP listen address (default: a free loopback port)")
	fl.StringVar(&f.grpc, "grpc", "127.0.0.1:0", "gRPC listen address (default: a free loopback port)")
	fl.BoolVar(&f.keep, "keep", false, "leave the server running after the demo")
	fl.Float64Var(&f.speed, "speed", 30, "divide every stage duration of the demo's specs by this")
	return cmd
}

func (a *app) runDemo(ctx context.Context, f demoFlags) error {
	dir := f.data
	if dir == "" {
		tmp, err := os.MkdirTemp("", "slipway-demo-")
		if err != nil {
			return err
		}
		if !f.keep {
			defer os.RemoveAll(tmp)
		}
		dir = tmp
	}
	if f.speed <= 0 {
		return fmt.Errorf("--speed %v: want a positive factor", f.speed)
	}
	srv, err := server.Open(ctx, server.Config{
		DataDir: dir, HTTPAddr: f.http, GRPCAddr: f.grpc, BuildVersion: a.version,
		// Stages last seconds, so the analysis windows need fine buckets
		// and the controller a quick tick.
		Telemetry:      telemetry.Config{Bucket: time.Second, Retention: 30 * time.Minute},
		ControllerTick: 250 * time.Millisecond,
	})
	if err != nil {
		return err
	}
	serveCtx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(serveCtx, func(addr string) { addrc <- addr }) }()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-errc:
		return err
	}
	url := "http://" + addr
	fmt.Fprintf(a.stdout, "slipway %s serving at %s (data in %s)\n\n", a.version, url, dir)

	client := &api.Client{BaseURL: url, Actor: "demo"}
	if err := a.demoSteps(ctx, client); err != nil {
		return err
	}
	if err := a.demoRollouts(ctx, client, f.speed); err != nil {
		return err
	}
	if f.keep {
		fmt.Fprintf(a.stdout, "\nserver left running at %s; try:\n  slipway --server %s model list\nCtrl-C stops it.\n", url, url)
		<-ctx.Done()
	}
	stopServer()
	return <-errc
}

// demoSteps is what a new user would do by hand: push every version, put
// the first of each model in production, and look at the registry.
func (a *app) demoSteps(ctx context.Context, c *api.Client) error {
	exs, err := examples.All()
	if err != nil {
		return err
	}
	prev := map[string]string{}
	for _, ex := range exs {
		data, err := ex.Artifact()
		if err != nil {
			return err
		}
		meta := ex.Meta
		meta.Lineage.Parent = prev[ex.Model]
		start := time.Now()
		v, err := c.Push(ctx, ex.Model, meta, ex.File, bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("push %s: %w", ex.Dir, err)
		}
		fmt.Fprintf(a.stdout, "pushed %-14s %-9s %-10s %s (%s)\n", v.Model+"@"+v.Version, v.Format, human.Bytes(v.Size), v.Digest[:19]+"…", time.Since(start).Round(time.Millisecond))
		prev[ex.Model] = v.Version
	}
	for _, m := range []struct{ model, alias, version, reason string }{
		{"fraud", slipway.AliasProduction, "1.0.0", "baseline in production"},
		{"digits", slipway.AliasProduction, "1.0.0", "baseline in production"},
	} {
		mv, err := c.MoveAlias(ctx, m.model, m.alias, m.version, m.reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "alias  %s@%s -> %s (%s)\n", mv.Model, mv.Alias, mv.To, mv.Reason)
	}
	fmt.Fprintln(a.stdout, "\n$ slipway model list")
	if err := a.runWith(ctx, c, "model", "list"); err != nil {
		return err
	}
	return nil
}

// runWith runs one of our own commands against the demo server, so the
// demo shows exactly what the CLI prints.
func (a *app) runWith(ctx context.Context, c *api.Client, args ...string) error {
	root := New(a.version, a.stdout, a.stderr)
	root.SetArgs(append([]string{"--server", c.BaseURL, "-o", a.output}, args...))
	return root.ExecuteContext(ctx)
}
