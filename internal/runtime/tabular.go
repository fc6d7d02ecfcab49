package runtime

import (
	"strings"

	"github.com/slipway-ml/slipway"
)

// Features gathers a batch of feature rows for a tabular model with nfeat
// features, in the order of sig's inputs. It accepts the two layouts
// clients send:
//   - one tensor of shape [rows, nfeat] (any name when the signature has
//     several per-feature inputs, else the signature's input name);
//   - one tensor per feature, named as in sig, each of shape [rows] or
//     [rows, 1].
//
// Numeric datatypes are converted to float32; NaN means missing, which
// tree models route by their default branches. buf is reused when large
// enough.
func Features(inputs []Tensor, sig slipway.Signature, nfeat int, buf []float32) ([]float32, int, error) {
	if len(inputs) == 0 {
		return nil, 0, inputErr("", "no inputs")
	}
	if len(inputs) == 1 && len(inputs[0].Shape) == 2 && (len(sig.Inputs) != 1 || sig.Inputs[0].Name == inputs[0].Name) {
		return matrix(inputs[0], nfeat, buf)
	}
	if len(inputs) == 1 && len(sig.Inputs) == 1 {
		return matrix(inputs[0], nfeat, buf)
	}
	return columns(inputs, sig, nfeat, buf)
}

func matrix(t Tensor, nfeat int, buf []float32) ([]float32, int, error) {
	if len(t.Shape) != 2 || t.Shape[1] != int64(nfeat) || t.Shape[0] < 0 {
		return nil, 0, inputErr(t.Name, "shape %v: want [rows, %d]", t.Shape, nfeat)
	}
	rows := int(t.Shape[0])
	out := grow(buf, rows*nfeat)
	if err := copyFloat32(out, t); err != nil {
		return nil, 0, err
	}
	return out, rows, nil
}

func columns(inputs []Tensor, sig slipway.Signature, nfeat int, buf []float32) ([]float32, int, error) {
	if len(sig.Inputs) != nfeat {
		return nil, 0, inputErr("", "send one tensor of shape [rows, %d]; this version's signature does not name %d features", nfeat, nfeat)
	}
	if len(inputs) != nfeat {
		return nil, 0, inputErr("", "got %d tensors, want one per feature: %s", len(inputs), names(sig.Inputs))
	}
	rows := inputs[0].Rows()
	out := grow(buf, rows*nfeat)
	col := make([]float32, 0, rows)
	for j, spec := range sig.Inputs {
		t, ok := find(inputs, spec.Name)
		if !ok {
			return nil, 0, inputErr(spec.Name, "missing; want one tensor per feature: %s", names(sig.Inputs))
		}
		if t.Rows() != rows || !(len(t.Shape) == 1 || (len(t.Shape) == 2 && t.Shape[1] == 1)) {
			return nil, 0, inputErr(t.Name, "shape %v: want [%d] like the other features", t.Shape, rows)
		}
		col = col[:rows]
		if err := copyFloat32(col, t); err != nil {
			return nil, 0, err
		}
		for i, v := range col {
			out[i*nfeat+j] = v
		}
	}
	return out, rows, nil
}

func find(ts []Tensor, name string) (Tensor, bool) {
	for _, t := range ts {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor{}, false
}

func names(specs []slipway.TensorSpec) string {
	s := make([]string, len(specs))
	for i, t := range specs {
		s[i] = t.Name
	}
	return strings.Join(s, ", ")
}

func grow(buf []float32, n int) []float32 {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]float32, n)
}

// copyFloat32 converts t's numeric data into dst, which has exactly as
// many elements as t should.
func copyFloat32(dst []float32, t Tensor) error {
	n := len(dst)
	bad := func(got int) error {
		return inputErr(t.Name, "shape %v holds %d values but data has %d", t.Shape, n, got)
	}
	switch d := t.Data.(type) {
	case []float32:
		if len(d) != n {
			return bad(len(d))
		}
		copy(dst, d)
	case []float64:
		if len(d) != n {
			return bad(len(d))
		}
		for i, v := range d {
			dst[i] = float32(v)
		}
	case []int32:
		if len(d) != n {
			return bad(len(d))
		}
		for i, v := range d {
			dst[i] = float32(v)
		}
	case []int64:
		if len(d) != n {
			return bad(len(d))
		}
		for i, v := range d {
			dst[i] = float32(v)
		}
	case []bool:
		if len(d) != n {
			return bad(len(d))
		}
		for i, v := range d {
			dst[i] = 0
			if v {
				dst[i] = 1
			}
		}
	default:
		return inputErr(t.Name, "datatype %s: want a numeric datatype (FP32, FP64, INT32, INT64, BOOL)", t.Datatype)
	}
	return nil
}
