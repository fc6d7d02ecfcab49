package spec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"

	"gopkg.in/yaml.v3"

	"github.com/slipway-ml/slipway"
)

// MaxSize bounds a spec's text, in bytes.
const MaxSize = 1 << 20

// Parse reads a deployment spec: it sets the defaults, decodes data over
// them, and validates everything. The error, if any, is Errors with every
// problem found, each with its line and field path, and matches
// slipway.ErrInvalid. On success the spec is complete: linear steps are
// expanded into Stages, the final 100% stage is added when the last stage
// is below 100%, and every default is filled in.
func Parse(data []byte) (*Spec, error) {
	if len(data) > MaxSize {
		return nil, Errors{{Msg: fmt.Sprintf("the spec is %d bytes; the most is %d", len(data), MaxSize)}}
	}
	root, errs := document(data)
	if errs != nil {
		return nil, errs
	}
	p := newProblems()
	p.pos[""] = Pos{root.Line, root.Column}
	s := &Spec{}
	(&decoder{problems: p}).decode(root, "", reflect.ValueOf(s).Elem())
	derive(&s.Deployment)
	(&checker{problems: p}).deployment(&s.Deployment)
	if len(p.errs) > 0 {
		return nil, capped(p.errs.sorted())
	}
	expand(&s.Deployment)
	s.pos = p.pos
	return s, nil
}

// maxErrors bounds the problems Parse reports; a spec with more is
// better fixed from the top.
const maxErrors = 100

func capped(es Errors) Errors {
	if len(es) <= maxErrors {
		return es
	}
	more := len(es) - maxErrors
	return append(es[:maxErrors:maxErrors], FieldError{Line: es[maxErrors].Line, Msg: fmt.Sprintf("and %d more problems", more)})
}

// document parses data as exactly one YAML document and returns its root.
func document(data []byte) (*yaml.Node, Errors) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{{Path: "deployment", Msg: "required: the spec is empty"}}
		}
		return nil, syntaxErrors(err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, Errors{{Line: extra.Line, Msg: "a second YAML document: a spec holds one deployment"}}
	case !errors.Is(err, io.EOF):
		return nil, syntaxErrors(err)
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0], nil
	}
	return &doc, nil
}

// YAML renders the complete spec, every default filled in, as
// `slipway deploy --dry-run` shows it. Stages expanded from linear steps
// are left out (the linear section says them); the final 100% stage is
// written out. Parsing the output gives the same spec.
func (s *Spec) YAML() ([]byte, error) {
	d := s.Deployment
	if d.Linear != nil {
		d.Stages = nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(struct {
		Deployment Deployment `yaml:"deployment"`
	}{d}); err != nil {
		return nil, fmt.Errorf("render spec: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render spec: %w", err)
	}
	return buf.Bytes(), nil
}

// Resolver finds the version a reference names, by version string or
// alias; *registry.Registry meets it. It answers an error matching
// slipway.ErrNotFound when the model, version or alias does not exist.
type Resolver interface {
	Resolve(ctx context.Context, ref slipway.Ref) (slipway.Version, string, error)
}

// Check asks r whether the model, the candidate and the baseline exist,
// and whether they differ. What does not exist is reported as Errors at
// the spec's lines; a failure of r itself is returned as it is.
func (s *Spec) Check(ctx context.Context, r Resolver) error {
	d := s.Deployment
	p := &problems{pos: s.pos, bad: map[string]bool{}}
	if p.pos == nil {
		p.pos = map[string]Pos{}
	}
	cand, candMissing, err := resolve(ctx, r, slipway.Ref{Model: d.Model, Selector: d.Version})
	if err != nil {
		return err
	}
	base, baseMissing, err := resolve(ctx, r, slipway.Ref{Model: d.Model, Selector: d.Baseline})
	if err != nil {
		return err
	}
	switch {
	case candMissing != "" && candMissing == baseMissing:
		// Both fail the same way: the model itself is missing.
		p.addf("deployment.model", "%s", candMissing)
	default:
		if candMissing != "" {
			p.addf("deployment.version", "%s", candMissing)
		}
		if baseMissing != "" {
			p.addf("deployment.baseline", "%s", baseMissing)
		}
	}
	if cand != "" && cand == base {
		p.addf("deployment.baseline", "%s is version %s, the candidate itself; nothing to compare with", d.Baseline, base)
	}
	if len(p.errs) > 0 {
		return p.errs.sorted()
	}
	return nil
}

// resolve returns the version ref names, or why it does not exist, or the
// resolver's own failure.
func resolve(ctx context.Context, r Resolver, ref slipway.Ref) (version, missing string, err error) {
	v, _, err := r.Resolve(ctx, ref)
	switch {
	case errors.Is(err, slipway.ErrNotFound):
		return "", err.Error(), nil
	case err != nil:
		return "", "", fmt.Errorf("check %s: %w", ref, err)
	}
	return v.Version, "", nil
}
