package dataset

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/internal/runtime"
)

// Decode parses the chunk's rows into a Batch. It may run concurrently
// with Decode of other chunks and with the Reader reading on.
func (c *Chunk) Decode() (*Batch, error) {
	p, n := c.plan, len(c.recs)
	b := &Batch{Inputs: p.newTensors(n), Rows: n, First: c.First, Lines: make([]int, n), End: c.End}
	if p.label >= 0 {
		b.Labels = make([]float64, n)
	}
	if p.group >= 0 {
		b.Groups = make([]string, n)
	}
	if p.id >= 0 {
		b.IDs = make([]string, n)
	}
	var fields [][]byte
	for i, rec := range c.recs {
		b.Lines[i] = rec.line
		raw := c.data[rec.start:rec.end]
		var err error
		if c.format == JSONL {
			err = p.decodeObject(b, i, raw, rec.line)
		} else {
			if fields, err = p.splitCSV(fields[:0], raw, rec.line); err == nil {
				err = p.decodeFields(b, i, fields, rec.line)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// splitCSV splits one record into fields, the quick way when it has no
// quotes.
func (p *plan) splitCSV(dst [][]byte, raw []byte, line int) ([][]byte, error) {
	if bytes.IndexByte(raw, '"') < 0 {
		for {
			i := bytes.IndexByte(raw, ',')
			if i < 0 {
				dst = append(dst, raw)
				break
			}
			dst = append(dst, raw[:i])
			raw = raw[i+1:]
		}
	} else {
		cr := csv.NewReader(bytes.NewReader(raw))
		cr.FieldsPerRecord = -1
		rec, err := cr.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, errorf(p.file, line+pe.Line-1, "", "%v", pe.Err)
			}
			return nil, errorf(p.file, line, "", "%v", err)
		}
		for _, f := range rec {
			dst = append(dst, []byte(f))
		}
	}
	if len(dst) != len(p.header) {
		return nil, errorf(p.file, line, "", "%d fields, but the header has %d columns", len(dst), len(p.header))
	}
	return dst, nil
}

func (p *plan) decodeFields(b *Batch, row int, fields [][]byte, line int) error {
	for c, f := range fields {
		if t := p.target[c]; t.tensor >= 0 {
			if err := p.put(b.Inputs[t.tensor], t, row, f, line, c); err != nil {
				return err
			}
			continue
		}
		if c == p.label || c == p.group || c == p.id {
			if err := p.putExtra(b, row, c, string(f), line); err != nil {
				return err
			}
		}
	}
	return nil
}

// putExtra stores column c's cell if it is the label, group or id.
func (p *plan) putExtra(b *Batch, row, c int, s string, line int) error {
	switch c {
	case p.label:
		v, err := p.kind.ParseLabel(s)
		if err != nil {
			return errorf(p.file, line, p.header[c], "%v", err)
		}
		b.Labels[row] = v
	case p.group:
		b.Groups[row] = strings.TrimSpace(s)
	case p.id:
		b.IDs[row] = strings.TrimSpace(s)
	}
	return nil
}

// put parses one input cell into element row*width+offset of tensor t.
// The cell stays a byte slice: converting it to a string only for the
// parse lets the compiler keep the copy off the heap.
func (p *plan) put(t runtime.Tensor, tg target, row int, cell []byte, line, col int) error {
	cell = bytes.TrimSpace(cell)
	i := row*p.tensors[tg.tensor].width + tg.offset
	missing := isMissingBytes(cell)
	if missing && (t.Datatype == runtime.INT32 || t.Datatype == runtime.INT64) {
		return errorf(p.file, line, p.header[col], "value is missing, but input %q holds integers", t.Name)
	}
	switch d := t.Data.(type) {
	case []float32:
		if missing {
			d[i] = float32(math.NaN())
			return nil
		}
		v, err := strconv.ParseFloat(string(cell), 32)
		if err != nil && !isRange(err) {
			return p.notNumber(cell, line, col)
		}
		d[i] = float32(v)
	case []float64:
		if missing {
			d[i] = math.NaN()
			return nil
		}
		v, err := strconv.ParseFloat(string(cell), 64)
		if err != nil && !isRange(err) {
			return p.notNumber(cell, line, col)
		}
		d[i] = v
	case []int32:
		v, err := strconv.ParseInt(string(cell), 10, 32)
		if err != nil {
			return errorf(p.file, line, p.header[col], "%q is not an integer that fits input %q (INT32)", cell, t.Name)
		}
		d[i] = int32(v)
	case []int64:
		v, err := strconv.ParseInt(string(cell), 10, 64)
		if err != nil {
			return errorf(p.file, line, p.header[col], "%q is not an integer that fits input %q (INT64)", cell, t.Name)
		}
		d[i] = v
	}
	return nil
}

func (p *plan) notNumber(cell []byte, line, col int) error {
	return errorf(p.file, line, p.header[col], "%q is not a number", cell)
}

// isMissingBytes is isMissing without converting the cell.
func isMissingBytes(b []byte) bool {
	switch len(b) {
	case 0:
		return true
	case 2, 3, 4:
		return isMissing(string(b))
	}
	return false
}

// isRange reports an out-of-range number, which ParseFloat returns as
// ±Inf; that is a value, not a syntax error.
func isRange(err error) bool { return errors.Is(err, strconv.ErrRange) }
