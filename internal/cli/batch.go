package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/batch"
	"github.com/slipway-ml/slipway/internal/dataset"
	"github.com/slipway-ml/slipway/internal/runtime"

	// The formats a batch job can load in-process.
	_ "github.com/slipway-ml/slipway/internal/runtime/lightgbm"
	_ "github.com/slipway-ml/slipway/internal/runtime/onnx"
	_ "github.com/slipway-ml/slipway/internal/runtime/remote"
	_ "github.com/slipway-ml/slipway/internal/runtime/xgboost"
)

// batchFlags are the flags score and compare share: how to read the file
// and how hard to work.
type batchFlags struct {
	in, format         string
	label, group, id   string
	ignore             []string
	workers, batchSize int
}

func (f *batchFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.in, "in", "", "the input file: CSV with a header row, or JSON Lines (required)")
	fl.StringVar(&f.format, "format", "auto", "the input's format: csv, jsonl or auto (by extension, then content)")
	fl.StringVar(&f.label, "label", "", "the ground-truth column, if any")
	fl.StringVar(&f.group, "group", "", "a column of segments, for per-segment figures")
	fl.StringVar(&f.id, "id", "", "a column identifying rows, copied to the output")
	// No default: which columns are not inputs depends on the file and
	// the model, and a column nobody named is refused by name rather than
	// dropped unseen.
	fl.StringSliceVar(&f.ignore, "ignore", nil, "further columns that are not model inputs, besides --label, --group and --id (absent ones are fine)")
	fl.IntVar(&f.workers, "workers", 0, "batches predicted at once (default GOMAXPROCS)")
	fl.IntVar(&f.batchSize, "batch-size", dataset.DefaultBatchSize, "rows per batch")
	cmd.MarkFlagRequired("in")
}

func (f *batchFlags) options() (batch.Options, error) {
	format, err := dataset.ParseFormat(f.format)
	if err != nil {
		return batch.Options{}, fmt.Errorf("--format: %w", err)
	}
	if f.batchSize <= 0 {
		return batch.Options{}, fmt.Errorf("--batch-size %d: want at least 1", f.batchSize)
	}
	return batch.Options{
		Data: dataset.Options{Format: format, Label: f.label, Group: f.group, ID: f.id,
			Ignore: f.ignore, BatchSize: f.batchSize},
		Workers: f.workers,
	}, nil
}

func (a *app) batchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "batch",
		Short: "Score files offline and compare two versions over them",
		Long: `Batch jobs fetch a version from the registry, load it in this process and
score a file with it: no gateway traffic, all cores. A batch deployment
compares the candidate with the version in production over the same file
before switching.`,
	}
	cmd.AddCommand(a.batchScoreCmd(), a.batchCompareCmd())
	return cmd
}

func (a *app) batchScoreCmd() *cobra.Command {
	var f batchFlags
	var out string
	var checkpoint int64
	cmd := &cobra.Command{
		Use:   "score NAME@VERSION --in FILE --out FILE",
		Short: "Score every row of a file, in order, resumably",
		Long: `Write one output row per input row, in input order: the input line, the
--id column if given, and the model's outputs (for class probabilities,
also the arg-max label). --out ending in .jsonl writes JSON Lines, else CSV.
Every column of the input must be a model input or be named by --label,
--group, --id or --ignore; any other is refused by name.

An interrupted run (Ctrl-C, a crash, a killed process) leaves OUT.progress
beside the output; running the same command again resumes from it. The
checkpoint records the input's size and first bytes, the version and the
output layout, and a resume against anything else is refused.`,
		Example: `  slipway batch score fraud@2.0.0 --in examples/fraud/holdout.csv --out scores.csv --ignore label,region
  slipway batch score digits@production --in examples/digits/holdout.csv --out scores.jsonl --ignore label --workers 4`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opt, err := f.options()
			if err != nil {
				return err
			}
			if out == "" {
				return fmt.Errorf("--out: give the output file")
			}
			ctx := cmd.Context()
			p, v, err := a.loadVersion(ctx, args[0])
			if err != nil {
				return err
			}
			defer p.Close()
			opt.Model = v.Model + "@" + v.Version + " " + v.Digest
			opt.CheckpointRows = checkpoint
			name := v.Model + "@" + v.Version
			bar := a.progressBar("scoring " + name)
			opt.Progress = bar.update
			res, err := batch.Score(ctx, p, f.in, out, opt)
			bar.done()
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) {
				resumed := ""
				if res.ResumedAt > 0 {
					resumed = fmt.Sprintf(" (resumed at row %d)", res.ResumedAt)
				}
				fmt.Fprintf(w, "scored %d rows with %s into %s%s: %.0f rows/s over %s\n",
					res.Rows, name, out, resumed, res.RowsPerSecond, res.Elapsed.Round(time.Millisecond))
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "the output file: .jsonl for JSON Lines, else CSV (required)")
	cmd.Flags().Int64Var(&checkpoint, "checkpoint-rows", batch.DefaultCheckpointRows, "rows between checkpoints (each costs an fsync)")
	cmd.MarkFlagRequired("out")
	return cmd
}

