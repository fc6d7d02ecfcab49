package batch

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/dataset"
	"github.com/slipway-ml/slipway/internal/stats"
)

// Report is what Compare found. Scores are a single-valued output's
// values, or the top class's probability for class probabilities.
// Pointer fields are nil when they do not apply (no labels, not a
// classifier).
type Report struct {
	Rows int64 `json:"rows"`
	// Task is binary, multiclass or regression, as given or inferred.
	Task string `json:"task"`
	// Classes is the number of classes of a classifier.
	Classes int `json:"classes,omitempty"`
	// Threshold is the score from which a binary classifier predicts 1.
	Threshold float64 `json:"threshold,omitempty"`
	// A and B describe each version on its own.
	A Side `json:"a"`
	B Side `json:"b"`
	// Agreement is the share of rows both classifiers give one class.
	Agreement *float64 `json:"agreement,omitempty"`
	// Confusion counts rows by A's class (rows) and B's class (columns).
	Confusion [][]int64 `json:"confusion,omitempty"`
	// Diff is the distribution of |score A − score B| per row (for class
	// probabilities, the largest difference over the classes).
	Diff Diff `json:"score_diff"`
	// PSI is the population stability index of B's scores against A's
	// over ten quantile bins of A's scores.
	PSI float64 `json:"psi"`
	// KS is the two-sample Kolmogorov–Smirnov statistic of the two score
	// distributions, and KSPValue its asymptotic two-sided p-value.
	KS       float64 `json:"ks"`
	KSPValue float64 `json:"ks_p_value"`
	// Group names the segment column; Segments holds one entry per
	// segment, largest first.
	Group    string        `json:"group,omitempty"`
	Segments []Segment     `json:"segments,omitempty"`
	Elapsed  time.Duration `json:"elapsed_ns"`
}

// Side is one version's own figures.
type Side struct {
	// Name labels the version in tables; empty means "A" or "B".
	Name      string  `json:"name,omitempty"`
	MeanScore float64 `json:"mean_score"`
	P50       float64 `json:"p50_score"`
	P90       float64 `json:"p90_score"`
	// PositiveRate is a binary classifier's share of rows predicted 1.
	PositiveRate *float64 `json:"positive_rate,omitempty"`
	// Accuracy is a classifier's share of rows predicted right, and MAE
	// a regression's mean absolute error, when the file has labels.
	Accuracy *float64 `json:"accuracy,omitempty"`
	MAE      *float64 `json:"mae,omitempty"`
}

// Diff summarizes per-row score differences.
type Diff struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// Segment is one group's stability across the versions.
type Segment struct {
	Group     string   `json:"group"`
	Rows      int64    `json:"rows"`
	Agreement *float64 `json:"agreement,omitempty"`
	MeanA     float64  `json:"mean_score_a"`
	MeanB     float64  `json:"mean_score_b"`
	AccuracyA *float64 `json:"accuracy_a,omitempty"`
	AccuracyB *float64 `json:"accuracy_b,omitempty"`
}

// summarize computes the report from every row's pair of scores.
func summarize(rows []rowPair, width int, opt dataset.Options) *Report {
	rep := &Report{Rows: int64(len(rows)), Group: opt.Group}
	task := inferTask(rows, width, opt.LabelKind.Task)
	rep.Task = task.String()
	classify := classifier(task, width, rep)
	labels := opt.Label != ""

	sa, sb, diffs := make([]float64, len(rows)), make([]float64, len(rows)), make([]float64, len(rows))
	for i, r := range rows {
		sa[i], sb[i], diffs[i] = r.a, r.b, r.diff
	}
	binary := classify != nil && width == 1
	rep.A, rep.B = side(rows, sa, classify, labels, binary, true), side(rows, sb, classify, labels, binary, false)
	slices.Sort(sa)
	slices.Sort(sb)
	slices.Sort(diffs)
	rep.Diff = Diff{Mean: mean(diffs), P50: quantile(diffs, .5), P90: quantile(diffs, .9), P99: quantile(diffs, .99), Max: diffs[len(diffs)-1]}
	edges := decileEdges(sa)
	rep.PSI = stats.PSI(binCounts(sb, edges), binCounts(sa, edges))
	ks := stats.KolmogorovSmirnov(sb, sa, stats.TwoSided)
	rep.KS, rep.KSPValue = ks.Statistic, ks.PValue
	if classify != nil {
		rep.Confusion = make([][]int64, rep.Classes)
		for k := range rep.Confusion {
			rep.Confusion[k] = make([]int64, rep.Classes)
		}
		agree := 0
		for _, r := range rows {
			ca, cb := classify(r, true), classify(r, false)
			rep.Confusion[ca][cb]++
			if ca == cb {
				agree++
			}
		}
		rep.Agreement = share(agree, len(rows))
	}
	if opt.Group != "" {
		rep.Segments = segments(rows, classify, labels)
	}
	return rep
}

