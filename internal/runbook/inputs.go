package runbook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/spec"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

// GateReport is a version's stored pre-deployment gate report, as the plan
// shows it: the gate table and the comparison with the version it was
// compared against. Cells are kept as text, formatted by whoever ran the
// gates.
type GateReport struct {
	// Baseline is the version the comparison was made against; empty
	// when there was none.
	Baseline string
	// RanAt is when the gates ran; zero when not known.
	RanAt      time.Time
	Gates      []GateRow
	Comparison []ComparisonRow
}

// GateRow is one gate: Gate | Metric | Required | Actual | Status.
type GateRow struct {
	Gate, Metric, Required, Actual string
	// Status is PASS, FAIL or another word the gate used (SKIP, WARN).
	Status string
}

// ComparisonRow is one metric of the comparison table: Metric | previous |
// candidate | change | acceptable.
type ComparisonRow struct {
	Metric, Previous, Candidate, Change, Acceptable string
}

// Failed lists the gates whose status is FAIL.
func (g GateReport) Failed() []GateRow {
	var out []GateRow
	for _, r := range g.Gates {
		if r.Status == "FAIL" || r.Status == "fail" {
			out = append(out, r)
		}
	}
	return out
}

// GateSource finds a version's stored gate report; an error matching
// slipway.ErrNotFound means none is stored.
type GateSource interface {
	GateReport(ctx context.Context, model, version string) (GateReport, error)
}

// StatsSource reads a model's live telemetry over a window.
type StatsSource interface {
	Telemetry(ctx context.Context, model string, window time.Duration) (telemetry.ModelStats, error)
}

// Sources are where Gather reads a plan's facts.
type Sources struct {
	// Versions resolves versions and aliases. Required.
	Versions spec.Resolver
	// Stats reads live telemetry; nil means none: the plan then states
	// its assumptions.
	Stats StatsSource
	// Gates reads stored gate reports; nil means none are stored.
	Gates GateSource
}

// LiveWindow is how far back Gather reads live telemetry for the
// baseline's figures.
const LiveWindow = time.Hour

// Inputs is everything a plan is built from. Build reads nothing else.
type Inputs struct {
	Spec *spec.Spec
	// SpecFile names the spec in the commands the plan prints; empty
	// means deploy.yaml.
	SpecFile string
	// Server is the server URL for the commands the plan prints; empty
	// leaves --server out.
	Server string
	// Candidate and Baseline are the resolved versions.
	Candidate, Baseline slipway.Version
	// Production is the version the production alias points at; empty
	// when the model has none.
	Production string
	// Traffic is the model's stated traffic; zero when not given.
	Traffic Rate
	// Live is the model's telemetry over LiveWindow; nil when none could
	// be read (Notes say why).
	Live *telemetry.ModelStats
	// Gates is the candidate's stored gate report; nil when none is
	// stored (or it could not be read: Notes say why).
	Gates *GateReport
	// Notes are facts the plan could not read, in a sentence each.
	Notes []string
}

