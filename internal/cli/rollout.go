package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/internal/rollout"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/telemetry"
)

func (a *app) rolloutCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Follow, steer and explain rollouts started with slipway deploy",
		Long: `A rollout moves a model's traffic from a baseline version to a candidate
step by step, judging the candidate against the baseline on live traffic
at each step. These commands show where rollouts stand, steer them by
hand, and explain every decision the controller made. Steps are numbered
from 1.`,
	}
	cmd.AddCommand(a.rolloutListCmd(), a.rolloutStatusCmd(), a.rolloutHistoryCmd(), a.rolloutExplainCmd(), a.rolloutChallengeCmd())
	for _, action := range rollout.Actions {
		cmd.AddCommand(a.rolloutActionCmd(action))
	}
	return cmd
}

func (a *app) rolloutListCmd() *cobra.Command {
	var f store.RolloutFilter
	cmd := &cobra.Command{
		Use:   "list [--model M] [--live] [--limit N]",
		Short: "List rollouts, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.Limit < 0 {
				return fmt.Errorf("--limit %d: want 0 (no limit) or more", f.Limit)
			}
			rs, err := a.client().Rollouts(cmd.Context(), f)
			if err != nil {
				return err
			}
			return a.emit(rs, func(w io.Writer) { renderRolloutList(w, rs) })
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Model, "model", "", "only this model's rollouts")
	fl.BoolVar(&f.Live, "live", false, "only live rollouts (progressing, paused, awaiting approval)")
	fl.IntVar(&f.Limit, "limit", 20, "at most this many; 0 for all")
	return cmd
}

type statusFlags struct {
	watch    bool
	interval time.Duration
	window   time.Duration
}

func (a *app) rolloutStatusCmd() *cobra.Command {
	var f statusFlags
	cmd := &cobra.Command{
		Use:   "status MODEL [--watch] [--interval 2s]",
		Short: "Show where a model's latest rollout stands, why, and how both versions are doing",
		Long: `Show a model's latest rollout: baseline and candidate, status and its
reason, the plan with the current step marked, the weights now, what the
rollout waits for, the latest verdict with the numbers behind each metric,
the rollback triggers, and the live traffic of both versions side by side.
With --watch the view is refreshed every --interval until the rollout
ends or Ctrl-C.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.interval <= 0 || f.window <= 0 {
				return fmt.Errorf("--interval and --window want a positive duration such as 2s or 5m")
			}
			if !f.watch {
				_, err := a.showRolloutStatus(cmd.Context(), args[0], f.window)
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return a.watchRollout(ctx, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.watch, "watch", false, "refresh until the rollout ends or Ctrl-C")
	fl.DurationVar(&f.interval, "interval", 2*time.Second, "refresh interval with --watch")
	fl.DurationVar(&f.window, "window", 5*time.Minute, "look-back window of the live traffic figures")
	return cmd
}

// watchRollout shows the rollout again every interval until it is no
// longer live or ctx ends. A terminal is redrawn in place; any other
// output gets one snapshot after another, separated by a line.
func (a *app) watchRollout(ctx context.Context, model string, f statusFlags) error {
	redraw := a.output == "table" && isTerminal(a.stdout)
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for first := true; ; first = false {
		switch {
		case redraw:
			fmt.Fprint(a.stdout, "\033[H\033[2J") // clear the terminal
		case !first && a.output == "table":
			fmt.Fprintf(a.stdout, "\n--- %s ---\n\n", time.Now().Format("15:04:05"))
		}
		st, err := a.showRolloutStatus(ctx, model, f.window)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if !st.Rollout.Status.Live() {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// showRolloutStatus prints the model's rollout status once, with the
// live traffic of its versions when the server keeps telemetry.
func (a *app) showRolloutStatus(ctx context.Context, model string, window time.Duration) (rollout.Status, error) {
	c := a.client()
	st, err := c.RolloutStatus(ctx, model)
	if err != nil {
		return st, err
	}
	if a.output == "json" {
		return st, a.emit(st, nil)
	}
	var stats *telemetry.ModelStats
	ms, statsErr := c.Telemetry(ctx, model, window)
	if statsErr == nil {
		stats = &ms
	}
	renderRolloutStatus(a.stdout, st, stats)
	if statsErr != nil {
		fmt.Fprintf(a.stdout, "\nlive traffic: unavailable: %v\n", statsErr)
	}
	return st, nil
}

func (a *app) rolloutHistoryCmd() *cobra.Command {
	var id int64
	cmd := &cobra.Command{
		Use:   "history MODEL [--id N]",
		Short: "Show a rollout's event log: every transition and decision, who and why",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			events, err := a.client().RolloutEvents(cmd.Context(), args[0], id)
			if err != nil {
				return err
			}
			return a.emit(events, func(w io.Writer) { renderEvents(w, events) })
		},
	}
	cmd.Flags().Int64Var(&id, "id", 0, "rollout number (default: the model's latest)")
	return cmd
}

func (a *app) rolloutExplainCmd() *cobra.Command {
	var id int64
	cmd := &cobra.Command{
		Use:   "explain MODEL [--id N]",
		Short: "Explain why slipway did what it did: every decision with the metrics behind it",
		Long: `List every transition of a rollout and every decision the controller
based on an analysis, each with, under it, the metric results that made
it: the rule that applied, the candidate's and the baseline's values, the
sample sizes against the minimum the rule needs, the result and its
reason.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			events, err := a.client().RolloutEvents(cmd.Context(), args[0], id)
			if err != nil {
				return err
			}
			return a.emitText(decisions(events), func(w io.Writer) { renderExplain(w, args[0], events) })
		},
	}
	cmd.Flags().Int64Var(&id, "id", 0, "rollout number (default: the model's latest)")
	return cmd
}