func inferTask(rows []rowPair, width int, given dataset.Task) dataset.Task {
	if given != dataset.AnyTask {
		return given
	}
	if width > 1 {
		return dataset.Multiclass
	}
	for _, r := range rows {
		if !(r.a >= 0 && r.a <= 1 && r.b >= 0 && r.b <= 1) {
			return dataset.Regression
		}
	}
	return dataset.Binary
}

// classifier returns how a row's class is read for version A (a true)
// or B, or nil for a regression.
func classifier(task dataset.Task, width int, rep *Report) func(r rowPair, a bool) int {
	switch {
	case task == dataset.Binary && width == 1:
		rep.Classes, rep.Threshold = 2, 0.5
		return func(r rowPair, a bool) int {
			s := r.b
			if a {
				s = r.a
			}
			if s >= rep.Threshold {
				return 1
			}
			return 0
		}
	case width > 1:
		rep.Classes = width
		return func(r rowPair, a bool) int {
			if a {
				return r.ca
			}
			return r.cb
		}
	}
	return nil
}

// side is version A's (a true) or B's own figures; scores are in row
// order.
func side(rows []rowPair, scores []float64, classify func(rowPair, bool) int, labels, binary, a bool) Side {
	s := Side{MeanScore: mean(scores)}
	sorted := slices.Sorted(slices.Values(scores))
	s.P50, s.P90 = quantile(sorted, .5), quantile(sorted, .9)
	if classify != nil {
		pos, right := 0, 0
		for _, r := range rows {
			c := classify(r, a)
			if c == 1 {
				pos++
			}
			if float64(c) == r.label {
				right++
			}
		}
		if binary {
			s.PositiveRate = share(pos, len(rows))
		}
		if labels {
			s.Accuracy = share(right, len(rows))
		}
	} else if labels {
		sum := 0.0
		for i, r := range rows {
			sum += math.Abs(scores[i] - r.label)
		}
		m := sum / float64(len(rows))
		s.MAE = &m
	}
	return s
}

