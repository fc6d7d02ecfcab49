package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/api"
	"github.com/slipway-ml/slipway/internal/gate"
	slruntime "github.com/slipway-ml/slipway/internal/runtime"
	"github.com/slipway-ml/slipway/internal/spec"

	// The gate loads both versions in-process, whatever their format.
	_ "github.com/slipway-ml/slipway/internal/runtime/lightgbm"
	_ "github.com/slipway-ml/slipway/internal/runtime/onnx"
	_ "github.com/slipway-ml/slipway/internal/runtime/remote"
	_ "github.com/slipway-ml/slipway/internal/runtime/xgboost"
)

type gateFlags struct {
	data, baseline, file, label, group, task string
	concurrency                              int
	min, max, maxDecrease, maxIncrease       []string
	ignore                                   []string
}

func (a *app) gateCmd() *cobra.Command {
	var f gateFlags
	cmd := &cobra.Command{
		Use:   "gate NAME@VERSION --data HOLDOUT [--baseline production] [-f SPEC]",
		Short: "Run a version's pre-deployment gates and store the result on it",
		Long: `Evaluate a candidate version against a labelled holdout (CSV or JSON
Lines) and against the baseline (default: the production alias), both
loaded in this process: offline quality, latency and throughput, failed
rows, size, input-schema compatibility, fairness across a group column,
artifact integrity and approvals. Prints the gate table and the comparison
with the baseline, stores the report on the version, and exits non-zero
when any gate fails. A deployment whose spec has a gates section is
refused until the candidate's latest report passed.

Every holdout column must be a model input, the label, or named with
--group (fairness across its groups) or --ignore.

Thresholds come from the spec's gates section (-f) and from flags, which
win: --min accuracy=0.9, --max latency-p99=20ms, --max-decrease auc=1%.
Without thresholds the primary metric may not fall more than one point
below the baseline's, and no row may fail. With --group and no maxGap in
the spec, the gap between groups may be 0.1, or what groups drawn at
random show on this holdout if that is larger (see the gate package's
documentation).`,
		Example: `  slipway gate fraud@2.0.0 --data examples/fraud/holdout.csv --group region
  slipway gate fraud@2.0.0 --data examples/fraud/holdout.csv -f examples/specs/canary-gated.yaml
  slipway gate fraud@2.0.0 --data examples/fraud/holdout.csv --ignore region --min auc=0.9 --max latency-p99=5ms`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseRef(args[0])
			if err != nil {
				return err
			}
			if f.data == "" {
				return errors.New("give the labelled holdout with --data FILE (CSV or JSON Lines)")
			}
			return a.runGate(cmd, ref, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.data, "data", "", "labelled holdout, CSV or JSON Lines")
	fl.StringVar(&f.baseline, "baseline", "", "version or alias to compare with (default: the spec's baseline, else production)")
	fl.StringVarP(&f.file, "file", "f", "", "deployment spec whose gates section holds the thresholds")
	fl.StringVar(&f.label, "label", "", "holdout column with the truth (default: the spec's, else label)")
	fl.StringVar(&f.group, "group", "", "holdout column of groups for the fairness gate")
	fl.StringSliceVar(&f.ignore, "ignore", nil, "holdout columns that are not model inputs, besides the label and group")
	fl.StringVar(&f.task, "task", "", "binary, multiclass or regression (default: inferred)")
	fl.IntVar(&f.concurrency, "concurrency", runtime.GOMAXPROCS(0), "callers measuring throughput")
	fl.StringArrayVar(&f.min, "min", nil, "METRIC=VALUE: lowest allowed value (repeatable)")
	fl.StringArrayVar(&f.max, "max", nil, "METRIC=VALUE: highest allowed value (repeatable)")
	fl.StringArrayVar(&f.maxDecrease, "max-decrease", nil, "METRIC=DELTA: largest fall from the baseline, e.g. auc=1% (repeatable)")
	fl.StringArrayVar(&f.maxIncrease, "max-increase", nil, "METRIC=DELTA: largest rise from the baseline, e.g. latency-p99=10% (repeatable)")
	return cmd
}

// config assembles the thresholds: the spec's gates, then the flags.
func (f *gateFlags) config(cmd *cobra.Command, ref slipway.Ref) (gate.Config, string, error) {
	baseline := f.baseline
	var cfg gate.Config
	if f.file != "" {
		data, err := readSpec(cmd, f.file)
		if err != nil {
			return cfg, "", err
		}
		s, err := spec.Parse(data)
		if err != nil {
			return cfg, "", fmt.Errorf("%s:\n%w", f.file, err)
		}
		if s.Deployment.Model != ref.Model {
			return cfg, "", fmt.Errorf("%s deploys model %s, not %s", f.file, s.Deployment.Model, ref.Model)
		}
		if cfg, err = gate.Parse(s.Deployment.Gates); err != nil {
			return cfg, "", fmt.Errorf("%s:\n%w", f.file, err)
		}
		if baseline == "" {
			baseline = s.Deployment.Baseline
		}
	}
	for _, fl := range []struct {
		kind string
		args []string
	}{{"min", f.min}, {"max", f.max}, {"max-decrease", f.maxDecrease}, {"max-increase", f.maxIncrease}} {
		for _, arg := range fl.args {
			if err := cfg.Flag(fl.kind, arg); err != nil {
				return cfg, "", err
			}
		}
	}
	if f.label != "" {
		cfg.Label = f.label
	}
	if f.task != "" {
		cfg.Task = f.task
	}
	if f.group != "" {
		if cfg.Fairness == nil {
			cfg.Fairness = &gate.Fairness{}
		}
		cfg.Fairness.Group = f.group
	}
	if baseline == "" {
		baseline = slipway.AliasProduction
	}
	return cfg, baseline, nil
}

func (a *app) runGate(cmd *cobra.Command, ref slipway.Ref, f gateFlags) error {
	ctx := cmd.Context()
	cfg, baseRef, err := f.config(cmd, ref)
	if err != nil {
		return err
	}
	c := a.client()
	cand, err := loadSubject(ctx, c, ref)
	if err != nil {
		return err
	}
	defer cand.Predictor.Close()
	in := gate.Input{Model: ref.Model, Candidate: cand, Holdout: gate.File(f.data), Data: f.data, Config: cfg, Concurrency: f.concurrency, Ignore: f.ignore}
	base, err := loadSubject(ctx, c, slipway.Ref{Model: ref.Model, Selector: baseRef})
	switch {
	case errors.Is(err, slipway.ErrNotFound):
		fmt.Fprintf(a.stderr, "no baseline: %s@%s does not exist; gating %s@%s on its own\n", ref.Model, baseRef, ref.Model, cand.Version.Version)
	case err != nil:
		return fmt.Errorf("baseline %s@%s: %w", ref.Model, baseRef, err)
	case base.Version.Version == cand.Version.Version:
		base.Predictor.Close()
		fmt.Fprintf(a.stderr, "no baseline: %s@%s is the candidate itself\n", ref.Model, baseRef)
	default:
		defer base.Predictor.Close()
		in.Baseline = &base
	}
	exact := slipway.Ref{Model: ref.Model, Selector: cand.Version.Version}
	approvals, err := c.Approvals(ctx, exact)
	if err != nil {
		return err
	}
	for _, ap := range approvals {
		in.Approved = append(in.Approved, ap.Role)
	}
	report, err := gate.Run(ctx, in)
	if err != nil {
		return err
	}
	body, err := json.Marshal(report)
	if err != nil {
		return fmt.Errorf("encode gate report: %w", err)
	}
	stored, err := c.PutGateReport(ctx, exact, body)
	if err != nil {
		return fmt.Errorf("store gate report: %w", err)
	}
	if err := a.emitText(report, func(w io.Writer) { printGateReport(w, report, stored.ID) }); err != nil {
		return err
	}
	if failed := report.Failed(); len(failed) > 0 {
		names := make([]string, len(failed))
		for i, ch := range failed {
			names[i] = ch.Metric
		}
		return fmt.Errorf("%s@%s failed %d of %d gates (%s); the report is stored, a rollout with gates will refuse it",
			ref.Model, cand.Version.Version, len(failed), len(report.Checks), strings.Join(names, ", "))
	}
	return nil
}

// loadSubject fetches a version and its artifact and loads it here.
func loadSubject(ctx context.Context, c *api.Client, ref slipway.Ref) (gate.Subject, error) {
	v, err := c.Version(ctx, ref)
	if err != nil {
		return gate.Subject{}, err
	}
	var artifact []byte
	if v.Format != slipway.FormatRemote {
		var buf bytes.Buffer
		if err := c.Artifact(ctx, slipway.Ref{Model: v.Model, Selector: v.Version.Version}, &buf); err != nil {
			return gate.Subject{}, fmt.Errorf("download %s@%s: %w", v.Model, v.Version.Version, err)
		}
		artifact = buf.Bytes()
	}
	p, err := slruntime.Load(ctx, v.Version, artifact)
	if err != nil {
		return gate.Subject{}, err
	}
	return gate.Subject{Version: v.Version, Artifact: artifact, Predictor: p}, nil
}

func printGateReport(w io.Writer, r gate.Report, id int64) {
	against := "no baseline"
	if r.Baseline != nil {
		against = "against " + r.Baseline.Version
	}
	fmt.Fprintf(w, "gates of %s@%s, %s, on %s (%d rows, %s)\n\n", r.Model, r.Candidate.Version, against, r.Data, r.Rows, r.Task)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GATE\tMETRIC\tREQUIRED\tACTUAL\tSTATUS")
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Gate, c.Metric, c.Required, c.Actual, c.Status)
	}
	tw.Flush()
	for _, c := range r.Checks {
		if c.Reason != "" && c.Status != gate.Pass {
			fmt.Fprintf(w, "  %s %s: %s\n", c.Metric, strings.ToLower(string(c.Status)), c.Reason)
		}
	}
	fmt.Fprintln(w)
	prev := "PREVIOUS"
	if r.Baseline != nil {
		prev = "PREVIOUS (" + r.Baseline.Version + ")"
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "METRIC\t%s\tCANDIDATE (%s)\tCHANGE\tACCEPTABLE\n", prev, r.Candidate.Version)
	for _, c := range r.Comparison {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Metric, gate.FormatMetric(c.Metric, c.Previous), gate.FormatMetric(c.Metric, c.Candidate), c.Change, yesNo(c.Acceptable))
	}
	tw.Flush()
	if f := r.Fairness; f != nil {
		fmt.Fprintf(w, "\nfairness across %s:\n", f.Column)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "GROUP\tROWS\t%s\tPOSITIVE RATE\tTRUE POSITIVE RATE\n", strings.ToUpper(f.Metric))
		for _, g := range f.Groups {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", g.Group, g.Rows, gate.FormatMetric(gate.MetricAccuracy, g.Metric),
				gate.FormatMetric(gate.MetricAccuracy, g.PositiveRate), gate.FormatMetric(gate.MetricAccuracy, g.TruePositiveRate))
		}
		tw.Flush()
		if f.ParityDifference != nil {
			fmt.Fprintf(w, "demographic parity difference %.4f, equal opportunity difference %.4f\n", *f.ParityDifference, *f.OpportunityDifference)
		}
		if f.Shuffles > 0 {
			fmt.Fprintf(w, "%s gap %.4f; groups drawn at random reach %.4f one time in twenty (p = %.2g over %d shuffles)\n",
				f.Metric, f.MetricGap, f.NoiseGap, f.PValue, f.Shuffles)
		}
	}
	verdict := "PASSED"
	if !r.Passed {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "\n%s in %.1fs; stored as gate report #%d of %s@%s\n", verdict, r.Seconds, id, r.Model, r.Candidate.Version)
}

