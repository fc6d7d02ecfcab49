package dataset

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// peekKeys reads the first JSON object for its keys, in order, and keeps
// the line for the first Read.
func (r *Reader) peekKeys() ([]string, error) {
	for {
		line := r.pos.Line + 1
		before := r.pos.Offset
		rec, err := r.readLine(nil)
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read %s: %w", r.name, err)
		}
		if len(rec) == 0 {
			return nil, errorf(r.name, 0, "", "empty file")
		}
		if isBlank(rec) {
			r.pos.Offset += int64(len(rec))
			r.pos.Line++
			continue
		}
		keys, err := objectKeys(rec[:trimEOL(rec, 0)])
		if err != nil {
			return nil, errorf(r.name, line, "", "%v", err)
		}
		r.pending, r.pos.Offset = rec, before
		return keys, nil
	}
}

// objectKeys lists a JSON object's keys in order.
func objectKeys(raw []byte) ([]string, error) {
	var keys []string
	err := eachMember(raw, func(key string, _ json.RawMessage) error {
		keys = append(keys, key)
		return nil
	})
	return keys, err
}

// eachMember calls fn with each member of the JSON object in raw.
func eachMember(raw []byte, fn func(key string, value json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return fmt.Errorf("want a JSON object on each line")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("bad JSON: %v", err)
		}
		key := tok.(string) // object keys are always strings
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("bad JSON in %q: %v", key, err)
		}
		if err := fn(key, v); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("bad JSON: %v", err)
	}
	if dec.More() {
		return fmt.Errorf("more than one JSON value on the line")
	}
	return nil
}

// decodeObject parses one JSON Lines row. Absent input keys are missing
// values; keys outside the first row's are refused unless ignored.
func (p *plan) decodeObject(b *Batch, row int, raw []byte, line int) error {
	seen := make([]bool, len(p.header))
	err := eachMember(raw, func(key string, v json.RawMessage) error {
		c, ok := p.index[key]
		if !ok {
			if p.ignored[key] {
				return nil
			}
			return errorf(p.file, line, key, "unexpected: not in the first line's columns (%s) nor ignored", abbreviate(p.header, 12))
		}
		if seen[c] {
			return errorf(p.file, line, key, "appears twice")
		}
		seen[c] = true
		return p.decodeValue(b, row, c, v, line)
	})
	if err != nil {
		if _, ok := err.(*Error); ok {
			return err
		}
		return errorf(p.file, line, "", "%v", err)
	}
	for c, ok := range seen {
		if ok {
			continue
		}
		if err := p.decodeValue(b, row, c, json.RawMessage("null"), line); err != nil {
			return err
		}
	}
	return nil
}

// decodeValue stores the value of column c.
func (p *plan) decodeValue(b *Batch, row, c int, v json.RawMessage, line int) error {
	if p.arrayKey != "" && p.header[c] == p.arrayKey {
		return p.decodeArray(b, row, c, v, line)
	}
	t := p.target[c]
	if t.tensor < 0 && c != p.label && c != p.group && c != p.id {
		return nil // an ignored column
	}
	s, err := scalar(v)
	if err != nil {
		return errorf(p.file, line, p.header[c], "%v", err)
	}
	if t.tensor >= 0 {
		return p.put(b.Inputs[t.tensor], t, row, []byte(s), line, c)
	}
	return p.putExtra(b, row, c, s, line)
}

// decodeArray fills a row of the matrix input from a JSON array.
func (p *plan) decodeArray(b *Batch, row, c int, v json.RawMessage, line int) error {
	var vals []json.RawMessage
	if err := json.Unmarshal(v, &vals); err != nil || vals == nil {
		return errorf(p.file, line, p.header[c], "want an array of %d numbers", p.tensors[0].width)
	}
	if len(vals) != p.tensors[0].width {
		return errorf(p.file, line, p.header[c], "array has %d values, input %q takes %d", len(vals), p.tensors[0].name, p.tensors[0].width)
	}
	for j, e := range vals {
		s, err := scalar(e)
		if err != nil {
			return errorf(p.file, line, fmt.Sprintf("%s[%d]", p.header[c], j), "%v", err)
		}
		if err := p.put(b.Inputs[0], target{offset: j}, row, []byte(s), line, c); err != nil {
			if e, ok := err.(*Error); ok {
				e.Column = fmt.Sprintf("%s[%d]", p.header[c], j)
			}
			return err
		}
	}
	return nil
}

// scalar renders a JSON scalar as the text a CSV cell would hold: null
// as empty, booleans as 1 and 0.
func scalar(v json.RawMessage) (string, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "", nil
	}
	switch v[0] {
	case 'n':
		return "", nil
	case 't':
		return "1", nil
	case 'f':
		return "0", nil
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", err
		}
		return s, nil
	case '[', '{':
		return "", fmt.Errorf("%s is not a single value", abbreviateJSON(v))
	}
	if _, err := strconv.ParseFloat(string(v), 64); err != nil && !isRange(err) {
		return "", fmt.Errorf("%s is not a number", v)
	}
	return string(v), nil
}

func abbreviateJSON(v []byte) string {
	if len(v) > 40 {
		return string(v[:37]) + "..."
	}
	return string(v)
}
