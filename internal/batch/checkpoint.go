package batch

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/slipway-ml/slipway/internal/dataset"
)

// checkpoint is what OUT.progress holds: how far a Score run had got when
// the output was last fsynced.
type checkpoint struct {
	// Input identifies the input file, so a resume against another file
	// is refused.
	Input fingerprint `json:"input"`
	// Model identifies the model (Options.Model).
	Model string `json:"model"`
	// Layout is the output's layout (format, id column).
	Layout string `json:"layout"`
	// Next is where the input resumes: just after the last row written.
	Next dataset.Position `json:"next"`
	// OutputOffset is the output's length up to and including that row.
	OutputOffset int64 `json:"output_offset"`
}

// fingerprint identifies an input file cheaply: its size and a digest of
// its first 64 KiB (the header and the first rows).
type fingerprint struct {
	Size int64  `json:"size"`
	Head string `json:"head_sha256"`
}

const headBytes = 64 << 10

func fingerprintOf(path string) (fingerprint, error) {
	f, err := os.Open(path)
	if err != nil {
		return fingerprint{}, fmt.Errorf("open input: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fingerprint{}, fmt.Errorf("stat input: %w", err)
	}
	h := sha256.New()
	if _, err := io.CopyN(h, f, headBytes); err != nil && err != io.EOF {
		return fingerprint{}, fmt.Errorf("read input %s: %w", path, err)
	}
	return fingerprint{Size: fi.Size(), Head: hex.EncodeToString(h.Sum(nil))}, nil
}

// progressPath is the checkpoint's file beside the output.
func progressPath(out string) string { return out + ".progress" }

// readCheckpoint loads OUT.progress; ok is false when there is none.
func readCheckpoint(out string) (cp checkpoint, ok bool, err error) {
	b, err := os.ReadFile(progressPath(out))
	if errors.Is(err, fs.ErrNotExist) {
		return cp, false, nil
	}
	if err != nil {
		return cp, false, fmt.Errorf("read checkpoint: %w", err)
	}
	if err := json.Unmarshal(b, &cp); err != nil {
		return cp, false, fmt.Errorf("checkpoint %s is damaged (%v); delete it and %s to start over", progressPath(out), err, out)
	}
	return cp, true, nil
}

// writeCheckpoint replaces OUT.progress atomically: a crash leaves the
// old checkpoint or the new one, never a torn file.
func writeCheckpoint(out string, cp checkpoint) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	path := progressPath(out)
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write checkpoint: %w", err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

// syncDir makes a rename in dir durable. Some file systems cannot fsync a
// directory; the rename is then as durable as they make it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// check refuses to resume from cp into a run that differs from it.
func (cp checkpoint) check(out string, in fingerprint, model string, l layout) error {
	redo := fmt.Sprintf("; delete %s and %s to start over", progressPath(out), out)
	switch {
	case cp.Input != in:
		return fmt.Errorf("cannot resume %s: it was written from another input (size %d, head sha256 %.12s; this one: size %d, %.12s)%s",
			out, cp.Input.Size, cp.Input.Head, in.Size, in.Head, redo)
	case cp.Model != model:
		return fmt.Errorf("cannot resume %s: it was written by model %q, not %q%s", out, cp.Model, model, redo)
	case cp.Layout != l.String():
		return fmt.Errorf("cannot resume %s: it was written as %s, not %s%s", out, cp.Layout, l, redo)
	}
	return nil
}