func yesNo(b *bool) string {
	switch {
	case b == nil:
		return "-"
	case *b:
		return "yes"
	}
	return "no"
}

func (a *app) approveCmd() *cobra.Command {
	var role, note string
	cmd := &cobra.Command{
		Use:   "approve NAME@VERSION --role ROLE [--note TEXT]",
		Short: "Approve a version for deployment in a role",
		Long: `Record that you (SLIPWAY_ACTOR, else user@host) approve a version in a
role. A deployment spec whose gates list approvals (approvals: [ml-lead])
is refused until every listed role has approved the candidate.`,
		Example: `  slipway approve fraud@2.0.0 --role ml-lead --note "offline metrics and fairness reviewed"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseRef(args[0])
			if err != nil {
				return err
			}
			if ref.Selector == "" {
				return fmt.Errorf("%s: name the version to approve, as NAME@VERSION", args[0])
			}
			if role == "" {
				return errors.New("give the role you approve in with --role, such as --role ml-lead")
			}
			ap, err := a.client().Approve(cmd.Context(), ref, role, note)
			if err != nil {
				return err
			}
			return a.emitText(ap, func(w io.Writer) {
				fmt.Fprintf(w, "%s@%s approved by %s as %s at %s\n", ap.Model, ap.Version, ap.Actor, ap.Role, ago(ap.At))
			})
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "the role you approve in, e.g. ml-lead")
	cmd.Flags().StringVar(&note, "note", "", "what you checked, recorded with the approval")
	return cmd
}
