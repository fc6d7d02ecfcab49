package lightgbm

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/slipway-ml/slipway"
)

var nan = float32(math.NaN())

// tinyRows exercise testdata/tiny.txt, a hand-written model over age,
// income and segment. Tree 0 splits age <= 30 (missing goes left), then
// income <= 500 (missing goes right), into leaves 1, 2 and 3; tree 1 adds
// 0.25 when segment is 1 or 3 and -0.25 otherwise.
var tinyRows = []struct {
	name string
	row  []float32
	want float64 // the raw score
}{
	{"young", []float32{20, 100, 1}, 1.25},
	{"older, low income", []float32{40, 100, 2}, 1.75},
	{"older, high income", []float32{40, 900, 3}, 3.25},
	{"on both thresholds", []float32{30, 500, 0}, 0.75},
	{"age missing goes left", []float32{nan, 900, 1}, 1.25},
	{"income missing goes right", []float32{40, nan, 3}, 3.25},
	{"segment missing is no category", []float32{40, 100, nan}, 1.75},
	{"negative segment is no category", []float32{40, 100, -1}, 1.75},
}

func tinyModel(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "tiny.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// tinyWith returns tiny.txt with each old string replaced by the new one
// that follows it; every old string must occur.
func tinyWith(t testing.TB, oldnew ...string) []byte {
	t.Helper()
	s := string(tinyModel(t))
	for i := 0; i < len(oldnew); i += 2 {
		if !strings.Contains(s, oldnew[i]) {
			t.Fatalf("tiny.txt has no %q", oldnew[i])
		}
		s = strings.Replace(s, oldnew[i], oldnew[i+1], 1)
	}
	return []byte(s)
}

func TestTinyModel(t *testing.T) {
	sigmoid := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	for _, c := range []struct {
		objective string
		link      func(float64) float64
	}{
		{"regression", nil},
		{"binary sigmoid:1", sigmoid},
		{"poisson", math.Exp},
		{"quantile", nil},
		{"huber", nil},
		{"lambdarank", nil},
		{"", nil}, // saved without an objective: raw scores, as in LightGBM
	} {
		t.Run(c.objective, func(t *testing.T) {
			line := "objective=" + c.objective + "\n"
			if c.objective == "" {
				line = ""
			}
			m, err := Parse(tinyWith(t, "objective=regression\n", line))
			if err != nil {
				t.Fatal(err)
			}
			if m.NumFeature() != 3 || m.NumOutput() != 1 || m.NumTrees() != 2 || m.Objective() != c.objective {
				t.Fatalf("got %d features, %d outputs, %d trees, objective %q",
					m.NumFeature(), m.NumOutput(), m.NumTrees(), m.Objective())
			}
			if got := m.FeatureNames(); !slices.Equal(got, []string{"age", "income", "segment"}) {
				t.Fatalf("feature names %q", got)
			}
			for _, r := range tinyRows {
				want := r.want
				if c.link != nil {
					want = c.link(want)
				}
				got, err := m.Predictions(r.row, 1)
				if err != nil {
					t.Fatal(err)
				}
				if got[0] != float32(want) {
					t.Errorf("%s %v: got %v, want %v", r.name, r.row, got[0], float32(want))
				}
			}
		})
	}
}

// TestVersions checks that the version line does not change predictions:
// LightGBM itself never reads it.
func TestVersions(t *testing.T) {
	var rows []float32
	for _, r := range tinyRows {
		rows = append(rows, r.row...)
	}
	var first []float32
	for _, v := range []string{"v2", "v3", "v4"} {
		m, err := Parse(tinyWith(t, "version=v4", "version="+v))
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		got, err := m.Predictions(rows, len(tinyRows))
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = got
		} else if !slices.Equal(got, first) {
			t.Errorf("%s predicts %v, v2 %v", v, got, first)
		}
	}
}

