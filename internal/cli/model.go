package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/human"
)

func (a *app) modelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Push, list and inspect model versions; move aliases",
	}
	cmd.AddCommand(a.modelPushCmd(), a.modelListCmd(), a.modelVersionsCmd(), a.modelShowCmd(),
		a.modelAliasCmd(), a.modelUnaliasCmd(), a.modelHistoryCmd(), a.modelDeleteCmd(), a.modelStateCmd(), a.modelUpdateCmd(), a.modelStatsCmd())
	return cmd
}

// parseRef splits NAME[@SELECTOR].
func parseRef(s string) (slipway.Ref, error) {
	name, sel, _ := strings.Cut(s, "@")
	if err := slipway.ValidName("model name", name); err != nil {
		return slipway.Ref{}, err
	}
	return slipway.Ref{Model: name, Selector: sel}, nil
}

type pushFlags struct {
	version, format, signature, card, parent, dataRef, dataHash, metrics, url string
	meta                                                                      []string
}

func (a *app) modelPushCmd() *cobra.Command {
	var f pushFlags
	cmd := &cobra.Command{
		Use:   "push NAME [FILE] --version V [--url URL]",
		Short: "Push a model file (or a remote model server's URL) as a new, immutable version",
		Example: `  slipway model push fraud examples/fraud/v1/model.json --version 1.0.0 \
    --signature examples/fraud/v1/signature.json --card examples/fraud/v1/card.md
  slipway model push fraud --version 4.0.0-triton --url grpc://triton:8001/fraud`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			meta, err := f.toVersion(args[0])
			if err != nil {
				return err
			}
			var v slipway.Version
			switch {
			case len(args) == 2 && meta.URL != "":
				return fmt.Errorf("give a model FILE or --url, not both")
			case len(args) == 2:
				v, err = a.client().PushFile(cmd.Context(), args[0], meta, args[1])
			case meta.URL != "":
				v, err = a.client().Push(cmd.Context(), args[0], meta, "", nil)
			default:
				return fmt.Errorf("give a model FILE, or --url for a version served by a remote model server")
			}
			if err != nil {
				return err
			}
			return a.emit(v, func(w io.Writer) {
				where := v.Digest
				if v.URL != "" {
					where = v.URL
				}
				fmt.Fprintf(w, "pushed %s@%s\t%s\t%s\t%s\n", v.Model, v.Version, v.Format, where, human.Bytes(v.Size))
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.version, "version", "", "version string (required; immutable once pushed)")
	fl.StringVar(&f.format, "format", "", "xgboost, lightgbm or onnx (default: detected from the content)")
	fl.StringVar(&f.url, "url", "", "remote Open Inference Protocol server: http://HOST:PORT/v2/models/NAME or grpc://HOST:PORT/NAME")
	fl.StringVar(&f.signature, "signature", "", "JSON file with the inputs and outputs {\"inputs\":[{\"name\",\"datatype\",\"shape\"}],\"outputs\":[…]}")
	fl.StringVar(&f.card, "card", "", "model card, a Markdown file")
	fl.StringVar(&f.parent, "parent", "", "version this one was derived from")
	fl.StringVar(&f.dataRef, "data-ref", "", "where the training data lives")
	fl.StringVar(&f.dataHash, "data-hash", "", "digest of the training data")
	fl.StringVar(&f.metrics, "metrics", "", "JSON file of training metrics {\"auc\": 0.91, …}")
	fl.StringArrayVar(&f.meta, "meta", nil, "metadata key=value (repeatable)")
	cmd.MarkFlagRequired("version")
	return cmd
}

// version_ builds the push metadata from the flags, reading the files they
// name.
func (f *pushFlags) toVersion(model string) (slipway.Version, error) {
	v := slipway.Version{
		Model: model, Version: f.version, Format: slipway.Format(f.format), URL: f.url,
		Lineage: slipway.Lineage{Parent: f.parent, DataRef: f.dataRef, DataHash: f.dataHash},
	}
	if f.signature != "" {
		if err := readJSONFile(f.signature, "signature", &v.Signature); err != nil {
			return v, err
		}
	}
	if f.metrics != "" {
		if err := readJSONFile(f.metrics, "metrics", &v.Metrics); err != nil {
			return v, err
		}
	}
	if f.card != "" {
		b, err := os.ReadFile(f.card)
		if err != nil {
			return v, fmt.Errorf("model card: %w", err)
		}
		v.Card = string(b)
	}
	for _, kv := range f.meta {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return v, fmt.Errorf("--meta %q: want key=value", kv)
		}
		if v.Meta == nil {
			v.Meta = map[string]string{}
		}
		v.Meta[k] = val
	}
	return v, nil
}

func readJSONFile(path, what string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s file %s: %w", what, path, err)
	}
	return nil
}