// Gather reads what a plan of s needs from src: it checks that the model,
// the candidate and the baseline exist (a missing one is a spec.Errors
// naming its line), resolves them and the production alias, and reads the
// model's live telemetry and the candidate's gate report when src has
// them. Only the versions are required; a missing telemetry or gate
// report becomes a note.
func Gather(ctx context.Context, src Sources, s *spec.Spec, traffic Rate) (Inputs, error) {
	if err := s.Check(ctx, src.Versions); err != nil {
		return Inputs{}, err
	}
	d := s.Deployment
	in := Inputs{Spec: s, Traffic: traffic}
	var err error
	if in.Candidate, _, err = src.Versions.Resolve(ctx, slipway.Ref{Model: d.Model, Selector: d.Version}); err != nil {
		return Inputs{}, fmt.Errorf("plan %s: candidate: %w", d.Model, err)
	}
	if in.Baseline, _, err = src.Versions.Resolve(ctx, slipway.Ref{Model: d.Model, Selector: d.Baseline}); err != nil {
		return Inputs{}, fmt.Errorf("plan %s: baseline: %w", d.Model, err)
	}
	prod, _, err := src.Versions.Resolve(ctx, slipway.Ref{Model: d.Model, Selector: slipway.AliasProduction})
	switch {
	case err == nil:
		in.Production = prod.Version
	case !errors.Is(err, slipway.ErrNotFound):
		return Inputs{}, fmt.Errorf("plan %s: production alias: %w", d.Model, err)
	}
	if src.Stats != nil {
		live, err := src.Stats.Telemetry(ctx, d.Model, LiveWindow)
		if err != nil {
			in.Notes = append(in.Notes, fmt.Sprintf("Live telemetry could not be read (%v); the baseline's figures are assumed.", err))
		} else {
			in.Live = &live
		}
	}
	if src.Gates != nil {
		g, err := src.Gates.GateReport(ctx, d.Model, d.Version)
		switch {
		case err == nil:
			in.Gates = &g
		case !errors.Is(err, slipway.ErrNotFound):
			in.Notes = append(in.Notes, fmt.Sprintf("The gate report could not be read: %v.", err))
		}
	}
	return in, nil
}

// baselines works out the baseline's figures the estimates start from:
// measured where live telemetry has them, else from the baseline's
// training metrics (accuracy), else assumed.
func baselines(in Inputs) Baselines {
	b := Baselines{
		ErrorRate: DefaultErrorRate, ErrorRateSource: fmt.Sprintf("assumed %s: no live traffic of %s", pct(DefaultErrorRate), in.Baseline.Version),
		Accuracy: DefaultAccuracy, AccuracySource: fmt.Sprintf("assumed %s: neither live feedback nor a training accuracy of %s", pct(DefaultAccuracy), in.Baseline.Version),
		LabelShare: DefaultLabelShare, LabelShareSource: "assumed: every request gets labelled feedback; scale the label counts by your label rate",
	}
	if a, ok := in.Baseline.Metrics["accuracy"]; ok && a > 0 && a < 1 {
		b.Accuracy, b.AccuracySource = a, fmt.Sprintf("the training accuracy of %s", in.Baseline.Version)
	}
	if in.Live == nil {
		return b
	}
	window := time.Duration(in.Live.WindowSeconds * float64(time.Second))
	for _, v := range in.Live.Versions {
		if v.Version != in.Baseline.Version || v.Requests == 0 {
			continue
		}
		errs := v.ServerErrors + v.Timeouts
		b.ErrorRate = float64(errs) / float64(v.Requests)
		b.ErrorRateSource = fmt.Sprintf("measured on %s: %d errors in %s requests over the last %s", v.Version, errs, Count(float64(v.Requests)), window)
		if errs == 0 {
			// No errors seen: the rate is below about one in Requests;
			// estimate at that bound rather than at zero.
			b.ErrorRate = 1 / float64(v.Requests+1)
			b.ErrorRateSource = fmt.Sprintf("no errors in %s requests to %s over the last %s; estimated at one in %s", Count(float64(v.Requests)), v.Version, window, Count(float64(v.Requests+1)))
		}
		if v.Quality.N == 0 {
			b.LabelShare = 0
			b.LabelShareSource = fmt.Sprintf("measured on %s: no labelled feedback for %s requests over the last %s; metrics from feedback cannot decide until feedback is sent", v.Version, Count(float64(v.Requests)), window)
		}
		if q := v.Quality; q.N > 0 {
			b.LabelShare = min(1, float64(q.N)/float64(v.Requests))
			b.LabelShareSource = fmt.Sprintf("measured on %s: %s labelled feedback for %s requests over the last %s", v.Version, Count(float64(q.N)), Count(float64(v.Requests)), window)
			if q.Accuracy != nil && *q.Accuracy > 0 && *q.Accuracy < 1 {
				b.Accuracy = *q.Accuracy
				b.AccuracySource = fmt.Sprintf("measured on %s from %s labelled feedback over the last %s", v.Version, Count(float64(q.N)), window)
			}
		}
	}
	return b
}
