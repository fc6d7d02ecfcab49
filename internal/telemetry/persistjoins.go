package telemetry

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// The predictions waiting for feedback, as Save writes them: a full join
// table is 100,000 of them, written every minute beside the traffic, so
// they go out row by row as compact arrays, one join shard at a time,
// without a copy of the table in memory:
//
//	{"rows": [[label, "id", at, kind, score, class], [... , [probabilities]], ...],
//	 "labels": [["model", "version", "segment"], ...]}
//
// where label indexes labels, at is Unix nanoseconds, and kind a predKind;
// a row of class probabilities has them last.
type savedJoins struct {
	// Rows are read by parseRows: encoding/json would take ten times the
	// time and memory for a full table of arrays of mixed types.
	Rows   json.RawMessage `json:"rows"`
	Labels [][3]string     `json:"labels"`
}

// pendingRow is one row of savedJoins.
type pendingRow struct {
	Label int32
	ID    string
	At    int64
	Kind  predKind
	Score float64
	Class int
	Probs []float64
}

// rowParser reads the rows writeRows wrote: JSON, in that one shape. It
// keeps the first error and reads nothing after it, so that a row reads
// as a plain sequence of steps.
type rowParser struct {
	b   []byte
	pos int
	err error
}

func (p *rowParser) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// parseRows reads savedJoins.Rows.
func parseRows(b []byte) ([]pendingRow, error) {
	p := rowParser{b: b}
	if p.expect('['); p.err != nil {
		return nil, p.err
	}
	var rows []pendingRow
	if p.peek() == ']' {
		p.pos++
		return rows, p.end()
	}
	for {
		var r pendingRow
		if p.row(&r); p.err != nil {
			return nil, fmt.Errorf("pending prediction %d: %w", len(rows), p.err)
		}
		rows = append(rows, r)
		switch c := p.next(); c {
		case ',':
		case ']':
			return rows, p.end()
		default:
			return nil, fmt.Errorf("pending prediction %d: %q after it, want , or ]", len(rows)-1, c)
		}
	}
}

// row reads [label, "id", at, kind, score, class] or, with class
// probabilities, [label, "id", at, kind, score, class, [p, ...]].
func (p *rowParser) row(r *pendingRow) {
	p.expect('[')
	r.Label = int32(p.int(32))
	p.expect(',')
	r.ID = p.str()
	p.expect(',')
	r.At = p.int(64)
	p.expect(',')
	r.Kind = predKind(p.int(8))
	p.expect(',')
	r.Score = p.float()
	p.expect(',')
	r.Class = int(p.int(64))
	if p.err == nil && p.peek() == ',' { // class probabilities
		p.pos++
		p.expect('[')
		for p.err == nil {
			r.Probs = append(r.Probs, p.float())
			if c := p.next(); c == ']' {
				break
			} else if c != ',' {
				p.fail(fmt.Errorf("%q in the class probabilities", c))
			}
		}
	}
	p.expect(']')
}

func (p *rowParser) space() {
	for p.pos < len(p.b) && (p.b[p.pos] == ' ' || p.b[p.pos] == '\n' || p.b[p.pos] == '\t' || p.b[p.pos] == '\r') {
		p.pos++
	}
}

func (p *rowParser) peek() byte {
	p.space()
	if p.pos == len(p.b) {
		return 0
	}
	return p.b[p.pos]
}

func (p *rowParser) next() byte {
	c := p.peek()
	if p.pos < len(p.b) {
		p.pos++
	}
	return c
}

func (p *rowParser) expect(want byte) {
	if p.err != nil {
		return
	}
	if c := p.next(); c != want {
		p.fail(fmt.Errorf("%q where %q belongs", c, want))
	}
}

func (p *rowParser) end() error {
	if p.space(); p.pos != len(p.b) {
		return fmt.Errorf("%d bytes after the last pending prediction", len(p.b)-p.pos)
	}
	return nil
}

// number returns the next number's text.
func (p *rowParser) number() string {
	p.space()
	start := p.pos
	for p.pos < len(p.b) && strings.IndexByte("+-.0123456789eE", p.b[p.pos]) >= 0 {
		p.pos++
	}
	return string(p.b[start:p.pos])
}

func (p *rowParser) int(bits int) int64 {
	if p.err != nil {
		return 0
	}
	v, err := strconv.ParseInt(p.number(), 10, bits)
	p.fail(err)
	return v
}

func (p *rowParser) float() float64 {
	if p.err != nil {
		return 0
	}
	v, err := strconv.ParseFloat(p.number(), 64)
	p.fail(err)
	return v
}

