package batch

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/dataset"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// layout is how scored rows are written: a CSV or JSON Lines row per
// input row with the input's line number, its id when there is an id
// column, every output of the model (a column per value, name_0 …
// name_{k-1} for an output of width k) and, for a model with a single
// multi-valued output such as class probabilities, the arg-max as label.
type layout struct {
	format dataset.Format // CSV or JSONL
	id     string         // the id column's name, "" for none
}

// String describes the layout for the checkpoint, so a resume that would
// change it is refused.
func (l layout) String() string { return l.format.String() + " id=" + l.id }

// width is the number of values per row of t.
func width(t runtime.Tensor) int {
	if len(t.Shape) < 2 {
		return 1
	}
	w := 1
	for _, d := range t.Shape[1:] {
		w *= int(d)
	}
	return w
}

// withLabel reports outputs that get an arg-max label column.
func withLabel(outs []runtime.Tensor) bool { return len(outs) == 1 && width(outs[0]) > 1 }

// header is the CSV header row; JSON Lines has none.
func (l layout) header(outs []runtime.Tensor) []byte {
	if l.format == dataset.JSONL {
		return nil
	}
	cols := []string{"line"}
	if l.id != "" {
		cols = append(cols, csvField(l.id))
	}
	for _, o := range outs {
		w := width(o)
		if w == 1 {
			cols = append(cols, csvField(o.Name))
			continue
		}
		for k := range w {
			cols = append(cols, csvField(fmt.Sprintf("%s_%d", o.Name, k)))
		}
	}
	if withLabel(outs) {
		cols = append(cols, "label")
	}
	return []byte(strings.Join(cols, ",") + "\n")
}

// rows appends b's scored rows to dst.
func (l layout) rows(dst []byte, b *dataset.Batch, outs []runtime.Tensor) ([]byte, error) {
	for _, o := range outs {
		if o.Rows() != b.Rows || o.Len() != b.Rows*width(o) {
			return nil, fmt.Errorf("lines %d-%d: output %q has shape %v for %d rows", b.Lines[0], b.Lines[b.Rows-1], o.Name, o.Shape, b.Rows)
		}
	}
	label := withLabel(outs)
	for i := range b.Rows {
		if l.format == dataset.JSONL {
			dst = l.jsonRow(dst, b, outs, i, label)
		} else {
			dst = l.csvRow(dst, b, outs, i, label)
		}
	}
	return dst, nil
}

func (l layout) csvRow(dst []byte, b *dataset.Batch, outs []runtime.Tensor, i int, label bool) []byte {
	dst = strconv.AppendInt(dst, int64(b.Lines[i]), 10)
	if l.id != "" {
		dst = append(dst, ',')
		dst = append(dst, csvField(b.IDs[i])...)
	}
	for _, o := range outs {
		w := width(o)
		for k := range w {
			dst = append(dst, ',')
			dst = appendValue(dst, o.Data, i*w+k, false)
		}
	}
	if label {
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, int64(argmax(outs[0], i)), 10)
	}
	return append(dst, '\n')
}

func (l layout) jsonRow(dst []byte, b *dataset.Batch, outs []runtime.Tensor, i int, label bool) []byte {
	dst = append(dst, `{"line":`...)
	dst = strconv.AppendInt(dst, int64(b.Lines[i]), 10)
	if l.id != "" {
		dst = append(dst, `,"id":`...)
		dst = strconv.AppendQuote(dst, b.IDs[i])
	}
	for _, o := range outs {
		dst = append(dst, ',')
		dst = strconv.AppendQuote(dst, o.Name)
		dst = append(dst, ':')
		w := width(o)
		if len(o.Shape) >= 2 {
			dst = append(dst, '[')
		}
		for k := range w {
			if k > 0 {
				dst = append(dst, ',')
			}
			dst = appendValue(dst, o.Data, i*w+k, true)
		}
		if len(o.Shape) >= 2 {
			dst = append(dst, ']')
		}
	}
	if label {
		dst = append(dst, `,"label":`...)
		dst = strconv.AppendInt(dst, int64(argmax(outs[0], i)), 10)
	}
	return append(dst, "}\n"...)
}

// appendValue appends element j of data; NaN and infinities are null in
// JSON, which has no spelling for them.
func appendValue(dst []byte, data any, j int, json bool) []byte {
	switch d := data.(type) {
	case []float32:
		return appendFloat(dst, float64(d[j]), 32, json)
	case []float64:
		return appendFloat(dst, d[j], 64, json)
	case []int32:
		return strconv.AppendInt(dst, int64(d[j]), 10)
	case []int64:
		return strconv.AppendInt(dst, d[j], 10)
	case []bool:
		return strconv.AppendBool(dst, d[j])
	case []string:
		if json {
			return strconv.AppendQuote(dst, d[j])
		}
		return append(dst, csvField(d[j])...)
	}
	return dst
}

func appendFloat(dst []byte, v float64, bits int, json bool) []byte {
	if json && (math.IsNaN(v) || math.IsInf(v, 0)) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, bits)
}

// value is element j of a numeric tensor's data as float64; NaN for
// other datatypes.
func value(data any, j int) float64 {
	switch d := data.(type) {
	case []float32:
		return float64(d[j])
	case []float64:
		return d[j]
	case []int32:
		return float64(d[j])
	case []int64:
		return float64(d[j])
	case []bool:
		if d[j] {
			return 1
		}
		return 0
	}
	return math.NaN()
}

// argmax is the index of row i's largest value in t (the first of ties).
func argmax(t runtime.Tensor, i int) int {
	w := width(t)
	best, at := math.Inf(-1), 0
	for k := range w {
		if v := value(t.Data, i*w+k); v > best {
			best, at = v, k
		}
	}
	return at
}

// csvField quotes s when CSV needs it.
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
