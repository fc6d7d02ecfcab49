package gate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/dataset"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// Columns says which holdout columns are not model inputs and what the
// labels must be.
type Columns struct {
	// Label names the truth column. Required.
	Label string
	// Group names the fairness groups' column; "" means none.
	Group string
	// Ignore lists further columns that are not inputs.
	Ignore []string
	// Kind is what each label must be; the zero value takes any number.
	Kind dataset.LabelKind
}

// Source reads the holdout mapped onto one version's inputs.
type Source func(ctx context.Context, sig slipway.Signature, cols Columns) (*Table, error)

// File is the Source of a CSV or JSON Lines file, read with the dataset
// package (its errors name the file, line and column).
func File(path string) Source {
	return func(ctx context.Context, sig slipway.Signature, cols Columns) (*Table, error) {
		r, err := dataset.Open(path, sig, dataset.Options{Label: cols.Label, LabelKind: cols.Kind, Group: cols.Group, Ignore: cols.Ignore})
		if err != nil {
			return nil, err
		}
		defer r.Close()
		t := &Table{File: path}
		for {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			b, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, err
			}
			t.append(b)
		}
		if t.Rows == 0 {
			return nil, &dataset.Error{File: path, Msg: "no rows after the header: a gate needs labelled rows"}
		}
		return t, nil
	}
}

// append adds a batch's rows to t.
func (t *Table) append(b *dataset.Batch) {
	if t.Inputs == nil {
		t.Inputs = make([]runtime.Tensor, len(b.Inputs))
		for i, in := range b.Inputs {
			t.Inputs[i] = runtime.Tensor{Name: in.Name, Datatype: in.Datatype, Shape: slices.Clone(in.Shape)}
			t.Inputs[i].Shape[0] = 0
		}
	}
	for i, in := range b.Inputs {
		t.Inputs[i].Data = concat(t.Inputs[i].Data, in.Data)
		t.Inputs[i].Shape[0] += int64(b.Rows)
	}
	t.Rows += b.Rows
	t.Labels = append(t.Labels, b.Labels...)
	t.Groups = append(t.Groups, b.Groups...)
	t.Lines = append(t.Lines, b.Lines...)
}

func concat(dst, src any) any {
	switch s := src.(type) {
	case []float32:
		d, _ := dst.([]float32)
		return append(d, s...)
	case []float64:
		d, _ := dst.([]float64)
		return append(d, s...)
	case []int32:
		d, _ := dst.([]int32)
		return append(d, s...)
	case []int64:
		d, _ := dst.([]int64)
		return append(d, s...)
	case []bool:
		d, _ := dst.([]bool)
		return append(d, s...)
	case []string:
		d, _ := dst.([]string)
		return append(d, s...)
	}
	panic(fmt.Sprintf("gate: tensor data of type %T", src))
}
