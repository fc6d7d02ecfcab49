package dataset

import (
	"fmt"
	"strings"

	"github.com/slipway-ml/slipway"
)

// Error is a problem with a tabular file, located as precisely as it is
// known. It matches slipway.ErrInvalid under errors.Is.
type Error struct {
	// File is the file's name as given to Open or NewReader.
	File string
	// Line is the 1-based line the problem is on; zero means the file as
	// a whole. For a CSV row spanning lines (a quoted newline) it is the
	// row's first line.
	Line int
	// Column names the column; empty means the row or the file as a whole.
	Column string
	// Msg says what is wrong.
	Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %s", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes every Error match slipway.ErrInvalid.
func (e *Error) Is(target error) bool { return target == slipway.ErrInvalid }

func errorf(file string, line int, column, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Column: column, Msg: fmt.Sprintf(format, args...)}
}
