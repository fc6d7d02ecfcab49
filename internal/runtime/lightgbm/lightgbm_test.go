package lightgbm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The reference tests run every LightGBM text model in leaves' testdata
// that comes with LightGBM's own predictions for dense inputs. Not used:
// lg_breast_cancer.txt (its reference is leaf indices, which Model does not
// predict), model_simple.txt and tree_*.txt (no reference), the .json
// dumps (another format) and the XGBoost and scikit-learn models.
type referenceCase struct {
	name      string
	model     string
	input     string
	layout    layout
	reference string
	// rawReference marks a reference of raw multiclass scores, which the
	// test turns into probabilities as LightGBM does.
	rawReference bool
}

var referenceCases = []referenceCase{
	{"binary/dart", "lg_dart_breast_cancer.model", "breast_cancer_test.tsv", table, "lg_dart_breast_cancer_true_predictions.txt", false},
	{"binary/random_forest", "lg_rf_iris.model", "iris_test.libsvm", libsvm, "lg_rf_iris_true_predictions.txt", false},
	{"multiclass/5_classes", "lgmulticlass.model", "multiclass_test.tsv", labelledTable, "lgmulticlass_true_predictions.txt", false},
	{"multiclass/13_classes_categorical", "lg_kddcup99.model", "kddcup99_test.tsv", table, "lg_kddcup99_true_predictions.txt", true},
	{"regression/poisson", "genlin_fmtp_poisson_Frequency.model", "genlin_fmtp_poisson_Frequency_features.tsv", table, "genlin_fmtp_poisson_Frequency_true_predictions.txt", false},
	{"regression/gamma", "genlin_fmtp_gamma_AvgClaimAmount.model", "genlin_fmtp_gamma_AvgClaimAmount_features.tsv", table, "genlin_fmtp_gamma_AvgClaimAmount_true_predictions.txt", false},
	{"regression/tweedie", "genlin_fmtp_tweedie_PurePremium.model", "genlin_fmtp_tweedie_PurePremium_features.tsv", table, "genlin_fmtp_tweedie_PurePremium_true_predictions.txt", false},
}

// tolerance bounds |got - want| by 1e-6, or 1e-6 relative to want when
// |want| > 1: Model returns float32, whose spacing exceeds 1e-6 above 8
// (the gamma model predicts claim amounts near 2000).
func tolerance(want float64) float64 { return 1e-6 * max(1, math.Abs(want)) }

func TestReferencePredictions(t *testing.T) {
	dir := leavesTestdata(t)
	for _, c := range referenceCases {
		t.Run(c.name, func(t *testing.T) {
			data, m, input, rows := c.load(t, dir)
			want, refRows, nout := readNumbers(t, filepath.Join(dir, c.reference), false)
			if refRows != rows || nout != m.NumOutput() {
				t.Fatalf("reference is %d×%d, want %d×%d", refRows, nout, rows, m.NumOutput())
			}
			if c.rawReference {
				for r := range rows {
					softmax(want[r*nout : (r+1)*nout])
				}
			}
			got, err := m.Predictions(toFloat32(input), rows)
			if err != nil {
				t.Fatal(err)
			}

			// Model takes float32 features, LightGBM predicted from
			// float64 ones. Where a value sits on a split threshold
			// (LightGBM's thresholds can be training values themselves),
			// rounding it to float32 may cross the threshold and change
			// the prediction. A row beyond tolerance is set aside if that
			// explains it; such rows must stay rare.
			splits := numericalSplits(t, data)
			var kept []int
			for r := range rows {
				d := compare(got[r*nout:(r+1)*nout], want[r*nout:(r+1)*nout])
				if d.worst >= 0 {
					if crossed := splits.crossedByRounding(input[r*m.NumFeature() : (r+1)*m.NumFeature()]); crossed != "" {
						t.Logf("row %d set aside (max abs diff %.3g): %s", r, d.abs, crossed)
						continue
					}
				}
				kept = append(kept, r)
			}
			if rows-len(kept) > rows/100 {
				t.Errorf("%d of %d rows set aside for float32 rounding; want at most 1%%", rows-len(kept), rows)
			}
			got, want = pick(got, kept, nout), pickf(want, kept, nout)
			d := compare(got, want)
			t.Logf("%s: %d of %d rows × %d outputs, max abs diff %.3g, max rel diff %.3g",
				c.model, len(kept), rows, nout, d.abs, d.rel)
			if d.worst >= 0 {
				i := d.worst
				t.Errorf("row %d output %d: got %v, want %v (diff %.3g > %.3g)",
					kept[i/nout], i%nout, got[i], want[i], math.Abs(float64(got[i])-want[i]), tolerance(want[i]))
			}
		})
	}
}

// splits lists a model's numerical splits as (feature, threshold) pairs.
type splits []struct {
	feature   int64
	threshold float64
}

// numericalSplits reads the numerical splits of every tree in a model.
func numericalSplits(t testing.TB, data []byte) splits {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(data))
	h, err := readHeader(r)
	if err != nil {
		t.Fatal(err)
	}
	var s splits
	for range h.numTrees {
		block, err := readBlock(r)
		if err != nil {
			t.Fatal(err)
		}
		if block["num_leaves"] == "1" {
			continue
		}
		ns, err := readNodes(block, len(strings.Fields(block["split_feature"])))
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range ns.feature {
			if ns.decision[i]&1 == 0 {
				s = append(s, struct {
					feature   int64
					threshold float64
				}{f, ns.threshold[i]})
			}
		}
	}
	return s
}

// crossedByRounding describes the first split that row's values and their
// float32 roundings fall on different sides of, or returns "".
func (s splits) crossedByRounding(row []float64) string {
	for _, sp := range s {
		v := row[sp.feature]
		if v32 := float64(float32(v)); (v <= sp.threshold) != (v32 <= sp.threshold) {
			return fmt.Sprintf("feature %d is %v, %v as float32, across threshold %v", sp.feature, v, v32, sp.threshold)
		}
	}
	return ""
}

