package dataset

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Task is the kind of prediction a model makes, which decides what its
// labels may be.
type Task int

const (
	// AnyTask, the zero value, accepts any finite number (and true/false)
	// as a label: the file is read without knowing the model's task.
	AnyTask Task = iota
	// Binary labels are 0 or 1 (also true or false).
	Binary
	// Multiclass labels are class ids 0, 1, …, K-1.
	Multiclass
	// Regression labels are finite numbers.
	Regression
)

func (t Task) String() string {
	switch t {
	case AnyTask:
		return "any"
	case Binary:
		return "binary"
	case Multiclass:
		return "multiclass"
	case Regression:
		return "regression"
	}
	return fmt.Sprintf("Task(%d)", int(t))
}

// LabelKind is what a label column must hold. The zero value accepts any
// finite number.
type LabelKind struct {
	Task Task
	// Classes is K for Multiclass; it is ignored for other tasks.
	Classes int
}

func (k LabelKind) String() string {
	if k.Task == Multiclass {
		return fmt.Sprintf("multiclass with %d classes", k.Classes)
	}
	return k.Task.String()
}

// Validate reports a kind that cannot be checked against, such as
// multiclass with fewer than two classes.
func (k LabelKind) Validate() error {
	switch k.Task {
	case AnyTask, Binary, Regression:
		return nil
	case Multiclass:
		if k.Classes < 2 {
			return fmt.Errorf("label kind multiclass: %d classes, want at least 2", k.Classes)
		}
		return nil
	}
	return fmt.Errorf("label kind: unknown task %d", int(k.Task))
}

// ParseLabel reads one label cell as kind demands and returns its value:
// the class id for classifiers, the number for regression. The error says
// what the cell holds and what was wanted, without a location; Reader
// adds the file, line and column.
func (k LabelKind) ParseLabel(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if isMissing(s) {
		return 0, fmt.Errorf("label is missing")
	}
	if b, ok := parseBool(s); ok && (k.Task == AnyTask || k.Task == Binary) {
		return b, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a %s label%s", s, k.Task, k.want())
	}
	switch k.Task {
	case Binary:
		if v != 0 && v != 1 {
			return 0, fmt.Errorf("%q is not a binary label%s", s, k.want())
		}
	case Multiclass:
		if v != math.Trunc(v) || v < 0 || v >= float64(k.Classes) {
			return 0, fmt.Errorf("%q is not a class id%s", s, k.want())
		}
	}
	return v, nil
}

// want says what labels of kind k look like, as the tail of a message.
func (k LabelKind) want() string {
	switch k.Task {
	case Binary:
		return " (want 0 or 1)"
	case Multiclass:
		return fmt.Sprintf(" (want an integer from 0 to %d)", k.Classes-1)
	case Regression:
		return " (want a finite number)"
	}
	return " (want a number)"
}

func parseBool(s string) (float64, bool) {
	switch strings.ToLower(s) {
	case "true":
		return 1, true
	case "false":
		return 0, true
	}
	return 0, false
}

// isMissing reports a cell that stands for a missing value.
func isMissing(s string) bool {
	switch strings.ToLower(s) {
	case "", "nan", "na", "null":
		return true
	}
	return false
}
