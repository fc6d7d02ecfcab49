package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/traffic"
)

func (a *app) routeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "route",
		Short: "Set and inspect how a model's traffic is split, segmented and mirrored",
		Long: `A model's routes decide which version answers each unpinned request:
weights (down to 0.01%), sticky assignment by a header or request
parameter, audience segments matched by header or parameter, and shadow
mirrors that get a copy of the traffic but never answer. A model without
routes answers from its production alias.`,
	}
	cmd.AddCommand(a.routeSetCmd(), a.routeShowCmd(), a.routeHistoryCmd(), a.routeClearCmd())
	return cmd
}

type routeFlags struct {
	file    string
	splits  []string
	mirrors []string
	sticky  string
	reason  string
}

func (a *app) routeSetCmd() *cobra.Command {
	var f routeFlags
	cmd := &cobra.Command{
		Use:   "set NAME (-f POLICY | --split V=PCT …) [--sticky header:X-User-Id] [--mirror V=PCT …]",
		Short: "Replace a model's routing policy",
		Example: `  slipway route set fraud --split 2.0.0=10 --split 1.0.0=90 --sticky header:X-User-Id --reason "canary"
  slipway route set fraud --split 1.0.0=100 --mirror 3.0.0=100 --reason "shadow v3"
  slipway route set fraud -f routes.yaml     # the full policy, with segments`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.policy()
			if err != nil {
				return err
			}
			c, err := a.client().SetRoute(cmd.Context(), args[0], p, f.reason)
			if err != nil {
				return err
			}
			return a.emit(c, func(w io.Writer) { printRoute(w, c) })
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "policy file, YAML or JSON: {splits: [{version, weight (basis points)}], sticky, segments, mirrors}")
	fl.StringArrayVar(&f.splits, "split", nil, "VERSION=PERCENT of unpinned traffic (repeatable; list the candidate first)")
	fl.StringArrayVar(&f.mirrors, "mirror", nil, "VERSION=PERCENT of requests also sent to a shadow (repeatable)")
	fl.StringVar(&f.sticky, "sticky", "", "keep each user on one version: header:NAME or param:NAME")
	fl.StringVar(&f.reason, "reason", "", "why the routes change (kept in their history)")
	return cmd
}

func (f *routeFlags) policy() (traffic.Policy, error) {
	var p traffic.Policy
	if f.file != "" {
		if len(f.splits)+len(f.mirrors) > 0 || f.sticky != "" {
			return p, fmt.Errorf("give -f or --split/--mirror/--sticky, not both")
		}
		b, err := os.ReadFile(f.file)
		if err != nil {
			return p, err
		}
		if err := yaml.UnmarshalStrict(b, &p); err != nil {
			return p, fmt.Errorf("policy file %s: %w", f.file, err)
		}
		return p, nil
	}
	if len(f.splits) == 0 {
		return p, fmt.Errorf("give -f POLICY or at least one --split VERSION=PERCENT")
	}
	p.Sticky = f.sticky
	for _, s := range f.splits {
		v, bps, err := versionPercent("--split", s)
		if err != nil {
			return p, err
		}
		p.Splits = append(p.Splits, traffic.Split{Version: v, Weight: bps})
	}
	for _, s := range f.mirrors {
		v, bps, err := versionPercent("--mirror", s)
		if err != nil {
			return p, err
		}
		p.Mirrors = append(p.Mirrors, traffic.Mirror{Version: v, Percent: bps})
	}
	return p, nil
}

// versionPercent parses VERSION=PERCENT into basis points.
func versionPercent(flag, s string) (string, int, error) {
	v, pct, ok := strings.Cut(s, "=")
	x, err := strconv.ParseFloat(strings.TrimSuffix(pct, "%"), 64)
	if !ok || v == "" || err != nil || x < 0 || x > 100 {
		return "", 0, fmt.Errorf("%s %q: want VERSION=PERCENT with PERCENT from 0 to 100", flag, s)
	}
	bps := math.Round(x * 100)
	if math.Abs(bps-x*100) > 1e-6 {
		return "", 0, fmt.Errorf("%s %q: the finest share is 0.01%%", flag, s)
	}
	return v, int(bps), nil
}

func percent(bps int) string { return strconv.FormatFloat(float64(bps)/100, 'f', -1, 64) + "%" }

func printRoute(w io.Writer, c slipway.RouteChange) {
	var p traffic.Policy
	json.Unmarshal(c.Policy, &p)
	fmt.Fprintf(w, "Model:\t%s\n", c.Model)
	fmt.Fprintf(w, "Set:\t%s by %s\n", ago(c.At), orDash(c.Actor))
	if c.Reason != "" {
		fmt.Fprintf(w, "Reason:\t%s\n", c.Reason)
	}
	for _, s := range p.Splits {
		fmt.Fprintf(w, "Split:\t%s\t%s\n", s.Version, percent(s.Weight))
	}
	if p.Sticky != "" {
		fmt.Fprintf(w, "Sticky:\t%s\n", p.Sticky)
	}
	for _, seg := range p.Segments {
		var rules []string
		for _, r := range seg.Match {
			rules = append(rules, r.String())
		}
		target := seg.Version
		if target == "" {
			var parts []string
			for _, s := range seg.Splits {
				parts = append(parts, s.Version+" "+percent(s.Weight))
			}
			target = strings.Join(parts, ", ")
		}
		fmt.Fprintf(w, "Segment %s:\t%s -> %s\n", seg.Name, strings.Join(rules, " and "), target)
	}
	for _, m := range p.Mirrors {
		fmt.Fprintf(w, "Mirror:\t%s\t%s\n", m.Version, percent(m.Percent))
	}
}

func (a *app) routeShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a model's routing policy",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client().Route(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.emit(c, func(w io.Writer) { printRoute(w, c) })
		},
	}
}

func (a *app) routeHistoryCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "history NAME",
		Short: "Show every change of a model's routes: who, when, why",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := a.client().RouteHistory(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.emit(h, func(w io.Writer) {
				fmt.Fprintln(w, "TIME\tACTOR\tSPLITS\tMIRRORS\tREASON")
				for _, c := range h {
					var p traffic.Policy
					json.Unmarshal(c.Policy, &p)
					var splits, mirrors []string
					for _, s := range p.Splits {
						splits = append(splits, s.Version+"="+percent(s.Weight))
					}
					for _, m := range p.Mirrors {
						mirrors = append(mirrors, m.Version+"="+percent(m.Percent))
					}
					if len(c.Policy) == 0 {
						splits = []string{"(cleared)"}
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", ago(c.At), orDash(c.Actor), orDash(strings.Join(splits, ",")), orDash(strings.Join(mirrors, ",")), orDash(c.Reason))
				}
			})
		},
	}
}

func (a *app) routeClearCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "clear NAME",
		Short: "Remove a model's routes: unpinned traffic goes back to the production alias",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.client().ClearRoute(cmd.Context(), args[0], reason); err != nil {
				return err
			}
			out := map[string]string{"cleared": args[0]}
			return a.emit(out, func(w io.Writer) { fmt.Fprintf(w, "routes of %s cleared\n", args[0]) })
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why")
	return cmd
}