func pick(x []float32, rows []int, width int) []float32 {
	var out []float32
	for _, r := range rows {
		out = append(out, x[r*width:(r+1)*width]...)
	}
	return out
}

func pickf(x []float64, rows []int, width int) []float64 {
	var out []float64
	for _, r := range rows {
		out = append(out, x[r*width:(r+1)*width]...)
	}
	return out
}

func toFloat32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

type diff struct {
	abs, rel float64
	worst    int // index of the worst value beyond tolerance, or -1
}

func compare(got []float32, want []float64) diff {
	d := diff{worst: -1}
	excess := 0.0
	for i, w := range want {
		e := math.Abs(float64(got[i]) - w)
		d.abs = max(d.abs, e)
		if w != 0 {
			d.rel = max(d.rel, e/math.Abs(w))
		}
		if x := e / tolerance(w); x > 1 && x > excess {
			excess, d.worst = x, i
		}
		if math.IsNaN(e) {
			d.abs, d.worst = math.NaN(), i
		}
	}
	return d
}

// softmax is LightGBM's: exponents of the differences from the maximum.
func softmax(x []float64) {
	hi := math.Inf(-1)
	for _, v := range x {
		hi = max(hi, v)
	}
	sum := 0.0
	for i, v := range x {
		x[i] = math.Exp(v - hi)
		sum += x[i]
	}
	for i := range x {
		x[i] /= sum
	}
}

var errNoGo = errors.New("go tool not found")

// leavesDir finds the leaves module, which is in the module cache whenever
// this package builds.
var leavesDir = sync.OnceValues(func() (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", errNoGo
	}
	out, err := exec.Command(goTool, "list", "-m", "-f", "{{.Dir}}", "github.com/dmitryikh/leaves").Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			err = fmt.Errorf("%w: %s", err, exit.Stderr)
		}
		return "", fmt.Errorf("go list -m github.com/dmitryikh/leaves: %w", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", errors.New("go list -m github.com/dmitryikh/leaves: module not downloaded (run go mod download)")
	}
	return dir, nil
})

// leavesTestdata returns leaves' testdata directory, skipping the test
// only when there is no go tool to ask where it is.
// load reads the case's model file from dir, parses it, and reads its
// input rows.
func (c referenceCase) load(t testing.TB, dir string) (data []byte, m *Model, input []float64, rows int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, c.model))
	if err != nil {
		t.Fatal(err)
	}
	if m, err = Parse(data); err != nil {
		t.Fatal(err)
	}
	input, rows = readInput(t, filepath.Join(dir, c.input), c.layout, m.NumFeature())
	return data, m, input, rows
}

func leavesTestdata(t testing.TB) string {
	t.Helper()
	dir, err := leavesDir()
	if errors.Is(err, errNoGo) {
		t.Skip("go tool not found: cannot locate leaves' testdata")
	}
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "testdata")
}

func parseFile(t testing.TB, path string) *Model {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	return m
}

// layout says how an input file holds its rows.
type layout int

const (
	table         layout = iota // whitespace-separated values, one row a line
	labelledTable               // the same with the label first
	libsvm                      // "label index:value …", absent values 0
)

// readInput reads rows of nfeat features.
func readInput(t testing.TB, path string, l layout, nfeat int) ([]float64, int) {
	t.Helper()
	var values []float64
	var rows, cols int
	switch l {
	case table, labelledTable:
		values, rows, cols = readNumbers(t, path, l == labelledTable)
	case libsvm:
		values, rows = readLibsvm(t, path, nfeat)
		cols = nfeat
	}
	if cols != nfeat {
		t.Fatalf("%s: %d columns, the model takes %d features", filepath.Base(path), cols, nfeat)
	}
	return values, rows
}

// readNumbers reads a file of whitespace-separated numbers, one row a line,
// dropping the first column if skipFirst.
func readNumbers(t testing.TB, path string, skipFirst bool) (values []float64, rows, cols int) {
	t.Helper()
	eachLine(t, path, func(line int, fields []string) {
		if skipFirst {
			fields = fields[1:]
		}
		if rows == 0 {
			cols = len(fields)
		} else if len(fields) != cols {
			t.Fatalf("%s:%d: %d values, want %d", filepath.Base(path), line, len(fields), cols)
		}
		for _, f := range fields {
			values = append(values, parseNumber(t, path, line, f))
		}
		rows++
	})
	return values, rows, cols
}

// readLibsvm reads a libsvm file into a dense matrix of nfeat columns,
// with 0 for absent values as LightGBM reads sparse rows.
func readLibsvm(t testing.TB, path string, nfeat int) (values []float64, rows int) {
	t.Helper()
	eachLine(t, path, func(line int, fields []string) {
		row := make([]float64, nfeat)
		for _, f := range fields[1:] {
			index, value, ok := strings.Cut(f, ":")
			j, err := strconv.Atoi(index)
			if !ok || err != nil || j < 0 || j >= nfeat {
				t.Fatalf("%s:%d: bad entry %q", filepath.Base(path), line, f)
			}
			row[j] = parseNumber(t, path, line, value)
		}
		values = append(values, row...)
		rows++
	})
	return values, rows
}

func eachLine(t testing.TB, path string, fn func(line int, fields []string)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		if fields := strings.Fields(sc.Text()); len(fields) > 0 {
			fn(line, fields)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func parseNumber(t testing.TB, path string, line int, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%s:%d: %v", filepath.Base(path), line, err)
	}
	return v
}

// raceEnabled is set under the race detector (race_test.go).
var raceEnabled bool
