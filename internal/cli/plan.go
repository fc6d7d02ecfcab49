package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/api"
	"github.com/slipway-ml/slipway/internal/gate"
	"github.com/slipway-ml/slipway/internal/runbook"
	"github.com/slipway-ml/slipway/internal/spec"
)

func (a *app) planCmd() *cobra.Command {
	var file, traffic, out string
	cmd := &cobra.Command{
		Use:   "plan -f SPEC [--traffic 5000rps | 2M/day] [-o plan.md]",
		Short: "Write the deployment plan and runbook of a spec, in Markdown, with measured numbers",
		Long: `Write the deployment plan and runbook of a deployment spec as Markdown:
overview and change summary between the baseline and the candidate, risk
level with its reasons, the stored gate tables, the stages with the
requests each will see at the stated traffic and whether that is enough
for its analysis to decide, routing, the metrics watched, escalation,
the exact rollback commands, checklists, success criteria and a draft
message to stakeholders. Versions, training metrics and the baseline's
live error rate come from the server; nothing is started.

--traffic is the model's live traffic: 5000rps, 300rpm, 150k/h, 2M/day.
-o writes the Markdown to a file (- or table: standard output; json: the
plan's figures as JSON).`,
		Example: `  slipway plan -f deploy.yaml --traffic 5000rps
  slipway plan -f deploy.yaml --traffic 2M/day -o plan.md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var rate runbook.Rate
			if traffic != "" {
				r, err := runbook.ParseRate(traffic)
				if err != nil {
					return fmt.Errorf("--traffic: %w", err)
				}
				rate = r
			}
			data, err := readSpec(cmd, file)
			if err != nil {
				return err
			}
			s, err := spec.Parse(data)
			if err != nil {
				return specProblems(file, err)
			}
			c := a.client()
			in, err := runbook.Gather(cmd.Context(), runbook.Sources{Versions: clientResolver{c}, Stats: c, Gates: clientGates{c}}, s, rate)
			if err != nil {
				return specProblems(file, err)
			}
			if file != "-" {
				in.SpecFile = file
			}
			if a.serverURL != defaultServer {
				in.Server = a.serverURL
			}
			p := runbook.Build(in)
			return a.writeDocument(out, "plan", p, p.Markdown)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&file, "file", "f", "", "deployment spec file (YAML); - reads standard input")
	fl.StringVar(&traffic, "traffic", "", "the model's live traffic: 5000rps, 300rpm, 150k/h, 2M/day")
	fl.StringVarP(&out, "output", "o", "", "write the Markdown to this file (- or table: standard output; json: the figures as JSON)")
	return cmd
}

// defaultServer is --server's default without SLIPWAY_SERVER, which the
// commands a plan prints leave out.
const defaultServer = "http://127.0.0.1:8080"

// clientResolver resolves versions through the control-plane API, for
// spec.Check and the plan.
type clientResolver struct{ c *api.Client }

func (r clientResolver) Resolve(ctx context.Context, ref slipway.Ref) (slipway.Version, string, error) {
	v, err := r.c.Version(ctx, ref)
	return v.Version, v.Via, err
}

// clientGates reads a version's stored gate report through the
// control-plane API and turns it into the plan's tables.
type clientGates struct{ c *api.Client }

func (g clientGates) GateReport(ctx context.Context, model, version string) (runbook.GateReport, error) {
	stored, err := g.c.GateReport(ctx, slipway.Ref{Model: model, Selector: version})
	if err != nil {
		return runbook.GateReport{}, err
	}
	var r gate.Report
	if err := json.Unmarshal(stored.Report, &r); err != nil {
		return runbook.GateReport{}, fmt.Errorf("stored gate report of %s@%s: %w", model, version, err)
	}
	return gateTables(r, stored.At), nil
}

// gateTables are a gate run's gate and comparison tables as text.
func gateTables(r gate.Report, at time.Time) runbook.GateReport {
	out := runbook.GateReport{RanAt: at}
	if r.Baseline != nil {
		out.Baseline = r.Baseline.Version
	}
	for _, c := range r.Checks {
		out.Gates = append(out.Gates, runbook.GateRow{Gate: c.Gate, Metric: c.Metric, Required: c.Required, Actual: c.Actual, Status: string(c.Status)})
	}
	for _, c := range r.Comparison {
		ok := "-"
		if c.Acceptable != nil {
			ok = map[bool]string{true: "yes", false: "no"}[*c.Acceptable]
		}
		out.Comparison = append(out.Comparison, runbook.ComparisonRow{Metric: c.Metric, Previous: optNumber(c.Previous), Candidate: optNumber(c.Candidate), Change: c.Change, Acceptable: ok})
	}
	return out
}

func optNumber(f *float64) string {
	if f == nil {
		return "-"
	}
	return fmt.Sprintf("%.4g", *f)
}

// specProblems renders a spec's problems one a line as FILE:LINE:COLUMN:
// path: message; other errors pass as they are.
func specProblems(file string, err error) error {
	var es spec.Errors
	if !errors.As(err, &es) {
		return err
	}
	name := file
	if file == "-" {
		name = "<stdin>"
	}
	lines := make([]string, len(es))
	for i, e := range es {
		at := name
		if e.Line > 0 {
			at += fmt.Sprintf(":%d:%d", e.Line, e.Column)
		}
		if e.Path != "" {
			at += ": " + e.Path
		}
		lines[i] = at + ": " + e.Msg
	}
	return fmt.Errorf("%s: %d problem(s) in the spec:\n%s", name, len(es), strings.Join(lines, "\n"))
}

// writeDocument writes a Markdown document where -o says: standard
// output (empty, -, table), JSON of v (json), or a file.
func (a *app) writeDocument(out, what string, v any, markdown func(io.Writer) error) error {
	if a.output == "json" && out == "" {
		out = "json"
	}
	switch out {
	case "", "-", "table":
		return markdown(a.stdout)
	case "json":
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("write the %s: %w", what, err)
	}
	if err := markdown(f); err != nil {
		f.Close()
		return fmt.Errorf("write the %s to %s: %w", what, out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write the %s to %s: %w", what, out, err)
	}
	fmt.Fprintf(a.stdout, "wrote the %s to %s\n", what, out)
	return nil
}
