package spec_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/gate"
	"github.com/slipway-ml/slipway/internal/spec"
)

// TestExampleSpecs keeps the specs the README points at valid: each of
// examples/specs/*.yaml parses, its gates section (which Parse keeps as
// given) parses as gate thresholds, and every version it names is one of
// the bundled example models (examples/MODEL/vN is version N.0.0), so the
// README's commands can deploy it after pushing the examples.
func TestExampleSpecs(t *testing.T) {
	files, err := filepath.Glob("../../examples/specs/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no examples/specs/*.yaml")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s, err := spec.Parse(data)
			if err != nil {
				t.Fatalf("%s:\n%v", file, err)
			}
			d := s.Deployment
			if d.Gates != nil {
				if _, err := gate.Parse(d.Gates); err != nil {
					t.Errorf("%s: gates:\n%v", file, err)
				}
			}
			versions := []string{d.Version}
			if x := d.Experiment; x != nil {
				for _, a := range x.Arms {
					versions = append(versions, a.Version)
				}
			}
			for _, v := range versions {
				if err := bundled(d.Model, v); err != nil {
					t.Errorf("%s: %v", file, err)
				}
			}
			if len(s.Plan().Steps) == 0 {
				t.Errorf("%s: the plan has no steps", file)
			}
		})
	}
}

// bundled says whether model@version is one of the example models that
// `slipway demo` and the README push: examples/MODEL/vN as N.0.0.
func bundled(model, version string) error {
	major, ok := strings.CutSuffix(version, ".0.0")
	if !ok {
		return fmt.Errorf("%s@%s: example versions are N.0.0, pushed from examples/%s/vN", model, version, model)
	}
	dir := filepath.Join("../../examples", model, "v"+major)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("%s@%s: no bundled model at %s", model, version, dir)
	}
	return nil
}
