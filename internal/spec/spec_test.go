package spec

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func cases(t *testing.T, suffix string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/*" + suffix)
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*%s: %v", suffix, err)
	}
	out := make(map[string][]byte)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), suffix)] = data
	}
	return out
}

// TestGood parses every testdata/*.good.yaml, renders its plan and its
// defaulted YAML against golden files, and checks that the defaulted YAML
// parses back to itself.
func TestGood(t *testing.T) {
	for name, data := range cases(t, ".good.yaml") {
		t.Run(name, func(t *testing.T) {
			s, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var plan bytes.Buffer
			if err := s.Plan().Render(&plan); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", name+".plan.golden"), plan.Bytes())

			y, err := s.YAML()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", name+".yaml.golden"), y)
			again, err := Parse(y)
			if err != nil {
				t.Fatalf("the defaulted YAML does not parse: %v\n%s", err, y)
			}
			y2, err := again.YAML()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(y, y2) {
				t.Errorf("defaulted YAML is not a fixed point:\n%s\n--- again\n%s", y, y2)
			}
			if p1, p2 := s.Plan(), again.Plan(); p1.Duration != p2.Duration || len(p1.Steps) != len(p2.Steps) {
				t.Errorf("plan changed on re-parse: %v/%d steps, then %v/%d", p1.Duration, len(p1.Steps), p2.Duration, len(p2.Steps))
			}
		})
	}
}

// TestBad parses every testdata/*.bad.yaml and compares the whole error,
// one problem a line, with the sibling .err file.
func TestBad(t *testing.T) {
	for name, data := range cases(t, ".bad.yaml") {
		t.Run(name, func(t *testing.T) {
			s, err := Parse(data)
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", s.Deployment)
			}
			if s != nil {
				t.Error("Parse returned a spec with its error")
			}
			if !errors.Is(err, slipway.ErrInvalid) {
				t.Errorf("error does not match slipway.ErrInvalid: %v", err)
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is not Errors: %T", err)
			}
			for _, e := range es {
				if e.Line == 0 && name != "empty" {
					t.Errorf("no line: %v", e)
				}
			}
			golden(t, filepath.Join("testdata", name+".err"), []byte(err.Error()+"\n"))
		})
	}
}

func TestPlaybookPlan(t *testing.T) {
	data, err := os.ReadFile("testdata/playbook.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	d := s.Deployment
	if d.Baseline != "production" || d.Strategy != Canary || d.Version != "2.1.0" {
		t.Errorf("deployment = %+v", d)
	}
	p := s.Plan()
	type step struct {
		name   string
		weight int
		start  string
		added  bool
	}
	want := []step{{"canary", 100, "0s", false}, {"limited", 1000, "30m", false}, {"full", 10000, "1h30m", true}}
	if len(p.Steps) != len(want) {
		t.Fatalf("%d steps, want %d", len(p.Steps), len(want))
	}
	for i, w := range want {
		st := p.Steps[i]
		got := step{st.Name, st.Weight, Duration(st.Start).String(), st.Added}
		if got != w {
			t.Errorf("step %d = %+v, want %+v", i, got, w)
		}
	}
	if m := p.Steps[0].Analysis.Metrics[0]; m.MinSamples != DefaultMinSamples || *m.Threshold != 1 {
		t.Errorf("metric = %+v", m)
	}
	if lo, hi := p.Steps[0].Analysis.Metrics[1].Bounds(); lo != nil || hi == nil || *hi != 100 {
		t.Errorf("latency bounds = %v, %v", lo, hi)
	}
}

func TestLinearExpansion(t *testing.T) {
	s, err := Parse([]byte("deployment: {model: m, version: '2', strategy: linear, linear: {step: 25%, every: 5m}}"))
	if err != nil {
		t.Fatal(err)
	}
	var weights []int
	for _, st := range s.Plan().Steps {
		weights = append(weights, st.Weight)
	}
	if want := []int{2500, 5000, 7500, 10000}; !equal(weights, want) {
		t.Errorf("weights = %v, want %v", weights, want)
	}
	if got := s.Plan().Duration.String(); got != "15m0s" {
		t.Errorf("duration = %s, want 15m", got)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestErrorsFormat(t *testing.T) {
	es := Errors{
		{Line: 12, Path: "deployment.stages[1].weight", Msg: "0.05 is below the minimum 0.1 (percent)"},
		{Msg: "YAML: did not find expected key"},
	}
	want := "line 12: deployment.stages[1].weight: 0.05 is below the minimum 0.1 (percent)\nYAML: did not find expected key"
	if es.Error() != want {
		t.Errorf("got %q", es.Error())
	}
	if !errors.Is(es, slipway.ErrInvalid) || !errors.Is(es[0], slipway.ErrInvalid) {
		t.Error("Errors must match slipway.ErrInvalid")
	}
	if errors.Is(es, slipway.ErrNotFound) {
		t.Error("Errors must not match slipway.ErrNotFound")
	}
}

func TestAnchorsAndMerges(t *testing.T) {
	spec := `
deployment:
  model: fraud
  version: 2.1.0
  stages:
    - &base
      name: canary
      weight: 1
      duration: 30m
      promotion: &checks
        analysis:
          metrics: [{name: error-rate, threshold: 1}]
    - <<: *base
      name: limited
      weight: 10
    - name: half
      weight: 50
      duration: 1h
      promotion: *checks
`
	s, err := Parse([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	st := s.Deployment.Stages
	if len(st) != 4 || st[1].Name != "limited" || st[1].Weight != 10 || st[1].Duration.String() != "30m" ||
		len(st[1].Promotion.Analysis.Metrics) != 1 || len(st[2].Promotion.Analysis.Metrics) != 1 {
		t.Errorf("stages = %+v", st)
	}
}

func TestUnknownFieldListsKnown(t *testing.T) {
	_, err := Parse([]byte("deployment:\n  model: m\n  version: '1'\n  stages: [{name: a, weight: 1, duration: 1m}]\n  zzzzzz: 1\n"))
	want := "line 5: deployment.zzzzzz: unknown field; known fields: model, version, baseline, strategy, sticky, shadow, stages, linear, blueGreen, experiment, rollback, notifications, gates"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestExtensionKeysAndLimits(t *testing.T) {
	spec := "x-checks: &checks {analysis: {metrics: [{name: error-rate, threshold: 1}]}}\n" +
		"deployment: {model: m, version: '1', stages: [{name: a, weight: 1, duration: 1m, promotion: *checks}]}\n"
	if _, err := Parse([]byte(spec)); err != nil {
		t.Errorf("x- key: %v", err)
	}
	// Aliases of aliases name a million metrics in a few hundred bytes.
	bomb := "m: &m {name: error-rate, threshold: 1}\nms: &ms [" + strings.Repeat("*m,", 999) + "*m]\n" +
		"s: &s {name: a, weight: 1, duration: 1m, promotion: {analysis: {metrics: *ms}}}\n" +
		"deployment: {model: m, version: '1', stages: [" + strings.Repeat("*s,", 999) + "*s]}\n"
	_, err := Parse([]byte(bomb))
	var es Errors
	if !errors.As(err, &es) || len(es) != maxErrors+1 || !strings.Contains(err.Error(), "more than 20000 values") {
		t.Errorf("bomb: %d problems: %.300v", len(es), err)
	}
	if _, err := Parse(bytes.Repeat([]byte("#"), MaxSize+1)); err == nil || !strings.Contains(err.Error(), "the most is") {
		t.Errorf("huge spec: %v", err)
	}
}