// str reads a string: as it is, or through encoding/json when it has
// escapes.
func (p *rowParser) str() string {
	if p.expect('"'); p.err != nil {
		return ""
	}
	start, escaped := p.pos, false
	for ; p.pos < len(p.b) && p.b[p.pos] != '"'; p.pos++ {
		if p.b[p.pos] == '\\' {
			escaped = true
			p.pos++ // the escaped byte cannot end the string
		}
	}
	if p.pos >= len(p.b) {
		p.fail(errors.New("a string without its end"))
		return ""
	}
	p.pos++
	if !escaped {
		return string(p.b[start : p.pos-1])
	}
	var s string
	p.fail(json.Unmarshal(p.b[start-1:p.pos], &s))
	return s
}

// writeRows writes the rows of every live prediction to w, shard by
// shard, and returns the labels they index. Predictions holding a number
// that is not finite are skipped (JSON has none).
func (t *joinTable) writeRows(w *bufio.Writer, st *SaveStats) [][3]string {
	index := map[labelSet]int32{}
	var labels [][3]string
	var buf []byte
	for i := range t.shards {
		sh := &t.shards[i]
		buf = buf[:0]
		sh.mu.Lock()
		for pos := range sh.slots {
			p := &sh.slots[pos]
			if !p.live {
				continue
			}
			var probs []float64
			finite := !math.IsNaN(p.score) && !math.IsInf(p.score, 0)
			if p.kind == predProbs {
				probs = sh.probs[pos]
				for _, v := range probs {
					finite = finite && !math.IsNaN(v) && !math.IsInf(v, 0)
				}
			}
			if !finite {
				st.Skipped++
				continue
			}
			ls := sh.labels[p.labels]
			li, ok := index[ls]
			if !ok {
				li = int32(len(labels))
				index[ls] = li
				labels = append(labels, [3]string{ls.model, ls.version, ls.segment})
			}
			if st.Pending > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '[')
			buf = strconv.AppendInt(buf, int64(li), 10)
			buf = append(buf, ',')
			if p.idLen == longID {
				buf = appendJSONString(buf, []byte(sh.long[int32(pos)]))
			} else {
				buf = appendJSONString(buf, p.id[:p.idLen])
			}
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, p.at, 10)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, int64(p.kind), 10)
			buf = append(buf, ',')
			buf = strconv.AppendFloat(buf, p.score, 'g', -1, 64)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, int64(p.class), 10)
			if probs != nil {
				buf = append(buf, ",["...)
				for j, v := range probs {
					if j > 0 {
						buf = append(buf, ',')
					}
					buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
				}
				buf = append(buf, ']')
			}
			buf = append(buf, ']')
			st.Pending++
		}
		sh.mu.Unlock()
		w.Write(buf)
		runtime.Gosched() // see Save
	}
	if labels == nil {
		labels = [][3]string{}
	}
	return labels
}

// appendJSONString appends s as a JSON string: as it is when it is
// printable ASCII without quotes or backslashes, as generated request ids
// are, else through encoding/json.
func appendJSONString(buf, s []byte) []byte {
	for _, c := range s {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			b, _ := json.Marshal(string(s)) // a string always marshals
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// pendingPrediction is one saved prediction, ready to be put back.
type pendingPrediction struct {
	key              joinKey
	version, segment string
	at               int64
	row              rowPrediction
}

// predictions checks the saved rows and returns the predictions, oldest
// first, so that the table evicts them in the order it would have.
func (j *savedJoins) predictions() ([]pendingPrediction, error) {
	if j == nil {
		return nil, nil
	}
	rows, err := parseRows(j.Rows)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	out := make([]pendingPrediction, len(rows))
	for i, r := range rows {
		if r.Label < 0 || int(r.Label) >= len(j.Labels) || r.ID == "" || r.Kind <= predNone || r.Kind > predProbs {
			return nil, fmt.Errorf("telemetry: pending prediction %d (%q) is not one", i, r.ID)
		}
		ls := j.Labels[r.Label]
		if ls[0] == "" || ls[1] == "" {
			return nil, fmt.Errorf("telemetry: pending prediction %d (%q) has no model or version", i, r.ID)
		}
		if r.Kind == predProbs && len(r.Probs) == 0 {
			return nil, fmt.Errorf("telemetry: pending prediction %d (%q) has no class probabilities", i, r.ID)
		}
		id := r.ID
		if len(id) > maxInlineID {
			id = strings.Clone(id)
		}
		p := pendingPrediction{key: joinKey{ls[0], id}, version: ls[1], segment: ls[2], at: r.At,
			row: rowPrediction{kind: r.Kind, score: r.Score, class: r.Class}}
		if r.Kind == predProbs {
			p.row.probs, p.row.k = column{kind: dataF64, f64: r.Probs, n: len(r.Probs)}, len(r.Probs)
		}
		out[i] = p
	}
	slices.SortStableFunc(out, func(a, b pendingPrediction) int { return cmp.Compare(a.at, b.at) })
	return out, nil
}