func segments(rows []rowPair, classify func(rowPair, bool) int, labels bool) []Segment {
	type acc struct {
		n, agree, rightA, rightB int
		sumA, sumB               float64
	}
	by := map[string]*acc{}
	for _, r := range rows {
		g := by[r.group]
		if g == nil {
			g = &acc{}
			by[r.group] = g
		}
		g.n++
		g.sumA += r.a
		g.sumB += r.b
		if classify != nil {
			ca, cb := classify(r, true), classify(r, false)
			if ca == cb {
				g.agree++
			}
			if float64(ca) == r.label {
				g.rightA++
			}
			if float64(cb) == r.label {
				g.rightB++
			}
		}
	}
	out := make([]Segment, 0, len(by))
	for name, g := range by {
		s := Segment{Group: name, Rows: int64(g.n), MeanA: g.sumA / float64(g.n), MeanB: g.sumB / float64(g.n)}
		if classify != nil {
			s.Agreement = share(g.agree, g.n)
			if labels {
				s.AccuracyA, s.AccuracyB = share(g.rightA, g.n), share(g.rightB, g.n)
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rows != out[j].Rows {
			return out[i].Rows > out[j].Rows
		}
		return out[i].Group < out[j].Group
	})
	return out
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

func share(k, n int) *float64 {
	v := float64(k) / float64(n)
	return &v
}

// WriteTable renders the report side by side for people: each version's
// figures with the change from A to B, then what compares the two.
// Columns are tab-separated for a tabwriter.
func (r *Report) WriteTable(w io.Writer) {
	na, nb := orName(r.A.Name, "A"), orName(r.B.Name, "B")
	fmt.Fprintf(w, "METRIC\t%s\t%s\tCHANGE\n", na, nb)
	fmt.Fprintf(w, "rows\t%d\t%d\t\n", r.Rows, r.Rows)
	num := func(name string, a, b float64) {
		fmt.Fprintf(w, "%s\t%.4g\t%.4g\t%+.4g\n", name, a, b, b-a)
	}
	pct := func(name string, a, b *float64) {
		if a != nil && b != nil {
			fmt.Fprintf(w, "%s\t%.2f%%\t%.2f%%\t%+.2f pp\n", name, 100**a, 100**b, 100*(*b-*a))
		}
	}
	num("mean score", r.A.MeanScore, r.B.MeanScore)
	num("p50 score", r.A.P50, r.B.P50)
	num("p90 score", r.A.P90, r.B.P90)
	pct(fmt.Sprintf("positive rate (score ≥ %g)", r.Threshold), r.A.PositiveRate, r.B.PositiveRate)
	pct("accuracy", r.A.Accuracy, r.B.Accuracy)
	if r.A.MAE != nil && r.B.MAE != nil {
		num("mean absolute error", *r.A.MAE, *r.B.MAE)
	}
	fmt.Fprintf(w, "\nBETWEEN VERSIONS\tVALUE\n")
	if r.Agreement != nil {
		fmt.Fprintf(w, "label agreement\t%.2f%% (%d of %d rows)\n", 100**r.Agreement, int64(math.Round(*r.Agreement*float64(r.Rows))), r.Rows)
	}
	fmt.Fprintf(w, "|score diff| mean\t%.4g\n", r.Diff.Mean)
	fmt.Fprintf(w, "|score diff| p50 / p90 / p99\t%.4g / %.4g / %.4g\n", r.Diff.P50, r.Diff.P90, r.Diff.P99)
	fmt.Fprintf(w, "|score diff| max\t%.4g\n", r.Diff.Max)
	fmt.Fprintf(w, "PSI (10 quantile bins of %s)\t%.4f (%s)\n", na, r.PSI, psiWord(r.PSI))
	fmt.Fprintf(w, "KS statistic\t%.4f (p = %.3g)\n", r.KS, r.KSPValue)
	if len(r.Confusion) > 0 {
		fmt.Fprintf(w, "\nCONFUSION (rows %s, columns %s)", na, nb)
		for k := range r.Confusion {
			fmt.Fprintf(w, "\t%d", k)
		}
		fmt.Fprintln(w)
		for k, row := range r.Confusion {
			fmt.Fprintf(w, "%d", k)
			for _, c := range row {
				fmt.Fprintf(w, "\t%d", c)
			}
			fmt.Fprintln(w)
		}
	}
	if len(r.Segments) > 0 {
		r.writeSegments(w, na, nb)
	}
}

func (r *Report) writeSegments(w io.Writer, na, nb string) {
	cols := []string{strings.ToUpper(r.Group), "ROWS", "AGREEMENT", "MEAN " + na, "MEAN " + nb, "CHANGE"}
	withAcc := r.Segments[0].AccuracyA != nil
	if withAcc {
		cols = append(cols, "ACCURACY "+na, "ACCURACY "+nb)
	}
	fmt.Fprintf(w, "\n%s\n", strings.Join(cols, "\t"))
	for _, s := range r.Segments {
		agree := "-"
		if s.Agreement != nil {
			agree = fmt.Sprintf("%.2f%%", 100**s.Agreement)
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%.4g\t%.4g\t%+.4g", orName(s.Group, "(empty)"), s.Rows, agree, s.MeanA, s.MeanB, s.MeanB-s.MeanA)
		if withAcc {
			fmt.Fprintf(w, "\t%.2f%%\t%.2f%%", 100**s.AccuracyA, 100**s.AccuracyB)
		}
		fmt.Fprintln(w)
	}
}

func psiWord(psi float64) string {
	switch {
	case psi >= stats.PSIAct:
		return "shifted"
	case psi >= stats.PSIWatch:
		return "worth watching"
	}
	return "stable"
}

func orName(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
