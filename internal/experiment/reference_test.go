package experiment

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/slipway-ml/slipway/internal/stats"
)

// The reference values in testdata/reference.json come from
// testdata/reference.py (scipy); see its docstring. Every value must
// agree within relTol of its magnitude, or absTol near zero.
const (
	relTol = 1e-6
	absTol = 1e-12
)

type moments struct {
	N     int64
	Sum   float64
	SumSq float64 `json:"sumsq"`
}

func (m moments) stats() stats.Moments { return stats.Moments{N: m.N, Sum: m.Sum, SumSq: m.SumSq} }

type reference struct {
	Scipy  string
	Chi2SF []struct{ X, DF, SF float64 } `json:"chi2_sf"`
	SRM    []struct {
		Assigned []int64
		Shares   []float64
		Chi2, P  float64
	}
	Best []struct {
		Kind  string
		Lower bool
		Arms  []moments
		P     []float64
	} `json:"prob_best"`
	Compare []struct {
		C, B                     moments
		Alpha, Tau2              float64
		Difference, Lower, Upper float64
		P, Z                     float64
		Relative                 float64
		RelLower                 float64 `json:"rel_lower"`
		RelUpper                 float64 `json:"rel_upper"`
	}
}

func loadReference(t *testing.T) *reference {
	t.Helper()
	data, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatalf("reading reference values (regenerate with /usr/bin/python3 testdata/reference.py): %v", err)
	}
	var ref reference
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatalf("decoding reference values: %v", err)
	}
	if len(ref.Chi2SF) == 0 || len(ref.SRM) == 0 || len(ref.Best) == 0 || len(ref.Compare) == 0 {
		t.Fatal("reference values incomplete: regenerate with /usr/bin/python3 testdata/reference.py")
	}
	return &ref
}

func check(t *testing.T, what string, got, want float64) {
	t.Helper()
	if !(math.Abs(got-want) <= relTol*math.Abs(want)+absTol) {
		t.Errorf("%s = %.17g, want %.17g (scipy; relative error %.2g)", what, got, want, math.Abs(got-want)/math.Abs(want))
	}
}

func TestReferenceChiSquare(t *testing.T) {
	ref := loadReference(t)
	for _, c := range ref.Chi2SF {
		check(t, fmt.Sprintf("chiSquareSF(%v, %v)", c.X, c.DF), chiSquareSF(c.X, c.DF), c.SF)
	}
}

func TestReferenceSRM(t *testing.T) {
	ref := loadReference(t)
	for _, c := range ref.SRM {
		s, err := CheckSRM(c.Assigned, c.Shares, 0, "")
		if err != nil {
			t.Fatalf("CheckSRM(%v, %v): %v", c.Assigned, c.Shares, err)
		}
		what := fmt.Sprintf("CheckSRM(%v, %v)", c.Assigned, c.Shares)
		check(t, what+".ChiSquare", s.ChiSquare, c.Chi2)
		check(t, what+".PValue", s.PValue, c.P)
		if s.Mismatch != (c.P < DefaultSRMThreshold) {
			t.Errorf("%s.Mismatch = %v at p=%v", what, s.Mismatch, c.P)
		}
	}
}

func TestReferenceProbBest(t *testing.T) {
	ref := loadReference(t)
	for _, c := range ref.Best {
		kind := Binary
		if c.Kind == "continuous" {
			kind = Continuous
		}
		vals := make([]stats.Moments, len(c.Arms))
		for i, a := range c.Arms {
			vals[i] = a.stats()
		}
		post, ok := posteriors(vals, kind)
		if !ok {
			t.Fatalf("no posteriors for %v", c.Arms)
		}
		got := probBest(post, c.Lower)
		for i := range got {
			check(t, fmt.Sprintf("%s arms %v lower %v: P(arm %d best)", c.Kind, c.Arms, c.Lower, i), got[i], c.P[i])
		}
	}
}

func TestReferenceCompare(t *testing.T) {
	ref := loadReference(t)
	for _, c := range ref.Compare {
		got := compare(c.C.stats(), c.B.stats(), c.Alpha, c.Tau2)
		what := fmt.Sprintf("compare(%v, %v, alpha %.4g, tau2 %v)", c.C, c.B, c.Alpha, c.Tau2)
		check(t, what+".Difference", got.Difference, c.Difference)
		check(t, what+".Lower", got.Lower, c.Lower)
		check(t, what+".Upper", got.Upper, c.Upper)
		check(t, what+".PValue", got.PValue, c.P)
		check(t, what+".Z", got.Z, c.Z)
		check(t, what+".Relative", got.Relative, c.Relative)
		check(t, what+".RelLower", got.RelLower, c.RelLower)
		check(t, what+".RelUpper", got.RelUpper, c.RelUpper)
	}
}
