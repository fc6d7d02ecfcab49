// Package blob keeps model artifacts content-addressed by their sha256
// digest. Artifacts live under the key "sha256/<hex>" of a gocloud.dev
// bucket (a directory by default, S3 for shared deployments), and every
// read re-hashes the bytes, so a file changed behind slipway's back is
// refused instead of served.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	"github.com/slipway-ml/slipway"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/gcerrors"

	_ "gocloud.dev/blob/s3blob" // s3:// URLs for shared deployments
)

// Store is a content-addressed artifact store.
type Store struct {
	bucket *blob.Bucket
}

// OpenDir opens (creating if needed) a file-backed store rooted at dir.
func OpenDir(dir string) (*Store, error) {
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{
		CreateDir: true,
		// Temp files beside the artifacts keep the final rename on one
		// file system, which is what makes a write atomic.
		NoTempDir: true,
		Metadata:  fileblob.MetadataDontWrite,
	})
	if err != nil {
		return nil, fmt.Errorf("open blob directory %s: %w", dir, err)
	}
	return &Store{bucket: b}, nil
}

// OpenURL opens a store from a gocloud.dev URL such as s3://bucket?region=….
func OpenURL(ctx context.Context, url string) (*Store, error) {
	b, err := blob.OpenBucket(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", url, err)
	}
	return &Store{bucket: b}, nil
}

// Close releases the bucket.
func (s *Store) Close() error { return s.bucket.Close() }

// Digest is an artifact's identity, written "sha256:<64 hex digits>".
type Digest string

// ParseDigest checks that d is a well-formed sha256 digest.
func ParseDigest(d string) (Digest, error) {
	hexPart, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hexPart) != sha256.Size*2 {
		return "", slipway.Errorf(slipway.ErrInvalid, "digest %q: want sha256:<64 hex digits>", d)
	}
	if _, err := hex.DecodeString(hexPart); err != nil {
		return "", slipway.Errorf(slipway.ErrInvalid, "digest %q: %v", d, err)
	}
	return Digest(d), nil
}

func (d Digest) key() string { return "sha256/" + strings.TrimPrefix(string(d), "sha256:") }

func digestOf(h hash.Hash) Digest { return Digest("sha256:" + hex.EncodeToString(h.Sum(nil))) }

// MismatchError reports an artifact whose bytes no longer hash to its name.
type MismatchError struct {
	Want, Got Digest
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("artifact content changed on storage: expected %s, found %s", e.Want, e.Got)
}

// Unwrap lets callers test for slipway.ErrCorrupt.
func (e *MismatchError) Unwrap() error { return slipway.ErrCorrupt }

// Put stores the file at path under its digest and returns the digest.
// Writing an artifact that is already stored is a no-op, so concurrent
// pushes of the same bytes cannot clash.
func (s *Store) Put(ctx context.Context, d Digest, path string) error {
	if ok, err := s.bucket.Exists(ctx, d.key()); err == nil && ok {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store artifact %s: %w", d, err)
	}
	defer f.Close()
	// Cancelling the writer's context abandons the write instead of
	// committing it on Close.
	wctx, abandon := context.WithCancel(ctx)
	defer abandon()
	w, err := s.bucket.NewWriter(wctx, d.key(), &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("store artifact %s: %w", d, err)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), f); err != nil {
		abandon()
		w.Close()
		return fmt.Errorf("store artifact %s: %w", d, err)
	}
	// The staged file must still be the bytes the caller hashed.
	if got := digestOf(h); got != d {
		abandon()
		w.Close()
		return fmt.Errorf("store artifact: %w", &MismatchError{Want: d, Got: got})
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("store artifact %s: %w", d, err)
	}
	return nil
}

// Open returns a reader of the artifact that re-hashes it as it is read;
// the final Read returns a *MismatchError instead of io.EOF when the bytes
// are not the ones stored.
func (s *Store) Open(ctx context.Context, d Digest) (io.ReadCloser, error) {
	r, err := s.bucket.NewReader(ctx, d.key(), nil)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, fmt.Errorf("artifact %s: %w", d, slipway.ErrNotFound)
		}
		return nil, fmt.Errorf("open artifact %s: %w", d, err)
	}
	return &verifyingReader{r: r, h: sha256.New(), want: d}, nil
}

// ReadAll reads and verifies a whole artifact.
func (s *Store) ReadAll(ctx context.Context, d Digest) ([]byte, error) {
	r, err := s.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// Verify reads the artifact through and reports whether it is intact.
func (s *Store) Verify(ctx context.Context, d Digest) error {
	r, err := s.Open(ctx, d)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.Copy(io.Discard, r)
	return err
}

// Delete removes an artifact; a missing one is not an error.
func (s *Store) Delete(ctx context.Context, d Digest) error {
	err := s.bucket.Delete(ctx, d.key())
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("delete artifact %s: %w", d, err)
	}
	return nil
}

type verifyingReader struct {
	r    *blob.Reader
	h    hash.Hash
	want Digest
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	if errors.Is(err, io.EOF) {
		if got := digestOf(v.h); got != v.want {
			return n, &MismatchError{Want: v.want, Got: got}
		}
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.r.Close() }