// actionHelp is the one-line help of each rollout action.
var actionHelp = map[string]string{
	rollout.ActionPromote: "Move a rollout to its next step, approving a step that waits for a person (--full: to 100% at once)",
	rollout.ActionPause:   "Hold a rollout's weights until it is resumed; rollback triggers still fire",
	rollout.ActionResume:  "Let a paused rollout move on again",
	rollout.ActionAbort:   "Send all traffic back to the baseline; the candidate stays loaded for inspection",
	rollout.ActionUndo:    "Revert a completed rollout: production goes back to the version it had before",
	rollout.ActionRetry:   "Start a rolled-back or aborted rollout again",
}

func (a *app) rolloutChallengeCmd() *cobra.Command {
	var reason string
	var share float64
	cmd := &cobra.Command{
		Use:   "challenge MODEL VERSION [--share 10]",
		Short: "Add a challenger to a running champion-challenger rollout",
		Long: `Add VERSION as a challenger to MODEL's live champion-challenger rollout,
with --share percent of the traffic. It is judged against the champion
on the rollout's metric from now on: if it wins it becomes champion, if
it loses or runs out of time it is retired.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := a.client().Challenge(cmd.Context(), args[0], args[1], share, reason)
			if err != nil {
				return err
			}
			return a.emit(r, func(w io.Writer) {
				fmt.Fprintf(w, "rollout #%d of %s: champion %s; %s\n", r.ID, r.Model, r.Baseline, r.Reason)
			})
		},
	}
	cmd.Flags().Float64Var(&share, "share", 10, "the challenger's share of traffic, in percent")
	cmd.Flags().StringVar(&reason, "reason", "", "why (kept in the rollout's history)")
	return cmd
}

func (a *app) rolloutActionCmd(action string) *cobra.Command {
	var reason string
	var full bool
	cmd := &cobra.Command{
		Use:   action + " MODEL",
		Short: actionHelp[action],
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := a.client().RolloutAct(cmd.Context(), args[0], action, full, reason)
			if err != nil {
				return err
			}
			return a.emit(r, func(w io.Writer) {
				fmt.Fprintf(w, "rollout #%d of %s: %s at step %d\n", r.ID, r.Model, r.Status, r.Step+1)
				if r.Reason != "" {
					fmt.Fprintf(w, "reason: %s\n", r.Reason)
				}
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (kept in the rollout's history)")
	if action == rollout.ActionPromote {
		cmd.Use += " [--full]"
		cmd.Flags().BoolVar(&full, "full", false, "skip the remaining steps and send all traffic to the candidate")
	}
	return cmd
}