func (a *app) modelListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List models with their latest version and aliases",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			models, err := a.client().Models(cmd.Context())
			if err != nil {
				return err
			}
			return a.emit(models, func(w io.Writer) {
				fmt.Fprintln(w, "MODEL\tVERSIONS\tLATEST\tALIASES\tOWNER")
				for _, m := range models {
					var as []string
					for _, al := range m.Aliases {
						as = append(as, al.Name+"="+al.Version)
					}
					fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\n", m.Name, m.Versions, orDash(m.Latest), orDash(strings.Join(as, ",")), orDash(m.Owner))
				}
			})
		},
	}
}

func (a *app) modelVersionsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "versions NAME",
		Short: "List a model's versions, oldest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := a.client()
			versions, err := c.Versions(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			aliases, err := c.Aliases(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			byVersion := map[string][]string{}
			for _, al := range aliases {
				byVersion[al.Version] = append(byVersion[al.Version], al.Name)
			}
			return a.emit(versions, func(w io.Writer) {
				fmt.Fprintln(w, "VERSION\tFORMAT\tSTATE\tSIZE\tALIASES\tCREATED\tBY")
				for _, v := range versions {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Version, v.Format, v.State, human.Bytes(v.Size),
						orDash(strings.Join(byVersion[v.Version], ",")), ago(v.CreatedAt), orDash(v.CreatedBy))
				}
			})
		},
	}
}

func (a *app) modelShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME[@VERSION|@ALIAS]",
		Short: "Show one version: format, digest, signature, metrics, lineage, card",
		Long:  "Show one version. Without @, the production alias is shown. A selector is taken as a version string first, then as an alias.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseRef(args[0])
			if err != nil {
				return err
			}
			v, err := a.client().Version(cmd.Context(), ref)
			if err != nil {
				return err
			}
			return a.emit(v, func(w io.Writer) {
				printVersion(w, v.Version, v.Via, v.Aliases)
				if v.Runtime != nil {
					fmt.Fprintf(w, "Runtime:\t%s\n", v.Runtime.State)
					if v.Runtime.Error != "" {
						fmt.Fprintf(w, "Load error:\t%s\n", v.Runtime.Error)
					}
				}
				if v.Card != "" {
					fmt.Fprintf(w, "\n%s\n", strings.TrimRight(v.Card, "\n"))
				}
			})
		},
	}
}

func printVersion(w io.Writer, v slipway.Version, via string, aliases []string) {
	row := func(k, val string) { fmt.Fprintf(w, "%s:\t%s\n", k, val) }
	row("Model", v.Model)
	row("Version", v.Version)
	if via != "" {
		row("Resolved via", "alias "+via)
	}
	row("Aliases", orDash(strings.Join(aliases, ", ")))
	row("Format", string(v.Format))
	row("State", string(v.State))
	row("Digest", orDash(v.Digest))
	row("Size", human.Bytes(v.Size))
	if v.URL != "" {
		row("URL", v.URL)
	}
	row("Created", ago(v.CreatedAt)+" by "+orDash(v.CreatedBy))
	row("Parent", orDash(v.Lineage.Parent))
	row("Training data", orDash(strings.TrimSpace(v.Lineage.DataRef+" "+v.Lineage.DataHash)))
	for _, t := range v.Signature.Inputs {
		row("Input", fmt.Sprintf("%s %s %v", t.Name, t.Datatype, t.Shape))
	}
	for _, t := range v.Signature.Outputs {
		row("Output", fmt.Sprintf("%s %s %v", t.Name, t.Datatype, t.Shape))
	}
	for _, k := range sortedKeys(v.Metrics) {
		row("Metric "+k, fmt.Sprintf("%.6g", v.Metrics[k]))
	}
	for _, k := range sortedKeys(v.Meta) {
		row("Meta "+k, v.Meta[k])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
