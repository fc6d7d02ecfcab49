package xgboost

import (
	"errors"
	"fmt"

	"github.com/slipway-ml/slipway"
)

// ErrUnsupported marks a well-formed model that uses something this package
// does not implement: another booster (gblinear), an objective outside the
// supported list, categorical splits or vector leaves. Test for it with
// errors.Is.
var ErrUnsupported = errors.New("not supported")

// ModelError reports a model file that cannot be loaded. It matches
// slipway.ErrInvalid under errors.Is, and ErrUnsupported too when the file
// is well formed but uses something this package does not implement.
type ModelError struct {
	// Path says where in the model the problem is, such as "tree 12: node 7"
	// or "learner.learner_model_param.num_feature". Empty means the problem
	// concerns the file as a whole.
	Path string
	// Err says what is wrong.
	Err error
}

func (e *ModelError) Error() string {
	if e.Path == "" {
		return "xgboost model: " + e.Err.Error()
	}
	return "xgboost model: " + e.Path + ": " + e.Err.Error()
}

// Unwrap returns what is wrong, so errors.Is finds ErrUnsupported.
func (e *ModelError) Unwrap() error { return e.Err }

// Is reports every ModelError as an invalid artifact.
func (e *ModelError) Is(target error) bool { return target == slipway.ErrInvalid }

// invalid builds a ModelError at path from a format string.
func invalid(path, format string, args ...any) error {
	return &ModelError{Path: path, Err: fmt.Errorf(format, args...)}
}

// unsupported builds a ModelError at path that wraps ErrUnsupported; what
// names the unsupported thing and hint, if not empty, says what is.
func unsupported(path, what, hint string) error {
	err := fmt.Errorf("%s %w", what, ErrUnsupported)
	if hint != "" {
		err = fmt.Errorf("%w (%s)", err, hint)
	}
	return &ModelError{Path: path, Err: err}
}
