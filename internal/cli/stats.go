package cli

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/internal/telemetry"
)

func (a *app) modelStatsCmd() *cobra.Command {
	var window, every time.Duration
	var watch bool
	cmd := &cobra.Command{
		Use:   "stats NAME [--window 5m] [--watch]",
		Short: "Compare a model's versions side by side: errors, latency, throughput, quality, business values, shadows",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if window <= 0 || every <= 0 {
				return fmt.Errorf("--window and --every want a positive duration such as 30s, 5m or 1h")
			}
			if !watch {
				return a.printStats(ctx, args[0], window)
			}
			ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				if a.output == "table" {
					fmt.Fprint(a.stdout, "\033[H\033[2J") // clear the terminal
				}
				if err := a.printStats(ctx, args[0], window); err != nil {
					return err
				}
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
				}
			}
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&window, "window", 5*time.Minute, "look-back window")
	fl.BoolVar(&watch, "watch", false, "refresh until interrupted")
	fl.DurationVar(&every, "every", 2*time.Second, "refresh interval with --watch")
	return cmd
}

func (a *app) printStats(ctx context.Context, model string, window time.Duration) error {
	st, err := a.client().Telemetry(ctx, model, window)
	if err != nil {
		return err
	}
	return a.emit(st, func(w io.Writer) { printStatsTable(w, st) })
}

// printStatsTable is the comparison a deployment playbook asks for: one
// row per metric, one column per version.
func printStatsTable(w io.Writer, st telemetry.ModelStats) {
	fmt.Fprintf(w, "%s over the last %s\n\n", st.Model, time.Duration(st.WindowSeconds*float64(time.Second)))
	if len(st.Versions) == 0 {
		fmt.Fprintln(w, "no requests in this window")
	} else {
		fmt.Fprint(w, "METRIC")
		for _, v := range st.Versions {
			fmt.Fprintf(w, "\t%s", v.Version)
		}
		fmt.Fprintln(w)
		for _, row := range statRows(st.Versions) {
			fmt.Fprint(w, row.name)
			for _, v := range st.Versions {
				fmt.Fprintf(w, "\t%s", row.cell(v))
			}
			fmt.Fprintln(w)
		}
	}
	if len(st.Shadows) > 0 {
		fmt.Fprintln(w, "\nSHADOW\tCOMPARED\tAGREEMENT\tSCORE DIFF P50/P99\tLATENCY P99 PRIMARY/SHADOW\tSHADOW ERRORS\tPAUSED")
		for _, s := range st.Shadows {
			fmt.Fprintf(w, "%s vs %s\t%d\t%s\t%.4g / %.4g\t%.3g / %.3g ms\t%d\t%d\n", s.Shadow, s.Primary, s.Compared, ratio(s.Agreement),
				s.ScoreDiff.P50, s.ScoreDiff.P99, s.PrimaryLatencyMS.P99, s.ShadowLatencyMS.P99, s.ShadowErrors, s.Paused)
		}
	}
	f := st.Feedback
	fmt.Fprintf(w, "\nfeedback: %d joined, %d unmatched, %d expired\n", f.Joined, f.Unmatched, f.Expired)
	switch r := st.Restore; {
	case r == nil:
	case r.Error != "":
		fmt.Fprintf(w, "history before the server's last start: not restored (%s; the file is kept at %s)\n", r.Error, r.File)
	default:
		fmt.Fprintf(w, "history before the server's last start: restored from %s (%d buckets, %d predictions waiting for feedback)\n",
			r.SavedAt.Local().Format(time.DateTime), r.Buckets, r.Pending)
	}
}

type statRow struct {
	name string
	cell func(telemetry.VersionStats) string
}

func statRows(vs []telemetry.VersionStats) []statRow {
	rows := []statRow{
		{"requests", func(v telemetry.VersionStats) string { return fmt.Sprint(v.Requests) }},
		{"error rate", func(v telemetry.VersionStats) string { return fmt.Sprintf("%.2f%%", 100*v.ErrorRate) }},
		{"client errors", func(v telemetry.VersionStats) string { return fmt.Sprint(v.ClientErrors) }},
		{"timeouts", func(v telemetry.VersionStats) string { return fmt.Sprint(v.Timeouts) }},
		{"latency p50", func(v telemetry.VersionStats) string { return fmt.Sprintf("%.3g ms", v.LatencyMS.P50) }},
		{"latency p99", func(v telemetry.VersionStats) string { return fmt.Sprintf("%.3g ms", v.LatencyMS.P99) }},
		{"throughput", func(v telemetry.VersionStats) string { return fmt.Sprintf("%.3g rps", v.ThroughputRPS) }},
		{"feedback (labelled)", func(v telemetry.VersionStats) string { return fmt.Sprint(v.Quality.N) }},
	}
	quality := []struct {
		name string
		get  func(telemetry.QualityStats) *float64
	}{
		{"accuracy", func(q telemetry.QualityStats) *float64 { return q.Accuracy }},
		{"precision", func(q telemetry.QualityStats) *float64 { return q.Precision }},
		{"recall", func(q telemetry.QualityStats) *float64 { return q.Recall }},
		{"f1", func(q telemetry.QualityStats) *float64 { return q.F1 }},
		{"auc", func(q telemetry.QualityStats) *float64 { return q.AUC }},
		{"log loss", func(q telemetry.QualityStats) *float64 { return q.LogLoss }},
		{"mae", func(q telemetry.QualityStats) *float64 { return q.MAE }},
		{"rmse", func(q telemetry.QualityStats) *float64 { return q.RMSE }},
	}
	for _, q := range quality {
		present := false
		for _, v := range vs {
			present = present || q.get(v.Quality) != nil
		}
		if present {
			rows = append(rows, statRow{q.name, func(v telemetry.VersionStats) string { return metricValue(q.get(v.Quality)) }})
		}
	}
	for _, name := range valueNames(vs) {
		rows = append(rows, statRow{"values." + name + " mean", func(v telemetry.VersionStats) string {
			if s, ok := v.Values[name]; ok {
				return fmt.Sprintf("%.4g (n=%d)", s.Mean, s.N)
			}
			return "-"
		}})
	}
	return rows
}

func valueNames(vs []telemetry.VersionStats) []string {
	seen := map[string]bool{}
	for _, v := range vs {
		for k := range v.Values {
			seen[k] = true
		}
	}
	names := make([]string, 0, len(seen))
	for k := range seen {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func metricValue(p *float64) string {
	if p == nil {
		return "-"
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", *p), "0"), ".")
}

func ratio(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100**p)
}
