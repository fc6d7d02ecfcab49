package gate

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/slipway-ml/slipway/internal/csvtest"
)

const examples = "../../examples/"

// reference is testdata/reference.json, written by testdata/reference.py
// with scikit-learn.
type reference map[string]struct {
	Labels   []int              `json:"labels"`
	Scores   []float64          `json:"scores"`
	Truth    []float64          `json:"truth"`
	Pred     []float64          `json:"pred"`
	Metrics  map[string]float64 `json:"metrics"`
	Fairness *struct {
		Metric                string             `json:"metric"`
		Groups                map[string]float64 `json:"groups"`
		MetricGap             float64            `json:"metric_gap"`
		ParityDifference      float64            `json:"parity_difference"`
		OpportunityDifference float64            `json:"opportunity_difference"`
		ChanceGap             float64            `json:"chance_gap"`
		ChancePValue          float64            `json:"chance_p_value"`
		ChanceResamples       int                `json:"chance_resamples"`
	} `json:"fairness"`
}

func loadReference(t testing.TB) reference {
	t.Helper()
	b, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

// readColumns reads a CSV file's named columns as strings.
func readColumns(t testing.TB, path string) (header []string, rows [][]string) {
	t.Helper()
	all := csvtest.Read(t, path)
	return all[0], all[1:]
}

func column(t testing.TB, path, name string) []string {
	t.Helper()
	header, rows := readColumns(t, path)
	i := slices.Index(header, name)
	if i < 0 {
		t.Fatalf("%s has no column %s", path, name)
	}
	out := make([]string, len(rows))
	for r, row := range rows {
		out[r] = row[i]
	}
	return out
}

func ints(t testing.TB, ss []string) []int {
	out := make([]int, len(ss))
	for i, s := range ss {
		v, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = v
	}
	return out
}

// allFloats reads every cell of a CSV file, row-major.
func allFloats(t testing.TB, path string) (vals []float64, width int) {
	t.Helper()
	header, rows := readColumns(t, path)
	for _, row := range rows {
		for _, s := range row {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			vals = append(vals, v)
		}
	}
	return vals, len(header)
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol || math.IsNaN(got) != math.IsNaN(want) {
		t.Errorf("%s = %.17g, scikit-learn says %.17g (diff %.3g)", what, got, want, got-want)
	}
}

func sameMetrics(t *testing.T, got, want map[string]float64, tol float64) {
	t.Helper()
	if len(want) == 0 {
		t.Fatal("reference has no metrics")
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		near(t, name, g, w, tol)
	}
}

func TestMetricsAgreeWithScikitLearn(t *testing.T) {
	ref := loadReference(t)
	fraudLabels := ints(t, column(t, examples+"fraud/holdout.csv", "label"))
	digitLabels := ints(t, column(t, examples+"digits/holdout.csv", "label"))
	cases := []struct {
		name string
		got  func() map[string]float64
	}{
		{"fraud-v1", func() map[string]float64 {
			s, _ := allFloats(t, examples+"fraud/v1/reference.csv")
			return Binary(fraudLabels, s, 0.5)
		}},
		{"fraud-v2", func() map[string]float64 {
			s, _ := allFloats(t, examples+"fraud/v2/reference.csv")
			return Binary(fraudLabels, s, 0.5)
		}},
		{"fraud-v3", func() map[string]float64 {
			s, _ := allFloats(t, examples+"fraud/v3/reference.csv")
			return Binary(fraudLabels, s, 0.5)
		}},
		{"fraud-v2-threshold-0.3", func() map[string]float64 {
			s, _ := allFloats(t, examples+"fraud/v2/reference.csv")
			return Binary(fraudLabels, s, 0.3)
		}},
		{"digits-v1", func() map[string]float64 {
			p, w := allFloats(t, examples+"digits/v1/reference.csv")
			return Multiclass(digitLabels, p, w)
		}},
		{"digits-v2", func() map[string]float64 {
			p, w := allFloats(t, examples+"digits/v2/reference.csv")
			return Multiclass(digitLabels, p, w)
		}},
		{"ties", func() map[string]float64 { return Binary(ref["ties"].Labels, ref["ties"].Scores, 0.5) }},
		{"regression", func() map[string]float64 { return Regression(ref["regression"].Truth, ref["regression"].Pred) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sameMetrics(t, c.got(), ref[c.name].Metrics, 1e-9)
		})
	}
}

func TestFairnessAgreesWithScikitLearn(t *testing.T) {
	ref := loadReference(t)
	labels := ints(t, column(t, examples+"fraud/holdout.csv", "label"))
	groups := column(t, examples+"fraud/holdout.csv", "region")
	for _, v := range []string{"v1", "v2", "v3"} {
		t.Run(v, func(t *testing.T) {
			scores, _ := allFloats(t, examples+"fraud/"+v+"/reference.csv")
			pred := make([]int, len(scores))
			for i, s := range scores {
				if s >= 0.5 {
					pred[i] = 1
				}
			}
			eval := func(rows []int) map[string]float64 {
				l, s := make([]int, len(rows)), make([]float64, len(rows))
				for j, i := range rows {
					l[j], s[j] = labels[i], scores[i]
				}
				return Binary(l, s, 0.5)
			}
			got := Fair("region", MetricRecall, groups, eval, labels, pred)
			want := ref["fraud-"+v].Fairness
			if len(got.Groups) != len(want.Groups) {
				t.Fatalf("groups = %+v, want %v", got.Groups, want.Groups)
			}
			for _, g := range got.Groups {
				near(t, "recall of "+g.Group, *g.Metric, want.Groups[g.Group], 1e-9)
			}
			near(t, "metric gap", got.MetricGap, want.MetricGap, 1e-9)
			near(t, "parity difference", *got.ParityDifference, want.ParityDifference, 1e-9)
			near(t, "opportunity difference", *got.OpportunityDifference, want.OpportunityDifference, 1e-9)
			// The chance gap and its p-value are Monte Carlo estimates on
			// both sides (1000 shuffles here, 10000 in scipy's
			// permutation_test): they agree within a few standard errors.
			// A p-value's error is sqrt(p(1-p)/1000), at most 0.016.
			if got.Shuffles != Shuffles {
				t.Errorf("%d shuffles, want %d", got.Shuffles, Shuffles)
			}
			near(t, "chance gap", got.NoiseGap, want.ChanceGap, 0.02)
			near(t, "chance p-value", got.PValue, want.ChancePValue, 4*math.Sqrt(want.ChancePValue*(1-want.ChancePValue)/Shuffles)+1e-9)
		})
	}
}

// TestAUCUndefinedWithOneClass: scikit-learn refuses; a gate reports the
// metric as unmeasured rather than a number.
func TestAUCUndefinedWithOneClass(t *testing.T) {
	m := Binary([]int{0, 0, 0}, []float64{0.1, 0.7, 0.2}, 0.5)
	if !math.IsNaN(m[MetricAUC]) {
		t.Fatalf("auc = %v with one class, want NaN", m[MetricAUC])
	}
	if m[MetricAccuracy] != 2.0/3 {
		t.Fatalf("accuracy = %v, want 2/3", m[MetricAccuracy])
	}
}
