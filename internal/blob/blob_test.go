package blob

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway"
)

func stage(t *testing.T, content string) *Staged {
	t.Helper()
	st, err := Stage(strings.NewReader(content), t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestPutOpenRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st := stage(t, "model bytes")
	if _, err := ParseDigest(string(st.Digest)); err != nil {
		t.Fatalf("stage produced a malformed digest %s: %v", st.Digest, err)
	}
	if st.Size != int64(len("model bytes")) {
		t.Fatalf("size = %d", st.Size)
	}
	if err := s.Put(ctx, st.Digest, st.Path); err != nil {
		t.Fatal(err)
	}
	// Content-addressed layout under the directory.
	hexPart := strings.TrimPrefix(string(st.Digest), "sha256:")
	if _, err := os.Stat(filepath.Join(dir, "sha256", hexPart)); err != nil {
		t.Fatalf("blob not at sha256/<hex>: %v", err)
	}
	got, err := s.ReadAll(ctx, st.Digest)
	if err != nil || string(got) != "model bytes" {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
	// Putting the same bytes again is a no-op.
	if err := s.Put(ctx, st.Digest, st.Path); err != nil {
		t.Fatalf("second Put: %v", err)
	}
}

func TestTamperedBlobIsRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _ := OpenDir(dir)
	defer s.Close()
	st := stage(t, "original model")
	if err := s.Put(ctx, st.Digest, st.Path); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "sha256", strings.TrimPrefix(string(st.Digest), "sha256:"))
	if err := os.WriteFile(path, []byte("poisoned model"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := s.ReadAll(ctx, st.Digest)
	var mm *MismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("ReadAll of tampered blob = %v, want *MismatchError", err)
	}
	if mm.Want != st.Digest || mm.Got == st.Digest || !strings.HasPrefix(string(mm.Got), "sha256:") {
		t.Fatalf("mismatch names want %s got %s", mm.Want, mm.Got)
	}
	if !errors.Is(err, slipway.ErrCorrupt) {
		t.Fatalf("%v is not ErrCorrupt", err)
	}
	if err := s.Verify(ctx, st.Digest); !errors.As(err, &mm) {
		t.Fatalf("Verify = %v, want a mismatch", err)
	}
}

func TestPutRefusesStagedFileChangedSinceHashing(t *testing.T) {
	ctx := context.Background()
	s, _ := OpenDir(t.TempDir())
	defer s.Close()
	st := stage(t, "hashed content")
	os.WriteFile(st.Path, []byte("other content"), 0o644)
	err := s.Put(ctx, st.Digest, st.Path)
	var mm *MismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("Put = %v, want a mismatch", err)
	}
	if _, err := s.ReadAll(ctx, st.Digest); !errors.Is(err, slipway.ErrNotFound) {
		t.Fatalf("a refused Put left a blob behind: %v", err)
	}
}

func TestOpenMissingIsNotFound(t *testing.T) {
	s, _ := OpenDir(t.TempDir())
	defer s.Close()
	d := Digest("sha256:" + strings.Repeat("ab", 32))
	if _, err := s.Open(context.Background(), d); !errors.Is(err, slipway.ErrNotFound) {
		t.Fatalf("Open = %v, want ErrNotFound", err)
	}
	if err := s.Delete(context.Background(), d); err != nil {
		t.Fatalf("Delete of a missing blob: %v", err)
	}
}

func TestStageLimit(t *testing.T) {
	dir := t.TempDir()
	if _, err := Stage(bytes.NewReader(make([]byte, 101)), dir, 100); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Stage over limit = %v, want ErrTooLarge", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("refused stage left %d files", len(entries))
	}
	if _, err := Stage(bytes.NewReader(make([]byte, 100)), dir, 100); err != nil {
		t.Fatalf("Stage at limit: %v", err)
	}
}

func TestParseDigest(t *testing.T) {
	for _, bad := range []string{"", "sha256:", "md5:" + strings.Repeat("a", 32), "sha256:" + strings.Repeat("z", 64), "sha256:" + strings.Repeat("a", 63)} {
		if _, err := ParseDigest(bad); !errors.Is(err, slipway.ErrInvalid) {
			t.Errorf("ParseDigest(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}
