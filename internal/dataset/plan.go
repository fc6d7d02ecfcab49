package dataset

import (
	"fmt"
	"slices"
	"strings"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// plan is how one file's columns fill one signature's tensors, worked out
// once from the header.
type plan struct {
	file    string
	header  []string
	index   map[string]int // column name → position in header
	tensors []tensorPlan
	// target[c] is where column c's values go; tensor -1 for a column
	// that is not an input.
	target []target
	// label, group and id are column positions, -1 when not used.
	label, group, id int
	kind             LabelKind
	// ignored holds the Options.Ignore names.
	ignored map[string]bool
	// arrayKey is the JSON Lines key holding the whole matrix input as an
	// array, or "" when the matrix comes from separate keys.
	arrayKey string
}

// tensorPlan is one input tensor to fill.
type tensorPlan struct {
	name     string
	datatype string
	width    int // values per row
	matrix   bool
}

// target places a column's value: element row*width+offset of tensor.
type target struct {
	tensor int
	offset int
}

// newPlan maps header onto sig's inputs and opt's extra columns.
func newPlan(file string, header []string, sig slipway.Signature, opt Options) (*plan, error) {
	p := &plan{file: file, header: header, index: map[string]int{}, label: -1, group: -1, id: -1, kind: opt.LabelKind}
	for i, h := range header {
		if h == "" {
			return nil, errorf(file, 1, "", "column %d has no name", i+1)
		}
		if j, dup := p.index[h]; dup {
			return nil, errorf(file, 1, h, "appears twice (columns %d and %d)", j+1, i+1)
		}
		p.index[h] = i
	}
	p.target = make([]target, len(header))
	for i := range p.target {
		p.target[i].tensor = -1
	}
	extra := map[string]bool{}
	for _, x := range []struct {
		role, name string
		pos        *int
	}{{"label", opt.Label, &p.label}, {"group", opt.Group, &p.group}, {"id", opt.ID, &p.id}} {
		if x.name == "" {
			continue
		}
		i, ok := p.index[x.name]
		if !ok {
			return nil, errorf(file, 1, "", "no %s column %q (columns: %s)", x.role, x.name, strings.Join(header, ", "))
		}
		*x.pos = i
		extra[x.name] = true
	}
	p.ignored = map[string]bool{}
	for _, name := range opt.Ignore {
		extra[name] = true
		p.ignored[name] = true
	}
	if len(sig.Inputs) == 0 {
		return nil, errorf(file, 0, "", "the model's signature names no inputs, so columns cannot be mapped to it")
	}
	if perFeature(sig.Inputs) {
		return p, p.mapFeatures(sig.Inputs, extra)
	}
	if len(sig.Inputs) == 1 && len(sig.Inputs[0].Shape) == 2 {
		return p, p.mapMatrix(sig.Inputs[0], extra)
	}
	return nil, errorf(file, 0, "", "the model's inputs (%s) are not one tensor per column nor one [rows, k] matrix, so a table cannot fill them", specList(sig.Inputs))
}

// perFeature reports inputs that are all one value per row.
func perFeature(inputs []slipway.TensorSpec) bool {
	for _, in := range inputs {
		switch {
		case len(in.Shape) == 1:
		case len(in.Shape) == 2 && in.Shape[1] == 1:
		default:
			return false
		}
	}
	return true
}

func (p *plan) mapFeatures(inputs []slipway.TensorSpec, extra map[string]bool) error {
	var missing []string
	want := map[string]bool{}
	for t, in := range inputs {
		dt, err := datatype(p.file, in)
		if err != nil {
			return err
		}
		p.tensors = append(p.tensors, tensorPlan{name: in.Name, datatype: dt, width: 1})
		want[in.Name] = true
		c, ok := p.index[in.Name]
		if !ok {
			missing = append(missing, in.Name)
			continue
		}
		if extra[in.Name] {
			return errorf(p.file, 1, in.Name, "is a model input but also named as a label, group, id or ignored column")
		}
		p.target[c] = target{tensor: t}
	}
	if len(missing) > 0 {
		return errorf(p.file, 1, "", "missing input columns: %s (the model wants %s)", strings.Join(missing, ", "), specList(inputs))
	}
	var unexpected []string
	for _, h := range p.header {
		if !want[h] && !extra[h] {
			unexpected = append(unexpected, h)
		}
	}
	if len(unexpected) > 0 {
		return errorf(p.file, 1, "", "unexpected columns: %s: they are not inputs of the model (%s); name them as the label, group or id column or ignore them", strings.Join(unexpected, ", "), specList(inputs))
	}
	return nil
}

func (p *plan) mapMatrix(in slipway.TensorSpec, extra map[string]bool) error {
	dt, err := datatype(p.file, in)
	if err != nil {
		return err
	}
	var use []int
	for c, h := range p.header {
		if !extra[h] {
			use = append(use, c)
		}
	}
	k := int(in.Shape[1])
	if len(use) == 1 && p.header[use[0]] == in.Name {
		// JSON Lines may carry the whole row as one array; its width is
		// checked row by row.
		p.arrayKey = in.Name
		if k < 0 {
			return errorf(p.file, 1, in.Name, "input %q has a free width [rows, -1], so an array's length cannot be checked", in.Name)
		}
		p.tensors = []tensorPlan{{name: in.Name, datatype: dt, width: k, matrix: true}}
		return nil
	}
	if k < 0 {
		k = len(use)
	}
	if len(use) != k {
		names := make([]string, len(use))
		for i, c := range use {
			names[i] = p.header[c]
		}
		return errorf(p.file, 1, "", "%d columns left for input %q, which takes %d values per row (left: %s); name the label, group or id column or ignore the others",
			len(use), in.Name, k, abbreviate(names, 12))
	}
	p.tensors = []tensorPlan{{name: in.Name, datatype: dt, width: k, matrix: true}}
	for j, c := range use {
		p.target[c] = target{tensor: 0, offset: j}
	}
	return nil
}

// datatype is the datatype a tensor gets filled as; tables hold numbers,
// so only numeric inputs are possible.
func datatype(file string, in slipway.TensorSpec) (string, error) {
	switch in.Datatype {
	case "":
		return runtime.FP32, nil
	case runtime.FP32, runtime.FP64, runtime.INT32, runtime.INT64:
		return in.Datatype, nil
	}
	return "", errorf(file, 0, "", "input %q has datatype %s; a table fills FP32, FP64, INT32 or INT64 inputs", in.Name, in.Datatype)
}

// tensors allocates the input tensors for rows rows.
func (p *plan) newTensors(rows int) []runtime.Tensor {
	out := make([]runtime.Tensor, len(p.tensors))
	for i, t := range p.tensors {
		n := rows * t.width
		shape := []int64{int64(rows)}
		if t.matrix {
			shape = append(shape, int64(t.width))
		}
		var data any
		switch t.datatype {
		case runtime.FP64:
			data = make([]float64, n)
		case runtime.INT32:
			data = make([]int32, n)
		case runtime.INT64:
			data = make([]int64, n)
		default:
			data = make([]float32, n)
		}
		out[i] = runtime.Tensor{Name: t.name, Datatype: t.datatype, Shape: shape, Data: data}
	}
	return out
}

func specList(specs []slipway.TensorSpec) string {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	return abbreviate(names, 12)
}

// abbreviate joins names, eliding the middle of a long list.
func abbreviate(names []string, keep int) string {
	if len(names) <= keep {
		return strings.Join(names, ", ")
	}
	head := slices.Clone(names[:keep-2])
	return fmt.Sprintf("%s, … (%d more) …, %s", strings.Join(head, ", "), len(names)-keep+1, names[len(names)-1])
}
