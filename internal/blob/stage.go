package blob

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTooLarge reports an artifact over the configured size limit.
var ErrTooLarge = errors.New("artifact too large")

// Staged is an upload spooled to a local temporary file and hashed on the
// way, so its digest is known before it is stored and its content can be
// inspected without holding it in memory.
type Staged struct {
	Path   string
	Digest Digest
	Size   int64
}

// Stage copies r into a temporary file in dir (os.TempDir when empty),
// refusing more than limit bytes (no limit when limit <= 0). The caller
// removes the file with Remove.
func Stage(r io.Reader, dir string, limit int64) (*Staged, error) {
	f, err := os.CreateTemp(dir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("stage artifact: %w", err)
	}
	st := &Staged{Path: f.Name()}
	h := sha256.New()
	src := r
	if limit > 0 {
		src = io.LimitReader(r, limit+1)
	}
	n, err := io.Copy(io.MultiWriter(f, h), src)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && limit > 0 && n > limit {
		err = fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
	}
	if err != nil {
		st.Remove()
		return nil, fmt.Errorf("stage artifact: %w", err)
	}
	st.Size, st.Digest = n, digestOf(h)
	return st, nil
}

// Remove deletes the temporary file.
func (s *Staged) Remove() { os.Remove(s.Path) }
