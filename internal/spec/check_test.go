package spec

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway"
)

// registry is an in-memory Resolver: versions and aliases per model.
type registry struct {
	versions map[string][]string          // model → versions
	aliases  map[string]map[string]string // model → alias → version
	fail     error
}

func (r registry) Resolve(_ context.Context, ref slipway.Ref) (slipway.Version, string, error) {
	if r.fail != nil {
		return slipway.Version{}, "", r.fail
	}
	vs, ok := r.versions[ref.Model]
	if !ok {
		return slipway.Version{}, "", fmt.Errorf("model %q: %w", ref.Model, slipway.ErrNotFound)
	}
	for _, v := range vs {
		if v == ref.Selector {
			return slipway.Version{Model: ref.Model, Version: v}, "", nil
		}
	}
	if v, ok := r.aliases[ref.Model][ref.Selector]; ok {
		return slipway.Version{Model: ref.Model, Version: v}, ref.Selector, nil
	}
	return slipway.Version{}, "", fmt.Errorf("%s: no version or alias %q: %w", ref.Model, ref.Selector, slipway.ErrNotFound)
}

func TestCheck(t *testing.T) {
	reg := registry{
		versions: map[string][]string{"fraud": {"1.0.0", "2.1.0"}},
		aliases:  map[string]map[string]string{"fraud": {"production": "1.0.0", "latest": "2.1.0"}},
	}
	parse := func(version, baseline string) *Spec {
		t.Helper()
		s, err := Parse([]byte(fmt.Sprintf(`
deployment:
  model: fraud
  version: %s
  baseline: %s
  stages: [{name: canary, weight: 1, duration: 30m}]
`, version, baseline)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ctx := context.Background()
	if err := parse("2.1.0", "production").Check(ctx, reg); err != nil {
		t.Errorf("valid spec: %v", err)
	}
	err := parse("9.9.9", "staging").Check(ctx, reg)
	want := `line 4: deployment.version: fraud: no version or alias "9.9.9": not found
line 5: deployment.baseline: fraud: no version or alias "staging": not found`
	if err == nil || err.Error() != want || !errors.Is(err, slipway.ErrInvalid) {
		t.Errorf("got %v\nwant %s", err, want)
	}
	err = parse("2.1.0", "latest").Check(ctx, reg)
	if err == nil || !strings.Contains(err.Error(), "line 5: deployment.baseline: latest is version 2.1.0, the candidate itself") {
		t.Errorf("same version: %v", err)
	}
	nope := parse("2.1.0", "production")
	nope.Deployment.Model = "nope"
	err = nope.Check(ctx, reg)
	if err == nil || err.Error() != `line 3: deployment.model: model "nope": not found` {
		t.Errorf("unknown model: %v", err)
	}
	down := errors.New("store unreachable")
	err = parse("2.1.0", "production").Check(ctx, registry{fail: down})
	if !errors.Is(err, down) || errors.Is(err, slipway.ErrInvalid) {
		t.Errorf("resolver failure: %v", err)
	}
}
