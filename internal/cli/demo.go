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
	"github.com/slipway-ml/slipway/internal/server"
)

type demoFlags struct {
	data string
	http string
	grpc string
	keep bool
}

func (a *app) demoCmd() *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start slipway on embedded storage and push the bundled example models",
		Long: `Start a slipway server on embedded storage, push every bundled example
model version, move the production and staging aliases, and show the
registry as a user would see it. With --keep the server stays up until
Ctrl-C, so the CLI can be pointed at it.`,
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
	srv, err := server.Open(ctx, server.Config{DataDir: dir, HTTPAddr: f.http, GRPCAddr: f.grpc, BuildVersion: a.version})
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
	if f.keep {
		fmt.Fprintf(a.stdout, "\nserver left running at %s; try:\n  slipway --server %s model list\nCtrl-C stops it.\n", url, url)
		<-ctx.Done()
	}
	stopServer()
	return <-errc
}

// demoSteps is what a new user would do by hand: push every version,
// promote the first of each model to production, stage the next, and
// look at the result.
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
		fmt.Fprintf(a.stdout, "pushed %-14s %-9s %-10s %s (%s)\n", v.Model+"@"+v.Version, v.Format, humanBytes(v.Size), v.Digest[:19]+"…", time.Since(start).Round(time.Millisecond))
		prev[ex.Model] = v.Version
	}
	for _, m := range []struct{ model, alias, version, reason string }{
		{"fraud", slipway.AliasProduction, "1.0.0", "baseline in production"},
		{"fraud", "staging", "2.0.0", "candidate: higher holdout AUC"},
		{"digits", slipway.AliasProduction, "1.0.0", "baseline in production"},
		{"digits", "staging", "2.0.0", "candidate"},
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
	fmt.Fprintln(a.stdout, "\n$ slipway model versions fraud")
	if err := a.runWith(ctx, c, "model", "versions", "fraud"); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "\n$ slipway model history fraud")
	if err := a.runWith(ctx, c, "model", "history", "fraud"); err != nil {
		return err
	}
	return a.demoTraffic(ctx, c)
}

// runWith runs one of our own commands against the demo server, so the
// demo shows exactly what the CLI prints.
func (a *app) runWith(ctx context.Context, c *api.Client, args ...string) error {
	root := New(a.version, a.stdout, a.stderr)
	root.SetArgs(append([]string{"--server", c.BaseURL, "-o", a.output}, args...))
	return root.ExecuteContext(ctx)
}
