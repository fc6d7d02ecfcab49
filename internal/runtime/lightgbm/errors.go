package lightgbm

import (
	"fmt"

	"github.com/slipway-ml/slipway/internal/runtime"
)

// ErrUnsupported and ModelError are the runtime package's, named here so
// callers of this package need not import it.
var ErrUnsupported = runtime.ErrUnsupported

// ModelError reports a model file that cannot be loaded.
type ModelError = runtime.ModelError

const formatName = "lightgbm"

// invalid builds a ModelError at path from a format string.
func invalid(path, format string, args ...any) error {
	return &ModelError{Format: formatName, Path: path, Err: fmt.Errorf(format, args...)}
}

// unsupported builds a ModelError at path that wraps ErrUnsupported.
func unsupported(path, format string, args ...any) error {
	return &ModelError{Format: formatName, Path: path, Err: fmt.Errorf("%s %w", fmt.Sprintf(format, args...), ErrUnsupported)}
}

func treePath(i int) string { return fmt.Sprintf("tree %d", i) }
