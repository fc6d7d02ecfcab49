package batch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/slipway-ml/slipway/internal/batch"
	"github.com/slipway-ml/slipway/internal/csvtest"
	"github.com/slipway-ml/slipway/internal/dataset"
)

func TestCompareSameVersion(t *testing.T) {
	p := load(t, "fraud/v1")
	rep, err := batch.Compare(context.Background(), p, p, examples+"fraud/holdout.csv", batch.Options{Data: fraudData})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 2000 || rep.Task != "binary" || rep.Agreement == nil || *rep.Agreement != 1 || rep.Diff.Max != 0 || rep.PSI != 0 || rep.KS != 0 {
		t.Fatalf("v1 vs v1: %+v", rep)
	}
	for _, s := range rep.Segments {
		if *s.Agreement != 1 || s.MeanA != s.MeanB {
			t.Fatalf("segment %+v", s)
		}
	}
}

// v1 against v3 over the holdout: every figure is checked against one
// computed here from XGBoost's own reference predictions.
func TestCompareFraudV1V3(t *testing.T) {
	a, b := load(t, "fraud/v1"), load(t, "fraud/v3")
	data := fraudData
	data.LabelKind = dataset.LabelKind{Task: dataset.Binary}
	data.BatchSize = 300
	rep, err := batch.Compare(context.Background(), a, b, examples+"fraud/holdout.csv", batch.Options{Data: data, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	ra, rb := column(reference(t, "fraud/v1")), column(reference(t, "fraud/v3"))
	holdout := csvtest.Read(t, examples+"fraud/holdout.csv")
	n := len(ra)
	agree, diffs := 0, make([]float64, n)
	conf := [2][2]int64{}
	for i := range ra {
		ca, cb := cls(ra[i]), cls(rb[i])
		conf[ca][cb]++
		if ca == cb {
			agree++
		}
		diffs[i] = math.Abs(ra[i] - rb[i])
	}
	close := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6 {
			t.Errorf("%s = %v, from the reference predictions %v", what, got, want)
		}
	}
	if rep.Rows != int64(n) || rep.Agreement == nil {
		t.Fatalf("%+v", rep)
	}
	close("agreement", *rep.Agreement, float64(agree)/float64(n))
	if *rep.Agreement == 1 || rep.KS == 0 || rep.PSI <= 0 {
		t.Errorf("v1 and v3 should differ: agreement %v KS %v PSI %v", *rep.Agreement, rep.KS, rep.PSI)
	}
	for k := range 2 {
		for j := range 2 {
			if rep.Confusion[k][j] != conf[k][j] {
				t.Errorf("confusion %v, want %v", rep.Confusion, conf)
			}
		}
	}
	close("mean score A", rep.A.MeanScore, mean(ra))
	close("mean score B", rep.B.MeanScore, mean(rb))
	slices.Sort(diffs)
	close("max |diff|", rep.Diff.Max, diffs[n-1])
	close("mean |diff|", rep.Diff.Mean, mean(diffs))
	close("KS", rep.KS, bruteKS(ra, rb))
	// Accuracy from the holdout's labels.
	right := 0
	for i, row := range holdout[1:] {
		if float64(cls(ra[i])) == num(t, row[len(row)-1]) {
			right++
		}
	}
	close("accuracy A", *rep.A.Accuracy, float64(right)/float64(n))
	// Segments: one per region, sizes as in the file.
	sizes := map[string]int64{}
	for _, row := range holdout[1:] {
		sizes[row[len(row)-2]]++
	}
	if len(rep.Segments) != len(sizes) {
		t.Fatalf("segments %+v, regions %v", rep.Segments, sizes)
	}
	for _, s := range rep.Segments {
		if s.Rows != sizes[s.Group] || s.AccuracyA == nil {
			t.Errorf("segment %+v, want %d rows", s, sizes[s.Group])
		}
	}

	var tab bytes.Buffer
	tw := tabwriter.NewWriter(&tab, 0, 4, 2, ' ', 0)
	rep.A.Name, rep.B.Name = "fraud@1", "fraud@3"
	rep.WriteTable(tw)
	tw.Flush()
	for _, want := range []string{"METRIC", "fraud@1", "fraud@3", "CHANGE", "label agreement", "PSI (10 quantile bins of fraud@1)", "KS statistic", "CONFUSION", "REGION", "accuracy"} {
		if !strings.Contains(tab.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, tab.String())
		}
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", tab.String())
}

func TestCompareDigitsONNX(t *testing.T) {
	a, b := load(t, "digits/v1"), load(t, "digits/v2")
	rep, err := batch.Compare(context.Background(), a, b, examples+"digits/holdout.csv", batch.Options{Data: dataset.Options{Label: "label"}})
	if err != nil {
		t.Fatal(err)
	}
	ra, rb := reference(t, "digits/v1"), reference(t, "digits/v2")
	agree := 0
	for i := range ra {
		if argmax(ra[i]) == argmax(rb[i]) {
			agree++
		}
	}
	if rep.Task != "multiclass" || rep.Classes != 10 || len(rep.Confusion) != 10 || math.Abs(*rep.Agreement-float64(agree)/float64(len(ra))) > 1e-9 {
		t.Fatalf("digits: task %s classes %d agreement %v, reference agreement %d/%d", rep.Task, rep.Classes, *rep.Agreement, agree, len(ra))
	}
}

func column(rows [][]float64) []float64 {
	out := make([]float64, len(rows))
	for i, r := range rows {
		out[i] = r[0]
	}
	return out
}

func cls(score float64) int {
	if score >= 0.5 {
		return 1
	}
	return 0
}

func argmax(xs []float64) int {
	best := 0
	for k, x := range xs {
		if x > xs[best] {
			best = k
		}
	}
	return best
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// bruteKS is sup |F_a − F_b| evaluated at every observed value, the
// definition taken literally.
func bruteKS(a, b []float64) float64 {
	cdf := func(xs []float64, v float64) float64 {
		k := 0
		for _, x := range xs {
			if x <= v {
				k++
			}
		}
		return float64(k) / float64(len(xs))
	}
	d := 0.0
	for _, v := range append(slices.Clone(a), b...) {
		d = max(d, math.Abs(cdf(a, v)-cdf(b, v)))
	}
	return d
}
