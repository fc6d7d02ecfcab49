package slipway

import (
	"errors"
	"fmt"
)

// Sentinel errors shared by every layer. Packages wrap them with context
// ("push fraud@2.1.0: %w"); the API maps each to an HTTP status.
var (
	// ErrNotFound: the named model, version or alias does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: the thing being created exists already and is immutable.
	ErrExists = errors.New("already exists")
	// ErrInvalid: the request itself is wrong (a bad name, an unknown format).
	ErrInvalid = errors.New("invalid")
	// ErrInUse: the thing is referenced (by an alias or a live deployment)
	// and cannot be removed.
	ErrInUse = errors.New("in use")
	// ErrCorrupt: stored data failed an integrity check.
	ErrCorrupt = errors.New("integrity check failed")
	// ErrConflict: the request does not fit the current state (promoting
	// a rollout that has ended, starting a second live rollout of a
	// model), or the state changed while it was being made.
	ErrConflict = errors.New("conflict")
)

// Errorf formats an error that matches kind with errors.Is without
// repeating kind's text, for messages that read better without it:
// Errorf(ErrInvalid, "alias %q: …") says what is wrong, and the API still
// answers 400.
func Errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, err: fmt.Errorf(format, args...)}
}

type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }
