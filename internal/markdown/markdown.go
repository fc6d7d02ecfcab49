// Package markdown writes the Markdown documents slipway prints (the
// deployment runbook of `slipway plan`, the post-deployment report of
// `slipway report`): formatted text and tables whose cells cannot break
// the table.
//
// A Writer keeps the first write error and drops what follows it, so a
// renderer writes its sections without checking every call and returns
// Err once at the end.
package markdown

import (
	"fmt"
	"io"
	"strings"
)

// Writer writes Markdown to an io.Writer, keeping the first write error.
type Writer struct {
	w   io.Writer
	err error
}

// NewWriter returns a Writer that writes to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Printf writes formatted text, unless an earlier write failed.
func (m *Writer) Printf(format string, args ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, args...)
	}
}

// Table writes a table and the blank line after it. Each cell is made
// safe in place (see Cell), so rows is changed.
func (m *Writer) Table(header []string, rows [][]string) {
	m.Printf("| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat(" --- |", len(header)))
	for _, row := range rows {
		for i := range row {
			row[i] = Cell(row[i])
		}
		m.Printf("| %s |\n", strings.Join(row, " | "))
	}
	m.Printf("\n")
}

// Err is the first write error, nil when every write succeeded.
func (m *Writer) Err() error { return m.err }

// Cell makes s safe as a table cell: pipes escaped, line breaks folded to
// spaces, and "-" for an empty value so a blank is not read as missing
// markup.
func Cell(s string) string {
	if s == "" {
		return "-"
	}
	return cellReplacer.Replace(s)
}

var cellReplacer = strings.NewReplacer("|", `\|`, "\n", " ")