func (a *app) batchCompareCmd() *cobra.Command {
	var f batchFlags
	var task string
	var classes int
	cmd := &cobra.Command{
		Use:   "compare NAME@A NAME@B --in FILE",
		Short: "Score a file with two versions and compare them side by side",
		Long: `Score every row with both versions and report, side by side: each
version's scores (and accuracy with --label), how often the two predict
the same class and the confusion between them, the distribution of
per-row score differences, drift between the two score distributions
(PSI over ten quantile bins of A's scores, and the KS statistic), and
with --group the same per segment. A is the baseline, B the candidate.
Every column of the input must be an input of both versions or be named
by --label, --group, --id or --ignore; any other is refused by name.`,
		Example: `  slipway batch compare fraud@production fraud@2.0.0 --in examples/fraud/holdout.csv --group region --label label
  slipway batch compare digits@1.0.0 digits@2.0.0 --in examples/digits/holdout.csv --label label -o json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opt, err := f.options()
			if err != nil {
				return err
			}
			if opt.Data.LabelKind, err = labelKind(task, classes); err != nil {
				return err
			}
			ctx := cmd.Context()
			pa, va, err := a.loadVersion(ctx, args[0])
			if err != nil {
				return err
			}
			defer pa.Close()
			pb, vb, err := a.loadVersion(ctx, args[1])
			if err != nil {
				return err
			}
			defer pb.Close()
			bar := a.progressBar("comparing")
			opt.Progress = bar.update
			rep, err := batch.Compare(ctx, pa, pb, f.in, opt)
			bar.done()
			if err != nil {
				return err
			}
			rep.A.Name, rep.B.Name = va.Model+"@"+va.Version, vb.Model+"@"+vb.Version
			return a.emit(rep, rep.WriteTable)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&task, "task", "", "binary, multiclass or regression (default: inferred from the outputs)")
	cmd.Flags().IntVar(&classes, "classes", 0, "the number of classes, with --task multiclass")
	return cmd
}

func labelKind(task string, classes int) (dataset.LabelKind, error) {
	var k dataset.LabelKind
	switch strings.ToLower(task) {
	case "":
	case "binary":
		k.Task = dataset.Binary
	case "multiclass":
		k = dataset.LabelKind{Task: dataset.Multiclass, Classes: classes}
	case "regression":
		k.Task = dataset.Regression
	default:
		return k, fmt.Errorf("--task %q: want binary, multiclass or regression", task)
	}
	if err := k.Validate(); err != nil {
		return k, fmt.Errorf("--task %s --classes %d: %w", task, classes, err)
	}
	return k, nil
}

// loadVersion fetches a version and its artifact from the registry and
// loads it in this process.
func (a *app) loadVersion(ctx context.Context, arg string) (runtime.Predictor, slipway.Version, error) {
	ref, err := parseRef(arg)
	if err != nil {
		return nil, slipway.Version{}, err
	}
	c := a.client()
	view, err := c.Version(ctx, ref)
	if err != nil {
		return nil, slipway.Version{}, err
	}
	v := view.Version
	var art bytes.Buffer
	if v.Format != slipway.FormatRemote {
		if err := c.Artifact(ctx, slipway.Ref{Model: v.Model, Selector: v.Version}, &art); err != nil {
			return nil, v, fmt.Errorf("fetch artifact of %s@%s: %w", v.Model, v.Version, err)
		}
	}
	p, err := runtime.Load(ctx, v, art.Bytes())
	if err != nil {
		return nil, v, err
	}
	return p, v, nil
}

// progress draws a one-line progress bar on stderr when it is a terminal,
// at most five times a second; elsewhere it draws nothing.
type progress struct {
	mu    sync.Mutex // guards the fields below; update runs on the batch goroutine
	w     io.Writer  // nil when not drawing
	what  string
	last  time.Time
	drawn bool
}

func (a *app) progressBar(what string) *progress {
	p := &progress{what: what}
	if isTerminal(a.stderr) {
		p.w = a.stderr
	}
	return p
}

func (p *progress) update(pr batch.Progress) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 200*time.Millisecond && pr.Fraction < 1 {
		return
	}
	p.last = time.Now()
	const width = 30
	full := int(pr.Fraction * width)
	fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%%  %d rows  %.0f rows/s ", p.what,
		strings.Repeat("=", full), strings.Repeat(" ", width-full), 100*pr.Fraction, pr.Rows, pr.RowsPerSecond)
	p.drawn = true
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
