package xgboost

import (
	"fmt"

	"github.com/slipway-ml/slipway/internal/runtime"
)

// ErrUnsupported and ModelError are the runtime package's, named here so
// callers of this package need not import it.
var ErrUnsupported = runtime.ErrUnsupported

// ModelError reports a model file that cannot be loaded.
type ModelError = runtime.ModelError

const formatName = "xgboost"

// invalid builds a ModelError at path from a format string.
func invalid(path, format string, args ...any) error {
	return &ModelError{Format: formatName, Path: path, Err: fmt.Errorf(format, args...)}
}

// unsupported builds a ModelError at path that wraps ErrUnsupported; what
// names the unsupported thing and hint, if not empty, says what is.
func unsupported(path, what, hint string) error {
	err := fmt.Errorf("%s %w", what, ErrUnsupported)
	if hint != "" {
		err = fmt.Errorf("%w (%s)", err, hint)
	}
	return &ModelError{Format: formatName, Path: path, Err: err}
}
