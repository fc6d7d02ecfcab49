package spec

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The decoder walks the YAML node tree against the spec's Go types, so
// that every value it sets, and every problem it finds, has a path and a
// line: unknown keys (with the nearest known one), keys given twice, and
// values of the wrong kind. yaml.v3's own decoding would stop at the
// first of some of these and knows no paths.

// maxItems bounds any list in a spec, ahead of the checks' tighter
// bounds, so that aliases cannot make the walk explode.
const maxItems = 1000

// maxAliasDepth bounds chains of YAML aliases.
const maxAliasDepth = 32

// maxValues bounds the values the decoder visits: far more than any real
// spec holds, few enough that aliases repeated inside aliases (a few
// hundred bytes can name millions of values) cost little.
const maxValues = 20000

// defaulter is a struct that sets its defaults before its fields are
// decoded over them.
type defaulter interface{ setDefaults() }

// scalarDecoder is a type with its own text form, such as "30m".
type scalarDecoder interface {
	decodeScalar(n *yaml.Node) error
}

var (
	defaulterType     = reflect.TypeFor[defaulter]()
	scalarDecoderType = reflect.TypeFor[scalarDecoder]()
)

type decoder struct {
	*problems
	values int // visited so far, against maxValues
}

// decode sets v, a settable value, from n; path names v in problems.
func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) {
	if d.values++; d.values > maxValues {
		if d.values == maxValues+1 {
			d.badf(path, Pos{n.Line, n.Column}, "the spec holds more than %d values (aliases repeated in aliases?); the rest is not read", maxValues)
		}
		return
	}
	n, ok := d.resolve(n, path)
	if !ok {
		return
	}
	at := Pos{n.Line, n.Column}
	if v.CanAddr() && v.Addr().Type().Implements(scalarDecoderType) {
		if isNull(n) {
			return
		}
		if n.Kind != yaml.ScalarNode {
			d.badf(path, at, "expected a single value, got %s", describe(n))
			return
		}
		if err := v.Addr().Interface().(scalarDecoder).decodeScalar(n); err != nil {
			d.badf(path, at, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) && v.Type().Elem().Kind() != reflect.Struct {
			return // an explicit null leaves an optional number unset
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, path, v.Elem())
	case reflect.Struct:
		d.decodeStruct(n, path, v)
	case reflect.Slice:
		d.decodeSlice(n, path, v)
	case reflect.Map:
		d.decodeMap(n, path, v)
	default:
		d.decodeScalar(n, path, v)
	}
}

// resolve follows aliases to the node they name.
func (d *decoder) resolve(n *yaml.Node, path string) (*yaml.Node, bool) {
	for i := 0; n.Kind == yaml.AliasNode; i++ {
		if i == maxAliasDepth || n.Alias == nil {
			d.badf(path, Pos{n.Line, n.Column}, "alias *%s cannot be followed", n.Value)
			return nil, false
		}
		n = n.Alias
	}
	return n, true
}

func (d *decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	if v.CanAddr() && v.Addr().Type().Implements(defaulterType) {
		v.Addr().Interface().(defaulter).setDefaults()
	}
	if isNull(n) {
		return // `section:` with nothing under it: the defaults
	}
	if n.Kind != yaml.MappingNode {
		d.badf(path, Pos{n.Line, n.Column}, "expected a mapping of fields, got %s", describe(n))
		return
	}
	fields := structFields(v.Type())
	seen := make(map[string]int)
	var meant []string // fields that unknown keys are likely typos of
	defer func() {
		for _, f := range meant {
			if _, ok := seen[f]; !ok {
				d.bad[join(path, f)] = true // "required" would only repeat the typo
			}
		}
	}()
	for _, kv := range d.pairs(n, path, 0) {
		key, val := kv[0], kv[1]
		name := key.Value
		fpath := join(path, name)
		at := Pos{key.Line, key.Column}
		if key.Kind != yaml.ScalarNode {
			d.badf(path, at, "a key must be a plain name, got %s", describe(key))
			continue
		}
		if first, dup := seen[name]; dup {
			d.badf(fpath, at, "given twice (first on line %d)", first)
			continue
		}
		seen[name] = key.Line
		i, ok := fields.index[name]
		if !ok && path == "" && strings.HasPrefix(name, "x-") {
			continue // a top-level x- key is a place for anchors, as in Compose files
		}
		if !ok {
			d.badf(fpath, at, "unknown field%s", d.unknownHint(name, fields.names))
			if c := closest(name, fields.names); len(c) > 0 {
				meant = append(meant, c[0])
			}
			continue
		}
		d.pos[fpath] = at
		d.decode(val, fpath, v.Field(i))
	}
}

// unknownHint suggests the nearest known field, or lists them all.
func (d *decoder) unknownHint(name string, known []string) string {
	if s := suggest(name, known); s != "" {
		return s
	}
	return "; known fields: " + strings.Join(known, ", ")
}

// pairs lists a mapping's key/value nodes, with YAML merge keys (<<)
// expanded: keys written in the mapping win over merged ones.
func (d *decoder) pairs(n *yaml.Node, path string, depth int) [][2]*yaml.Node {
	var own, merged [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if key.Kind != yaml.ScalarNode || key.Value != "<<" || key.ShortTag() != "!!merge" {
			own = append(own, [2]*yaml.Node{key, val})
			continue
		}
		if depth >= maxAliasDepth {
			d.badf(path, Pos{key.Line, key.Column}, "merges nest too deep")
			continue
		}
		srcs := []*yaml.Node{val}
		if r, ok := d.resolve(val, path); ok && r.Kind == yaml.SequenceNode {
			srcs = r.Content
		}
		for _, src := range srcs {
			if d.values++; d.values > maxValues {
				d.badf(path, Pos{key.Line, key.Column}, "merges hold more than %d values; the rest is not read", maxValues)
				return own
			}
			r, ok := d.resolve(src, path)
			if !ok {
				continue
			}
			if r.Kind != yaml.MappingNode {
				d.badf(path, Pos{key.Line, key.Column}, "<< merges a mapping, got %s", describe(r))
				continue
			}
			merged = append(merged, d.pairs(r, path, depth+1)...)
		}
	}
	written := make(map[string]bool, len(own))
	for _, kv := range own {
		written[kv[0].Value] = true
	}
	for _, kv := range merged {
		if !written[kv[0].Value] {
			written[kv[0].Value] = true
			own = append(own, kv)
		}
	}
	return own
}

func (d *decoder) decodeSlice(n *yaml.Node, path string, v reflect.Value) {
	if isNull(n) {
		return
	}
	at := Pos{n.Line, n.Column}
	if n.Kind != yaml.SequenceNode {
		d.badf(path, at, "expected a list, got %s", describe(n))
		return
	}
	if len(n.Content) > maxItems {
		d.badf(path, at, "%d items; the most is %d", len(n.Content), maxItems)
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		d.pos[ipath] = Pos{item.Line, item.Column}
		d.decode(item, ipath, s.Index(i))
	}
	v.Set(s)
}

// decodeMap takes a free-form mapping (gates) as yaml.v3 decodes it.
func (d *decoder) decodeMap(n *yaml.Node, path string, v reflect.Value) {
	if isNull(n) {
		return
	}
	at := Pos{n.Line, n.Column}
	if n.Kind != yaml.MappingNode {
		d.badf(path, at, "expected a mapping, got %s", describe(n))
		return
	}
	m := reflect.New(v.Type())
	if err := n.Decode(m.Interface()); err != nil {
		d.badf(path, at, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return
	}
	v.Set(m.Elem())
}

func (d *decoder) decodeScalar(n *yaml.Node, path string, v reflect.Value) {
	at := Pos{n.Line, n.Column}
	if isNull(n) {
		return
	}
	if n.Kind != yaml.ScalarNode {
		d.badf(path, at, "expected a single value, got %s", describe(n))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value) // 2.1 and 2 are versions here, not numbers
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.ShortTag() != "!!bool" || err != nil {
			d.badf(path, at, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, 64)
		if !isNumberTag(n) || err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			hint := ""
			if strings.HasSuffix(n.Value, "%") {
				hint = " (write it without %: a condition is in the metric's own unit, percent for rates)"
			}
			d.badf(path, at, "expected a number, got %s%s", describe(n), hint)
			return
		}
		v.SetFloat(f)
	case reflect.Int:
		i, err := strconv.ParseInt(n.Value, 10, 32)
		if n.ShortTag() != "!!int" || err != nil {
			d.badf(path, at, "expected a whole number, got %s", describe(n))
			return
		}
		v.SetInt(i)
	default:
		panic(fmt.Sprintf("spec: no decoding for %s", v.Type())) // a field type this file does not know
	}
}

// fieldTable maps the YAML names of a struct's fields to their indexes.
type fieldTable struct {
	index map[string]int
	names []string // in declaration order, for hints
}

func structFields(t reflect.Type) fieldTable {
	ft := fieldTable{index: make(map[string]int)}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		ft.index[name] = i
		ft.names = append(ft.names, name)
	}
	return ft
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a node's kind and value for an error message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	switch n.ShortTag() {
	case "!!null":
		return "nothing"
	case "!!str":
		return strconv.Quote(v)
	}
	return v
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxErrors turns yaml.v3's error into problems with lines.
func syntaxErrors(err error) Errors {
	var out Errors
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, m := range msgs {
		fe := FieldError{Msg: strings.TrimPrefix(m, "yaml: ")}
		if sub := yamlLineRE.FindStringSubmatch(m); sub != nil {
			fe.Line, _ = strconv.Atoi(sub[1])
			fe.Msg = sub[2]
		} else if l, rest, ok := strings.Cut(fe.Msg, ": "); ok && strings.HasPrefix(l, "line ") {
			fe.Line, _ = strconv.Atoi(strings.TrimPrefix(l, "line "))
			fe.Msg = rest
		}
		fe.Msg = "YAML: " + fe.Msg
		out = append(out, fe)
	}
	return out
}
