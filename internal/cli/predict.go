package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/api"
)

type predictFlags struct {
	data   string
	csv    string
	ignore []string
	batch  int
}

func (a *app) predictCmd() *cobra.Command {
	var f predictFlags
	cmd := &cobra.Command{
		Use:   "predict NAME[@VERSION] (--data JSON | --csv FILE)",
		Short: "Run predictions through the gateway",
		Long: `Send rows to a model through the inference gateway and print what the
version that answered predicted. Without @VERSION the gateway chooses.

--data takes an Open Inference Protocol v2 request body (or @FILE).
--csv takes a file with a header row: columns named like the version's
inputs become one tensor per feature; for a model with one [rows, k]
input, every column except the --ignore ones is used, in file order.`,
		Example: `  slipway predict fraud --csv examples/fraud/holdout.csv
  slipway predict digits@2.0.0 --csv examples/digits/holdout.csv
  slipway predict fraud --data '{"inputs":[{"name":"amount","datatype":"FP32","shape":[1],"data":[12.5]}, …]}'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseRef(args[0])
			if err != nil {
				return err
			}
			if (f.data == "") == (f.csv == "") {
				return fmt.Errorf("give exactly one of --data and --csv")
			}
			bodies, err := f.requests(cmd, a.client(), ref)
			if err != nil {
				return err
			}
			var resps []api.InferResponse
			for _, body := range bodies {
				resp, err := a.client().Infer(cmd.Context(), ref, body)
				if err != nil {
					return err
				}
				resps = append(resps, resp)
			}
			return a.emit(resps, func(w io.Writer) { printPredictions(w, resps) })
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.data, "data", "", "an inference request body, or @FILE")
	fl.StringVar(&f.csv, "csv", "", "a CSV file with a header row")
	fl.StringSliceVar(&f.ignore, "ignore", []string{"label", "region"}, "CSV columns that are not model inputs")
	fl.IntVar(&f.batch, "batch", 500, "rows per request when reading --csv")
	return cmd
}

func (f *predictFlags) requests(cmd *cobra.Command, c *api.Client, ref slipway.Ref) ([][]byte, error) {
	if f.data != "" {
		body := []byte(f.data)
		if name, ok := strings.CutPrefix(f.data, "@"); ok {
			b, err := os.ReadFile(name)
			if err != nil {
				return nil, fmt.Errorf("--data: %w", err)
			}
			body = b
		}
		return [][]byte{body}, nil
	}
	md, err := c.Metadata(cmd.Context(), ref)
	if err != nil {
		return nil, err
	}
	header, rows, err := readCSV(f.csv)
	if err != nil {
		return nil, err
	}
	var bodies [][]byte
	for start := 0; start < len(rows); start += max(f.batch, 1) {
		chunk := rows[start:min(start+max(f.batch, 1), len(rows))]
		body, err := csvRequest(f.csv, header, chunk, start, md.Inputs, f.ignore)
		if err != nil {
			return nil, err
		}
		bodies = append(bodies, body)
	}
	return bodies, nil
}

func readCSV(path string) ([]string, [][]string, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--csv: %w", err)
	}
	defer file.Close()
	all, err := csv.NewReader(file).ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("--csv %s: %w", path, err)
	}
	if len(all) < 2 {
		return nil, nil, fmt.Errorf("--csv %s: want a header row and at least one row", path)
	}
	return all[0], all[1:], nil
}

type tensorJSON struct {
	Name     string    `json:"name"`
	Datatype string    `json:"datatype"`
	Shape    []int64   `json:"shape"`
	Data     []*number `json:"data"`
}

// number is a CSV cell as JSON: empty or NaN cells become null, which the
// gateway reads as a missing value.
type number float64

func (n *number) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(*n), 'g', -1, 64), nil
}

// csvRequest maps CSV columns onto the version's inputs.
func csvRequest(path string, header []string, rows [][]string, first int, inputs []slipway.TensorSpec, ignore []string) ([]byte, error) {
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	cell := func(r, c int) (*number, error) {
		s := strings.TrimSpace(rows[r][c])
		if s == "" || strings.EqualFold(s, "nan") {
			return nil, nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("--csv %s: row %d, column %q: %q is not a number", path, first+r+2, header[c], s)
		}
		n := number(v)
		return &n, nil
	}
	var tensors []tensorJSON
	if perFeature(inputs, col) {
		for _, in := range inputs {
			t := tensorJSON{Name: in.Name, Datatype: "FP32", Shape: []int64{int64(len(rows))}}
			for r := range rows {
				v, err := cell(r, col[in.Name])
				if err != nil {
					return nil, err
				}
				t.Data = append(t.Data, v)
			}
			tensors = append(tensors, t)
		}
	} else {
		if len(inputs) != 1 || len(inputs[0].Shape) != 2 {
			return nil, fmt.Errorf("--csv %s: columns do not name the model's inputs (%s)", path, specNames(inputs))
		}
		var use []int
		for i, h := range header {
			if !slices.Contains(ignore, h) {
				use = append(use, i)
			}
		}
		if w := inputs[0].Shape[1]; w >= 0 && int64(len(use)) != w {
			return nil, fmt.Errorf("--csv %s: %d columns left after --ignore %v, input %q wants %d", path, len(use), ignore, inputs[0].Name, w)
		}
		t := tensorJSON{Name: inputs[0].Name, Datatype: "FP32", Shape: []int64{int64(len(rows)), int64(len(use))}}
		for r := range rows {
			for _, c := range use {
				v, err := cell(r, c)
				if err != nil {
					return nil, err
				}
				t.Data = append(t.Data, v)
			}
		}
		tensors = append(tensors, t)
	}
	return json.Marshal(map[string]any{"inputs": tensors})
}

func perFeature(inputs []slipway.TensorSpec, col map[string]int) bool {
	if len(inputs) == 0 {
		return false
	}
	for _, in := range inputs {
		if _, ok := col[in.Name]; !ok {
			return false
		}
	}
	return true
}

func specNames(specs []slipway.TensorSpec) string {
	var s []string
	for _, t := range specs {
		s = append(s, t.Name)
	}
	return strings.Join(s, ", ")
}

func printPredictions(w io.Writer, resps []api.InferResponse) {
	fmt.Fprintln(w, "ROW\tVERSION\tOUTPUT\tPREDICTION")
	row := 0
	for _, resp := range resps {
		if len(resp.Outputs) == 0 {
			continue
		}
		o := resp.Outputs[0]
		width := 1
		if len(o.Shape) == 2 {
			width = int(o.Shape[1])
		}
		for i := 0; i+width <= len(o.Data); i += width {
			vals := make([]string, width)
			for k := range width {
				vals[k] = string(o.Data[i+k])
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", row, resp.ModelVersion, o.Name, strings.Join(vals, " "))
			row++
		}
	}
}
