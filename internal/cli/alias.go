package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway"
)

func (a *app) modelAliasCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:     "alias NAME ALIAS VERSION",
		Short:   "Point an alias (production, staging, champion, …) at a version",
		Example: "  slipway model alias fraud production 1.0.0 --reason \"first release\"",
		Args:    cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			mv, err := a.client().MoveAlias(cmd.Context(), args[0], args[1], args[2], reason)
			if err != nil {
				return err
			}
			return a.emit(mv, func(w io.Writer) {
				fmt.Fprintf(w, "%s@%s: %s -> %s\n", mv.Model, mv.Alias, orDash(mv.From), mv.To)
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the alias moves (kept in its history)")
	return cmd
}

func (a *app) modelUnaliasCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "unalias NAME ALIAS",
		Short: "Remove an alias (its history is kept)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.client().DeleteAlias(cmd.Context(), args[0], args[1], reason); err != nil {
				return err
			}
			out := map[string]string{"deleted": args[0] + "@" + args[1]}
			return a.emit(out, func(w io.Writer) { fmt.Fprintf(w, "removed alias %s@%s\n", args[0], args[1]) })
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the alias is removed")
	return cmd
}

func (a *app) modelHistoryCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "history NAME [ALIAS]",
		Short: "Show every alias move with who, when and why",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			alias := ""
			if len(args) == 2 {
				alias = args[1]
			}
			moves, err := a.client().History(cmd.Context(), args[0], alias)
			if err != nil {
				return err
			}
			return a.emit(moves, func(w io.Writer) {
				fmt.Fprintln(w, "TIME\tALIAS\tFROM\tTO\tACTOR\tREASON")
				for _, m := range moves {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", ago(m.At), m.Alias, orDash(m.From), orDash(m.To), m.Actor, orDash(m.Reason))
				}
			})
		},
	}
}

func (a *app) modelDeleteCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete NAME[@VERSION]",
		Short: "Delete a version, or a model with --force (aliased versions are refused)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseRef(args[0])
			if err != nil {
				return err
			}
			c := a.client()
			if ref.Selector != "" {
				err = c.DeleteVersion(cmd.Context(), ref.Model, ref.Selector)
			} else {
				err = c.DeleteModel(cmd.Context(), ref.Model, force)
			}
			if err != nil {
				return err
			}
			out := map[string]string{"deleted": ref.String()}
			return a.emit(out, func(w io.Writer) { fmt.Fprintf(w, "deleted %s\n", ref) })
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "delete a model together with its unaliased versions")
	return cmd
}

func (a *app) modelStateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "state NAME@VERSION STATE",
		Short: "Set a version's state: registered, validated, serving or archived",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseRef(args[0])
			if err != nil {
				return err
			}
			if ref.Selector == "" {
				return fmt.Errorf("%s: name a version as NAME@VERSION", args[0])
			}
			if err := a.client().SetState(cmd.Context(), ref.Model, ref.Selector, slipway.VersionState(args[1])); err != nil {
				return err
			}
			out := map[string]string{"version": ref.String(), "state": args[1]}
			return a.emit(out, func(w io.Writer) { fmt.Fprintf(w, "%s is now %s\n", ref, args[1]) })
		},
	}
}

func (a *app) modelUpdateCmd() *cobra.Command {
	var m slipway.Model
	cmd := &cobra.Command{
		Use:     "update NAME [--description …] [--owner …] [--tag …]",
		Short:   "Create a model or set its description, owner and tags",
		Example: `  slipway model update fraud --description "card fraud score" --owner risk-team --tag tabular --tag pci`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Only the flags given change; the rest is kept.
			c := a.client()
			cur := slipway.Model{Name: args[0]}
			if sum, err := c.Model(cmd.Context(), args[0]); err == nil {
				cur = sum.Model
			} else if !errors.Is(err, slipway.ErrNotFound) {
				return err
			}
			fl := cmd.Flags()
			if fl.Changed("description") {
				cur.Description = m.Description
			}
			if fl.Changed("owner") {
				cur.Owner = m.Owner
			}
			if fl.Changed("tag") {
				cur.Tags = m.Tags
			}
			got, err := c.PutModel(cmd.Context(), cur)
			if err != nil {
				return err
			}
			return a.emit(got, func(w io.Writer) {
				fmt.Fprintf(w, "%s\towner %s\ttags %v\t%s\n", got.Name, orDash(got.Owner), got.Tags, got.Description)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&m.Description, "description", "", "what the model does")
	fl.StringVar(&m.Owner, "owner", "", "team or person responsible")
	fl.StringArrayVar(&m.Tags, "tag", nil, "a tag (repeatable)")
	return cmd
}
