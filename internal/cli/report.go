package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/internal/report"
)

func (a *app) reportCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "report MODEL|ROLLOUT_ID [-o report.md]",
		Short: "Write the post-deployment report of a rollout, in Markdown",
		Long: `Write the post-deployment report of a rollout as Markdown, from its stored
events and the verdicts they carry: the timeline with each event's time
and actor, the stages served, the metrics of both versions side by side
at the end of each stage, each decision with its reason, the rollbacks,
the total duration, the outcome, and a summary paragraph for
stakeholders; plus live traffic of both versions while the server still
keeps it.

Name a model for its latest rollout, or a rollout number (7 or #7).
-o writes the Markdown to a file (- or table: standard output; json: the
report's figures as JSON).`,
		Example: `  slipway report fraud
  slipway report 7 -o report.md`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := a.client()
			in, err := report.Gather(cmd.Context(), c, c, args[0], time.Now())
			if err != nil {
				return err
			}
			r := report.Build(in)
			return a.writeDocument(out, "report", r, r.Markdown)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the Markdown to this file (- or table: standard output; json: the figures as JSON)")
	return cmd
}
