package gate

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/dataset"
)

// The tasks a gate evaluates.
const (
	TaskBinary     = "binary"
	TaskMulticlass = "multiclass"
	TaskRegression = "regression"
)

// Input is everything one gate run needs.
type Input struct {
	Model     string
	Candidate Subject
	// Baseline is nil for a model's first version.
	Baseline *Subject
	// Holdout reads the labelled data for each version.
	Holdout Source
	// Data names the holdout in the report.
	Data string
	// Config is the thresholds, as Parse and Flag left them; Run fills
	// the defaults.
	Config Config
	// Concurrency is how many callers measure throughput; zero means 1.
	Concurrency int
	// Ignore lists holdout columns that are neither inputs, nor the
	// label, nor the group.
	Ignore []string
	// Approved lists the roles that have approved the candidate so far.
	Approved []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Run evaluates the candidate (and the baseline) on the holdout and
// judges every gate. An error means the run could not be made (a
// holdout that does not fit the candidate, a cancelled context); failed
// gates are in the report, not errors.
func Run(ctx context.Context, in Input) (Report, error) {
	now := in.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	cfg := in.Config
	label := cfg.Label
	if label == "" {
		label = "label"
	}
	cols := Columns{Label: label, Ignore: in.Ignore}
	if cfg.Fairness != nil {
		cols.Group = cfg.Fairness.Group
	}
	cols.Kind = labelKind(cfg.Task, in.Candidate.Version.Signature)
	table, err := in.Holdout(ctx, in.Candidate.Version.Signature, cols)
	if err != nil {
		return Report{}, fmt.Errorf("holdout for %s@%s: %w", in.Model, in.Candidate.Version.Version, err)
	}
	scores, err := Score(ctx, in.Candidate.Predictor, table)
	if err != nil {
		return Report{}, fmt.Errorf("score holdout with %s@%s: %w", in.Model, in.Candidate.Version.Version, err)
	}
	task := cfg.Task
	if task == "" {
		task = inferTask(scores.Width, table.Labels)
	}
	if err := checkLabels(table, label, task, scores.Width); err != nil {
		return Report{}, err
	}
	cfg.Defaults(task)
	cols.Kind = kindOf(task, scores.Width)

	r := Report{Model: in.Model, Task: task, Data: in.Data, Rows: table.Rows, Config: cfg, StartedAt: start.UTC()}
	r.Candidate = side(in.Candidate, table, scores, task, cfg.Threshold)
	if err := bench(ctx, in.Candidate, table, in.Concurrency, &r.Candidate); err != nil {
		return Report{}, err
	}
	if f := cfg.Fairness; f != nil {
		res := fairness(*f, table, scores, task, cfg.Threshold)
		r.Fairness = &res
	}
	r.Integrity = CheckIntegrity(in.Candidate.Version, in.Candidate.Artifact, cfg.Formats)
	if b := in.Baseline; b != nil {
		bs, err := baseline(ctx, in, *b, cols, task, scores.Width, cfg.Threshold)
		if err != nil {
			return Report{}, err
		}
		r.Baseline = &bs
		r.Schema = CompareInputs(b.Version.Signature, in.Candidate.Version.Signature)
	}
	evaluate(&r, in.Approved)
	r.Seconds = now().Sub(start).Seconds()
	return r, nil
}

// baseline measures the baseline; a holdout that does not fit its inputs
// is recorded as its Problem, since the candidate is what is judged.
func baseline(ctx context.Context, in Input, b Subject, cols Columns, task string, width int, threshold float64) (Side, error) {
	if cols.Group != "" { // fairness is judged on the candidate alone
		cols.Ignore = append(slices.Clone(cols.Ignore), cols.Group)
		cols.Group = ""
	}
	table, err := in.Holdout(ctx, b.Version.Signature, cols)
	if err != nil {
		if ctx.Err() != nil {
			return Side{}, ctx.Err()
		}
		return Side{Version: b.Version.Version, Format: string(b.Version.Format), Problem: err.Error()}, nil
	}
	scores, err := Score(ctx, b.Predictor, table)
	if err != nil {
		return Side{}, fmt.Errorf("score holdout with baseline %s@%s: %w", in.Model, b.Version.Version, err)
	}
	if scores.Width != width {
		return Side{Version: b.Version.Version, Format: string(b.Version.Format),
			Problem: fmt.Sprintf("it answers %d values per row, the candidate %d", scores.Width, width)}, nil
	}
	s := side(b, table, scores, task, threshold)
	if err := bench(ctx, b, table, in.Concurrency, &s); err != nil {
		return Side{}, err
	}
	return s, nil
}

// bench measures a version's speed into its side's metrics.
func bench(ctx context.Context, s Subject, t *Table, concurrency int, out *Side) error {
	sp, err := Bench(ctx, s.Predictor, t, concurrency)
	if err != nil {
		return fmt.Errorf("measure %s@%s: %w", s.Version.Model, s.Version.Version, err)
	}
	out.Speed = &sp
	out.Metrics[MetricLatencyP50], out.Metrics[MetricLatencyP99], out.Metrics[MetricThroughput] = sp.P50, sp.P99, sp.Throughput
	return nil
}

// side computes one version's metrics from its scores.
func side(s Subject, t *Table, sc Scores, task string, threshold float64) Side {
	out := Side{Version: s.Version.Version, Format: string(s.Version.Format), Failed: sc.Failures, FirstError: sc.FirstError,
		Metrics: map[string]float64{}}
	var ok []int
	for i, failed := range sc.Failed {
		if !failed {
			ok = append(ok, i)
		}
	}
	if len(ok) > 0 {
		for k, v := range quality(ok, t, sc, task, threshold) {
			if !math.IsNaN(v) {
				out.Metrics[k] = v
			}
		}
	} else {
		out.Problem = "every row failed: " + sc.FirstError
	}
	out.Metrics[MetricErrorRate] = float64(sc.Failures) / float64(t.Rows)
	if s.Version.Size > 0 {
		out.Metrics[MetricSize] = float64(s.Version.Size)
	} else if len(s.Artifact) > 0 {
		out.Metrics[MetricSize] = float64(len(s.Artifact))
	}
	return out
}

// quality computes the task's metrics over rows.
func quality(rows []int, t *Table, sc Scores, task string, threshold float64) map[string]float64 {
	w := sc.Width
	switch task {
	case TaskBinary:
		labels, scores := make([]int, len(rows)), make([]float64, len(rows))
		for j, i := range rows {
			labels[j], scores[j] = int(t.Labels[i]), sc.Values[i*w+w-1]
		}
		return Binary(labels, scores, threshold)
	case TaskMulticlass:
		labels, probs := make([]int, len(rows)), make([]float64, 0, len(rows)*w)
		for j, i := range rows {
			labels[j] = int(t.Labels[i])
			probs = append(probs, sc.Values[i*w:(i+1)*w]...)
		}
		return Multiclass(labels, probs, w)
	}
	truth, pred := make([]float64, len(rows)), make([]float64, len(rows))
	for j, i := range rows {
		truth[j], pred[j] = t.Labels[i], sc.Values[i*w]
	}
	return Regression(truth, pred)
}

func fairness(f Fairness, t *Table, sc Scores, task string, threshold float64) FairnessResult {
	var rows []int
	var groups []string
	for i, failed := range sc.Failed {
		if !failed {
			rows = append(rows, i)
			groups = append(groups, t.Groups[i])
		}
	}
	eval := func(sub []int) map[string]float64 {
		idx := make([]int, len(sub))
		for j, k := range sub {
			idx[j] = rows[k]
		}
		return quality(idx, t, sc, task, threshold)
	}
	var labels, pred []int
	if task == TaskBinary {
		w := sc.Width
		labels, pred = make([]int, len(rows)), make([]int, len(rows))
		for j, i := range rows {
			labels[j] = int(t.Labels[i])
			if sc.Values[i*w+w-1] >= threshold {
				pred[j] = 1
			}
		}
	}
	return Fair(f.Group, f.Metric, groups, eval, labels, pred)
}

// inferTask decides the task from the model's output width and the
// labels: several scores per row make a multiclass classifier (two: a
// binary one with both probabilities), one score with 0/1 labels a
// binary classifier, anything else a regression model.
func inferTask(width int, labels []float64) string {
	switch {
	case width > 2:
		return TaskMulticlass
	case width == 2:
		return TaskBinary
	}
	for _, y := range labels {
		if y != 0 && y != 1 {
			return TaskRegression
		}
	}
	return TaskBinary
}

// labelKind is what the labels must be before the model has answered:
// what the configured task says, else any number.
func labelKind(task string, sig slipway.Signature) dataset.LabelKind {
	classes := 0
	if len(sig.Outputs) > 0 {
		if sh := sig.Outputs[0].Shape; len(sh) == 2 && sh[1] > 0 {
			classes = int(sh[1])
		}
	}
	switch task {
	case TaskBinary:
		return dataset.LabelKind{Task: dataset.Binary}
	case TaskMulticlass:
		if classes >= 2 {
			return dataset.LabelKind{Task: dataset.Multiclass, Classes: classes}
		}
	case TaskRegression:
		return dataset.LabelKind{Task: dataset.Regression}
	}
	return dataset.LabelKind{}
}

func kindOf(task string, width int) dataset.LabelKind {
	switch task {
	case TaskBinary:
		return dataset.LabelKind{Task: dataset.Binary}
	case TaskMulticlass:
		return dataset.LabelKind{Task: dataset.Multiclass, Classes: width}
	}
	return dataset.LabelKind{Task: dataset.Regression}
}

// checkLabels refuses labels that do not fit the task, naming the first
// offending row's line.
func checkLabels(t *Table, column, task string, width int) error {
	if task == TaskMulticlass && width < 2 {
		return fmt.Errorf("task multiclass: the model answers %d value per row, want one probability per class", width)
	}
	if task == TaskBinary && width > 2 {
		return fmt.Errorf("task binary: the model answers %d values per row, want one score (or two probabilities)", width)
	}
	kind := kindOf(task, width)
	for i, y := range t.Labels {
		if _, err := kind.ParseLabel(formatLabel(y)); err != nil {
			return &dataset.Error{File: t.File, Line: t.Lines[i], Column: column, Msg: fmt.Sprintf("%v; the model is a %s model", err, task)}
		}
	}
	return nil
}

func formatLabel(y float64) string { return fmt.Sprint(y) }