// TestOneFeature guards against leaves' NFeatures, which reports 0 for a
// model whose max_feature_idx is 0.
func TestOneFeature(t *testing.T) {
	m, err := Parse([]byte(`tree
version=v3
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=0
objective=regression
feature_names=x
feature_infos=[0:10]
tree_sizes=1

Tree=0
num_leaves=2
num_cat=0
split_feature=0
threshold=5
decision_type=2
left_child=-1
right_child=-2
leaf_value=-1 1
shrinkage=1


end of trees
`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Predictions([]float32{4, 6, nan}, 3)
	if err != nil {
		t.Fatal(err)
	}
	// decision_type 2 has no missing-value type: NaN counts as 0.
	if want := []float32{-1, 1, -1}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestBadModels checks that corrupt or unsupported models are refused with
// a model error, never a panic.
func TestBadModels(t *testing.T) {
	for _, c := range []struct {
		name        string
		data        []byte
		want        string // in the error
		unsupported bool
	}{
		{"empty", nil, "empty file", false},
		{"blank", []byte(" \n\n\t\n"), "empty file", false},
		{"garbage", []byte("hello world\n"), `does not start with the line "tree"`, false},
		{"binary garbage", []byte("\x00\xff\xfe\x01tree=\x00\n\n"), `does not start with the line "tree"`, false},
		{"json", []byte(`{"learner": {}}` + "\n\n"), `does not start with the line "tree"`, false},
		{"header only", tinyModel(t)[:strings.Index(string(tinyModel(t)), "Tree=0")], "tree 0: truncated", false},
		{"no end of trees", tinyModel(t)[:strings.Index(string(tinyModel(t)), "end of trees")], `no "end of trees"`, false},
		{"something else after the trees", tinyWith(t, "end of trees", ""), `got "feature_importances:", want "end of trees"`, false},
		{"unknown version", tinyWith(t, "version=v4", "version=v9"), `version: "v9" is not supported`, true},
		{"negative max_feature_idx", tinyWith(t, "max_feature_idx=2", "max_feature_idx=-1"), "negative", false},
		{"too few feature names", tinyWith(t, "feature_names=age income segment", "feature_names=age income"), "2 names for 3 features", false},
		{"duplicate feature names", tinyWith(t, "feature_names=age income segment", "feature_names=age age segment"), `"age" appears twice`, false},
		{"no feature names", tinyWith(t, "feature_names=age income segment\n", ""), "no feature_names", false},
		{"sqrt transform", tinyWith(t, "objective=regression", "objective=regression sqrt"), "sqrt label transform is not supported", true},
		{"cross entropy", tinyWith(t, "objective=regression", "objective=cross_entropy"), `"cross_entropy" is not supported`, true},
		{"multiclassova", tinyWith(t, "objective=regression", "objective=multiclassova num_class:1 sigmoid:1"), "is not supported", true},
		{"binary with two trees per iteration", tinyWith(t, "num_class=1\nnum_tree_per_iteration=1", "num_class=2\nnum_tree_per_iteration=2", "objective=regression", "objective=binary sigmoid:1"), "num_class=2", false},
		{"binary sigmoid:2", tinyWith(t, "objective=regression", "objective=binary sigmoid:2"), "sigmoid", false},
		{"more trees listed than present", tinyWith(t, "tree_sizes=318 293", "tree_sizes=318 293 1"), "tree 2: block does not start with Tree=2", false},
		{"fewer trees listed than present", tinyWith(t, "tree_sizes=318 293", "tree_sizes=318"), `got "Tree=1", want "end of trees"`, false},
		{"linear tree", tinyWith(t, "is_linear=0", "is_linear=1"), "tree 0: linear trees are not supported", true},
		{"leaf count", tinyWith(t, "leaf_value=1 2 3", "leaf_value=1 2"), "2 values for 3 leaves", false},
		{"huge num_leaves", tinyWith(t, "num_leaves=3", "num_leaves=2000000000"), "3 values for 2000000000 leaves", false},
		{"zero leaves", tinyWith(t, "num_leaves=3", "num_leaves=0"), "num_leaves: 0", false},
		{"bad leaf value", tinyWith(t, "leaf_value=1 2 3", "leaf_value=1 2 x"), `"x" is not a number`, false},
		{"node list too short", tinyWith(t, "threshold=30.000000000000004 500.00000000000006", "threshold=30"), "threshold: 1 values for 2 split nodes", false},
		{"split feature out of range", tinyWith(t, "split_feature=0 1", "split_feature=0 3"), "split_feature 3, but the model has 3 features", false},
		{"child out of range", tinyWith(t, "right_child=1 -3", "right_child=1 -4"), "child -4 out of range", false},
		{"root as child", tinyWith(t, "left_child=-1 -2", "left_child=-1 0"), "child 0 is the root", false},
		// leaves would loop forever on this one: node 0 reaches node 1 on
		// both sides, and its walk goes back to node 0 on the left.
		{"node with two parents", tinyWith(t, "left_child=-1 -2\nright_child=1 -3", "left_child=1 -2\nright_child=1 -3"), "node 1 is the child of two nodes", false},
		{"leaf with two parents", tinyWith(t, "right_child=1 -3", "right_child=1 -2"), "leaf 1 is the child of two nodes", false},
		{"unknown missing type", tinyWith(t, "decision_type=10 8", "decision_type=14 8"), "unknown missing-value type", false},
		{"categorical without categories", tinyWith(t, "num_cat=1", "num_cat=0"), "categorical split with num_cat=0", false},
		{"category set out of range", tinyWith(t, "threshold=0\ndecision_type=9", "threshold=1\ndecision_type=9"), "categorical threshold 1", false},
		{"cat_boundaries past cat_threshold", tinyWith(t, "cat_boundaries=0 1", "cat_boundaries=0 2"), "cat_boundaries", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := Parse(c.data)
			if err == nil {
				t.Fatalf("parsed (%d features, %d trees), want an error", m.NumFeature(), m.NumTrees())
			}
			if !strings.HasPrefix(err.Error(), "lightgbm model: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
			if !errors.Is(err, slipway.ErrInvalid) {
				t.Errorf("error %q does not match slipway.ErrInvalid", err)
			}
			if got := errors.Is(err, ErrUnsupported); got != c.unsupported {
				t.Errorf("errors.Is(%q, ErrUnsupported) = %v, want %v", err, got, c.unsupported)
			}
		})
	}
}

// TestTruncated cuts real models short at many points before their "end of
// trees" line; every cut must be refused.
func TestTruncated(t *testing.T) {
	dir := leavesTestdata(t)
	for _, name := range []string{"lg_dart_breast_cancer.model", "lg_kddcup99.model"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		end := strings.Index(string(data), "end of trees")
		if end < 0 {
			t.Fatalf("%s has no end of trees", name)
		}
		cuts := []int{1, end - 1, end + len("end of")}
		for i := 0; i < end; i += max(1, end/300) {
			cuts = append(cuts, i)
		}
		for _, n := range cuts {
			if _, err := Parse(data[:n]); err == nil {
				t.Errorf("%s cut to %d of %d bytes: parsed, want an error", name, n, len(data))
			} else if !errors.Is(err, slipway.ErrInvalid) {
				t.Errorf("%s cut to %d bytes: %v does not match slipway.ErrInvalid", name, n, err)
			}
		}
		// What follows the trees (importances, parameters) is not needed.
		if _, err := Parse(data[:end+len("end of trees\n")]); err != nil {
			t.Errorf("%s cut after its trees: %v", name, err)
		}
	}
}

// TestReaderPanic feeds leaves' reader, unchecked, a model that makes it
// index past cat_boundaries: the panic must come back as an error.
func TestReaderPanic(t *testing.T) {
	data := tinyWith(t, "version=v4", "version=v3", "cat_boundaries=0 1", "cat_boundaries=0")
	_, err := fromLeaves(bufio.NewReader(strings.NewReader(string(data))), true)
	if err == nil || !strings.Contains(err.Error(), "reader panicked") || !errors.Is(err, slipway.ErrInvalid) {
		t.Fatalf("got %v, want a model error for the panic", err)
	}
}

func TestPredictShape(t *testing.T) {
	m, err := Parse(tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		features int
		rows     int
		out      int
		want     string
	}{
		{"one value short", 2, 1, 1, "got 2 feature values for 1 rows; the model takes 3 features per row"},
		{"one value too many", 7, 2, 2, "the model takes 3 features per row"},
		{"rows disagree", 6, 3, 3, "got 6 feature values for 3 rows"},
		{"out too short", 6, 2, 1, "out has 1 entries, want 2 rows × 1 outputs"},
		{"negative rows", 0, -1, 0, "-1 rows"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := m.Predict(make([]float32, c.features), c.rows, make([]float32, c.out))
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, slipway.ErrInvalid) {
				t.Errorf("got %v, want an invalid-input error containing %q", err, c.want)
			}
		})
	}
	if err := m.Predict(nil, 0, nil); err != nil {
		t.Errorf("zero rows: %v", err)
	}
}

// TestConcurrentPredict predicts batches of every size from many goroutines
// at once (run it with -race); each must match a batch predicted alone.
func TestConcurrentPredict(t *testing.T) {
	dir := leavesTestdata(t)
	m := parseFile(t, filepath.Join(dir, "lgmulticlass.model"))
	input, rows := readInput(t, filepath.Join(dir, "multiclass_test.tsv"), labelledTable, m.NumFeature())
	x := toFloat32(input)
	want, err := m.Predictions(x, rows)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := g + 1; n <= rows; n += 37 {
				got, err := m.Predictions(x[:n*m.NumFeature()], n)
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.Equal(got, want[:n*m.NumOutput()]) {
					t.Errorf("batch of %d rows differs", n)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestPredictAllocs checks that Predict reuses its float64 buffers, so a
// batch costs one allocation whatever its size: leaves' PredictDense moves
// two of its parameters to the heap (its worker goroutines capture them).
func TestPredictAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops buffers at random under the race detector")
	}
	m, err := Parse(tinyWith(t, "objective=regression", "objective=binary sigmoid:1"))
	if err != nil {
		t.Fatal(err)
	}
	const rows = 1000
	x := make([]float32, rows*m.NumFeature())
	for i := range x {
		x[i] = float32(i % 97)
	}
	out := make([]float32, rows)
	allocs := testing.AllocsPerRun(100, func() {
		if err := m.Predict(x, rows, out); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("Predict of %d rows: %v allocations, want at most 1", rows, allocs)
	}
}

func ExampleModel_Predict() {
	data, err := os.ReadFile("testdata/tiny.txt")
	if err != nil {
		panic(err)
	}
	m, err := Parse(data)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Objective(), m.FeatureNames())

	// Two rows of age, income and segment; NaN marks a missing value.
	features := []float32{
		20, 100, 1,
		40, float32(math.NaN()), 3,
	}
	out := make([]float32, 2*m.NumOutput())
	if err := m.Predict(features, 2, out); err != nil {
		panic(err)
	}
	fmt.Println(out)
	// Output:
	// regression [age income segment]
	// [1.25 3.25]
}
