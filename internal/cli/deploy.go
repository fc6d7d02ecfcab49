package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/rollout"
)

func (a *app) deployCmd() *cobra.Command {
	var file, reason string
	var dryRun, skipGates bool
	cmd := &cobra.Command{
		Use:   "deploy -f SPEC [--dry-run]",
		Short: "Start a rollout from a deployment spec (or, with --dry-run, show its plan)",
		Long: `Send a deployment spec (YAML) to the server, which validates it and starts
the rollout it describes: the candidate version takes a growing share of
live traffic, step by step, while its metrics are compared with the
baseline's, and goes back to the baseline on its own when they fail.
With --dry-run nothing starts: the spec is printed with every default
filled in, followed by its plan. A spec with mistakes is refused with
every problem and its line.`,
		Example: `  slipway deploy -f deploy.yaml --dry-run
  slipway deploy -f deploy.yaml
  cat deploy.yaml | slipway deploy -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := readSpec(cmd, file)
			if err != nil {
				return err
			}
			c := a.client()
			if dryRun {
				plan, err := c.DryRun(cmd.Context(), spec)
				if err != nil {
					return err
				}
				return a.emitText(plan, func(w io.Writer) { printDryRun(w, plan) })
			}
			deploy := c.Deploy
			if skipGates {
				deploy = func(ctx context.Context, spec []byte) (slipway.Rollout, error) {
					return c.DeploySkippingGates(ctx, spec, reason)
				}
			}
			r, err := deploy(cmd.Context(), spec)
			if err != nil {
				return err
			}
			return a.emitText(r, func(w io.Writer) {
				fmt.Fprintf(w, "rollout #%d of %s: %s → %s (%s) started\n", r.ID, r.Model, baselineName(r), r.Candidate, r.Strategy)
				fmt.Fprintf(w, "follow it with: slipway rollout status %s --watch\n", r.Model)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&file, "file", "f", "", "deployment spec file (YAML); - reads standard input")
	fl.BoolVar(&dryRun, "dry-run", false, "validate and show the plan without starting anything")
	fl.BoolVar(&skipGates, "skip-gates", false, "start even though the spec's gates have not passed (needs --reason, which is recorded)")
	fl.StringVar(&reason, "reason", "", "why the gates are skipped, recorded with the rollout")
	return cmd
}

func readSpec(cmd *cobra.Command, file string) ([]byte, error) {
	switch file {
	case "":
		return nil, fmt.Errorf("give the deployment spec with -f FILE (-f - reads standard input)")
	case "-":
		b, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return nil, fmt.Errorf("read deployment spec from standard input: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read deployment spec: %w", err)
	}
	return b, nil
}

func printDryRun(w io.Writer, d rollout.DryRun) {
	fmt.Fprintln(w, "# the deployment spec with every default filled in")
	fmt.Fprint(w, withNewline(d.Spec))
	fmt.Fprintln(w, "\nplan:")
	fmt.Fprint(w, withNewline(d.Plan))
	if !strings.Contains(strings.ToLower(d.Plan), "expected duration") {
		fmt.Fprintf(w, "\nexpected duration: %s (approvals not counted)\n", shortDuration(seconds(d.DurationSeconds)))
	}
	fmt.Fprintln(w, "\nnothing was started: run without --dry-run to deploy")
}

func withNewline(s string) string {
	if s == "" || strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}
