package spec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/slipway-ml/slipway"
)

// Pos is where a field sits in the spec's text. Lines and columns count
// from 1; the zero Pos means the place is unknown (the spec did not give
// the field and no enclosing field has a place either).
type Pos struct {
	Line, Column int
}

// FieldError is one problem with a spec: the line and column of the field
// (or of the nearest enclosing field, when the field itself is missing),
// its path such as "deployment.stages[1].weight", and what is wrong.
type FieldError struct {
	Line, Column int
	Path         string // empty for a problem with the text itself, such as a YAML syntax error
	Msg          string
}

// Error renders the problem as "line 12: deployment.stages[1].weight: msg".
func (e FieldError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes a FieldError match slipway.ErrInvalid.
func (e FieldError) Is(target error) bool { return target == slipway.ErrInvalid }

// Errors is every problem Parse found, ordered by line. It matches
// slipway.ErrInvalid, so the control API answers 400 with the whole list.
type Errors []FieldError

// Error renders one problem a line.
func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Is makes Errors match slipway.ErrInvalid.
func (es Errors) Is(target error) bool { return target == slipway.ErrInvalid }

// Unwrap lets errors.As find each FieldError.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sorted orders problems by line (those without a place first), keeping the order they were found in
// within a line (the order of the checks, which follows the spec's fields).
func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
	return es
}

// problems collects FieldErrors as the decoder and the checks walk a spec.
// It knows where every given field sits, so a check names only the path.
type problems struct {
	pos  map[string]Pos  // path → place of the key (or list item) in the text
	bad  map[string]bool // paths whose value could not be decoded
	errs Errors
}

func newProblems() *problems {
	return &problems{pos: make(map[string]Pos), bad: make(map[string]bool)}
}

// addf records a problem at path. A path that already failed to decode
// gets no second problem: the first says what is wrong with it.
func (p *problems) addf(path, format string, args ...any) {
	if p.bad[path] {
		return
	}
	at := p.at(path)
	p.errs = append(p.errs, FieldError{Line: at.Line, Column: at.Column, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// badf records a problem that makes the value at path unusable.
func (p *problems) badf(path string, at Pos, format string, args ...any) {
	if p.bad[path] {
		return
	}
	p.bad[path] = true
	p.errs = append(p.errs, FieldError{Line: at.Line, Column: at.Column, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// given reports whether the spec's text has a key (or list item) at path;
// the empty path is the document itself.
func (p *problems) given(path string) bool {
	_, ok := p.pos[path]
	return ok
}

// anyBad reports whether path or a field under it failed to decode.
func (p *problems) anyBad(path string) bool {
	for k := range p.bad {
		if k == path || strings.HasPrefix(k, path+".") || strings.HasPrefix(k, path+"[") {
			return true
		}
	}
	return false
}

// at is the place of path, or of its nearest enclosing field that the
// text has.
func (p *problems) at(path string) Pos {
	for {
		if pos, ok := p.pos[path]; ok {
			return pos
		}
		if path == "" {
			return Pos{}
		}
		path = parent(path)
	}
}

// parent drops the last element of a path: "a.b[2].c" → "a.b[2]" → "a.b".
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}
