// Package cli is slipway's command line: cobra commands that turn flags
// into calls on the control-plane client (or, for server and demo, start
// one). Commands hold no logic of their own beyond presentation.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/internal/api"
)

// app carries the global flags and the output streams to every command.
type app struct {
	serverURL string
	token     string
	output    string
	version   string
	stdout    io.Writer
	stderr    io.Writer
}

// New returns the root command. version is the build version;
// stdout and stderr receive all output, so tests can capture it.
func New(version string, stdout, stderr io.Writer) *cobra.Command {
	a := &app{version: version, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "slipway",
		Short:         "Ship machine-learning models to production safely",
		Long:          "slipway is a model registry, an inference gateway and a progressive-delivery controller in one binary.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if a.output != "table" && a.output != "json" {
				return fmt.Errorf("-o %q: want table or json", a.output)
			}
			return nil
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&a.serverURL, "server", envOr("SLIPWAY_SERVER", "http://127.0.0.1:8080"), "slipway server URL (env SLIPWAY_SERVER)")
	pf.StringVar(&a.token, "token", os.Getenv("SLIPWAY_TOKEN"), "API token (env SLIPWAY_TOKEN)")
	pf.StringVarP(&a.output, "output", "o", "table", "output format: table or json")

	root.AddCommand(a.versionCmd(), a.serverCmd(), a.modelCmd(), a.routeCmd(), a.deployCmd(), a.rolloutCmd(), a.predictCmd(), a.demoCmd(), a.planCmd(), a.reportCmd(), a.batchCmd(), a.gateCmd(), a.approveCmd())
	return root
}

// Execute runs the command line and returns the process exit code.
func Execute(ctx context.Context, version string, args []string, stdout, stderr io.Writer) int {
	root := New(version, stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "slipway: error: %v\n", err)
		return 1
	}
	return 0
}

func (a *app) client() *api.Client {
	return &api.Client{BaseURL: a.serverURL, Token: a.token, Actor: actorName()}
}

// actorName is who the server records as making a change: SLIPWAY_ACTOR,
// else user@host.
func actorName() string {
	if s := os.Getenv("SLIPWAY_ACTOR"); s != "" {
		return s
	}
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if h, err := os.Hostname(); err == nil {
		name += "@" + h
	}
	return name
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the client version (and the server's, if one answers)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := map[string]string{"client": a.version}
			if sv, err := a.client().ServerVersion(cmd.Context()); err == nil {
				out["server"] = sv
			}
			return a.emit(out, func(w io.Writer) {
				fmt.Fprintf(w, "client\t%s\n", out["client"])
				if sv, ok := out["server"]; ok {
					fmt.Fprintf(w, "server\t%s\n", sv)
				}
			})
		},
	}
}
