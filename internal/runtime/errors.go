package runtime

import (
	"errors"

	"github.com/slipway-ml/slipway"
)

// ErrUnsupported marks a well-formed model that uses something its runtime
// does not implement (another booster, an objective outside the supported
// list, categorical splits, linear trees). Test for it with errors.Is.
var ErrUnsupported = errors.New("not supported")

// ModelError reports a model file that cannot be loaded. It matches
// slipway.ErrInvalid under errors.Is, and ErrUnsupported too when the file
// is well formed but uses something the runtime does not implement.
type ModelError struct {
	// Format names the runtime, such as "xgboost"; it starts the message.
	Format string
	// Path says where in the model the problem is, such as "tree 12: node 7"
	// or "header: max_feature_idx". Empty means the file as a whole.
	Path string
	// Err says what is wrong.
	Err error
}

func (e *ModelError) Error() string {
	if e.Path == "" {
		return e.Format + " model: " + e.Err.Error()
	}
	return e.Format + " model: " + e.Path + ": " + e.Err.Error()
}

// Unwrap returns what is wrong, so errors.Is finds ErrUnsupported.
func (e *ModelError) Unwrap() error { return e.Err }

// Is reports every ModelError as an invalid artifact.
func (e *ModelError) Is(target error) bool { return target == slipway.ErrInvalid }
