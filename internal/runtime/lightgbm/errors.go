package lightgbm

import (
	"errors"
	"fmt"

	"github.com/slipway-ml/slipway"
)

// ErrUnsupported marks a well-formed model that uses something this package
// does not implement: linear trees, the sqrt label transform, or an
// objective outside the supported list. Test for it with errors.Is.
var ErrUnsupported = errors.New("not supported")

// ModelError reports a model file that cannot be loaded. It matches
// slipway.ErrInvalid under errors.Is, and ErrUnsupported too when the file
// is well formed but uses something this package does not implement.
type ModelError struct {
	// Path says where in the file the problem is, such as "tree 12:
	// left_child" or "header: max_feature_idx". Empty means the problem
	// concerns the file as a whole.
	Path string
	// Err says what is wrong.
	Err error
}

func (e *ModelError) Error() string {
	if e.Path == "" {
		return "lightgbm model: " + e.Err.Error()
	}
	return "lightgbm model: " + e.Path + ": " + e.Err.Error()
}

// Unwrap returns what is wrong, so errors.Is finds ErrUnsupported.
func (e *ModelError) Unwrap() error { return e.Err }

// Is reports every ModelError as an invalid artifact.
func (e *ModelError) Is(target error) bool { return target == slipway.ErrInvalid }

// invalid builds a ModelError at path from a format string.
func invalid(path, format string, args ...any) error {
	return &ModelError{Path: path, Err: fmt.Errorf(format, args...)}
}

// unsupported builds a ModelError at path that wraps ErrUnsupported.
func unsupported(path, format string, args ...any) error {
	return &ModelError{Path: path, Err: fmt.Errorf("%s %w", fmt.Sprintf(format, args...), ErrUnsupported)}
}

func treePath(i int) string { return fmt.Sprintf("tree %d", i) }
