package markdown

import (
	"errors"
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header []string
		rows   [][]string
		want   string
	}{
		{"plain", []string{"Metric", "Value"}, [][]string{{"error-rate", "1%"}},
			"| Metric | Value |\n| --- | --- |\n| error-rate | 1% |\n\n"},
		{"no rows", []string{"#"}, nil, "| # |\n| --- |\n\n"},
		{"pipes, newlines and blanks", []string{"", ""}, [][]string{{"a|b", "two\nlines"}, {"", "x"}},
			"|  |  |\n| --- | --- |\n| a\\|b | two lines |\n| - | x |\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			m := NewWriter(&b)
			m.Table(tc.header, tc.rows)
			if err := m.Err(); err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"":         "-",
		"ok":       "ok",
		"a | b":    `a \| b`,
		"l1\nl2\n": "l1 l2 ",
		"x|y\n|z":  `x\|y \|z`,
	} {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}

// failAfter accepts n writes, then fails every one.
type failAfter struct {
	n      int
	writes []string
}

var errFull = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(f.writes) >= f.n {
		return 0, errFull
	}
	f.writes = append(f.writes, string(p))
	return len(p), nil
}

// TestFirstErrorKept: after a failed write nothing more is written and
// Err reports that first failure.
func TestFirstErrorKept(t *testing.T) {
	f := &failAfter{n: 1}
	m := NewWriter(f)
	m.Printf("# %s\n", "title")
	m.Printf("lost\n")
	m.Table([]string{"a"}, [][]string{{"b"}})
	if !errors.Is(m.Err(), errFull) {
		t.Fatalf("Err() = %v, want %v", m.Err(), errFull)
	}
	if len(f.writes) != 1 || f.writes[0] != "# title\n" {
		t.Errorf("writes = %q, want only the title", f.writes)
	}
}
