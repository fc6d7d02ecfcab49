// Package registry is slipway's model registry: it pushes versions (content
// checked, artifact stored by digest, metadata stored in one transaction),
// resolves NAME@VERSION and NAME@ALIAS references, moves aliases with a
// recorded reason, and guards what must not be deleted.
package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/blob"
	"github.com/slipway-ml/slipway/internal/modelfile"
	"github.com/slipway-ml/slipway/internal/store"
)

// Registry ties the metadata store to the artifact store.
type Registry struct {
	store store.Store
	blobs *blob.Store

	// StageDir holds uploads while they are hashed and checked; the zero
	// value uses os.TempDir.
	StageDir string
	// MaxArtifactBytes caps a pushed artifact; zero means 2 GiB.
	MaxArtifactBytes int64
	// Now is the clock; the zero value uses time.Now.
	Now func() time.Time
	// AliasMoved, when set, is called after an alias of model moved or
	// was removed, so caches of "which version answers" can refresh.
	AliasMoved func(model string)
}

// New returns a registry over s and b.
func New(s store.Store, b *blob.Store) *Registry {
	return &Registry{store: s, blobs: b}
}

func (r *Registry) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Registry) maxBytes() int64 {
	if r.MaxArtifactBytes > 0 {
		return r.MaxArtifactBytes
	}
	return 2 << 30
}

// Push describes a version to add. Version carries the metadata (its
// Digest, Size, State and CreatedAt are filled in by the registry); Format
// may be empty to detect it from the content.
type Push struct {
	Version  slipway.Version
	Artifact io.Reader
	// Filename is the artifact's original name; it only helps recognise
	// pickles, the content decides the format.
	Filename string
}

// Push stores a new, immutable version. The artifact is spooled and
// hashed, its format checked, stored under its digest, and only then is the
// version row written; a failure at any step leaves the registry as it was.
func (r *Registry) Push(ctx context.Context, p Push) (slipway.Version, error) {
	v := p.Version
	ref := v.Model + "@" + v.Version
	if err := checkNames(v.Model, v.Version); err != nil {
		return slipway.Version{}, fmt.Errorf("push: %w", err)
	}
	if v.Lineage.Parent != "" {
		if _, err := r.store.GetVersion(ctx, v.Model, v.Lineage.Parent); err != nil {
			return slipway.Version{}, fmt.Errorf("push %s: parent version %s: %w", ref, v.Lineage.Parent, err)
		}
	}
	// Refuse a duplicate before reading a possibly large upload; the unique
	// key in the store still decides races between concurrent pushes.
	if _, err := r.store.GetVersion(ctx, v.Model, v.Version); err == nil {
		return slipway.Version{}, fmt.Errorf("push %s: version %w (versions are immutable; push a new version string)", ref, slipway.ErrExists)
	} else if !errors.Is(err, slipway.ErrNotFound) {
		return slipway.Version{}, fmt.Errorf("push %s: %w", ref, err)
	}
	if v.URL != "" || v.Format == slipway.FormatRemote {
		return r.pushRemote(ctx, v, p.Artifact != nil)
	}
	if p.Artifact == nil {
		return slipway.Version{}, slipway.Errorf(slipway.ErrInvalid, "push %s: no artifact (give a model file, or a URL for a remote model server)", ref)
	}
	staged, err := blob.Stage(p.Artifact, r.StageDir, r.maxBytes())
	if err != nil {
		return slipway.Version{}, fmt.Errorf("push %s: %w", ref, err)
	}
	defer staged.Remove()

	format, err := modelfile.DetectFile(staged.Path, v.Format)
	if err != nil {
		return slipway.Version{}, fmt.Errorf("push %s: %s: %w", ref, displayName(p.Filename), err)
	}
	if err := r.blobs.Put(ctx, staged.Digest, staged.Path); err != nil {
		return slipway.Version{}, fmt.Errorf("push %s: %w", ref, err)
	}
	v.Format, v.Digest, v.Size = format, string(staged.Digest), staged.Size
	v.State, v.CreatedAt = slipway.StateRegistered, r.now()
	stored, err := r.store.CreateVersion(ctx, v)
	if err != nil {
		// The blob stays: it is content-addressed, so it may already back
		// another version, and an unreferenced one is harmless.
		return slipway.Version{}, fmt.Errorf("push %s: %w", ref, err)
	}
	// A delete of another version sharing these bytes may have removed the
	// blob between Put and CreateVersion; Put again is a no-op otherwise.
	if err := r.blobs.Put(ctx, staged.Digest, staged.Path); err != nil {
		return slipway.Version{}, fmt.Errorf("push %s: %w", ref, err)
	}
	return stored, nil
}

// pushRemote registers a version served by another Open Inference
// Protocol server: it has a URL and no artifact.
func (r *Registry) pushRemote(ctx context.Context, v slipway.Version, hasArtifact bool) (slipway.Version, error) {
	ref := v.Model + "@" + v.Version
	if hasArtifact {
		return slipway.Version{}, slipway.Errorf(slipway.ErrInvalid, "push %s: a remote version has a URL and no model file", ref)
	}
	u, err := url.Parse(v.URL)
	if err != nil || u.Host == "" || !slices.Contains([]string{"http", "https", "grpc", "grpcs"}, u.Scheme) {
		return slipway.Version{}, slipway.Errorf(slipway.ErrInvalid, "push %s: URL %q: want http(s)://HOST:PORT/v2/models/NAME or grpc://HOST:PORT/NAME", ref, v.URL)
	}
	v.Format, v.Digest, v.Size = slipway.FormatRemote, "", 0
	v.State, v.CreatedAt = slipway.StateRegistered, r.now()
	stored, err := r.store.CreateVersion(ctx, v)
	if err != nil {
		return slipway.Version{}, fmt.Errorf("push %s: %w", ref, err)
	}
	return stored, nil
}

func displayName(name string) string {
	if name == "" {
		return "artifact"
	}
	return name
}

func checkNames(model, version string) error {
	if err := slipway.ValidName("model name", model); err != nil {
		return err
	}
	return slipway.ValidName("version", version)
}

// Resolve finds the version a reference names. A selector is first taken
// as a version string, then as an alias; an empty selector means the
// production alias. The alias, if one was followed, is returned too.
func (r *Registry) Resolve(ctx context.Context, ref slipway.Ref) (slipway.Version, string, error) {
	sel := ref.Selector
	if sel == "" {
		sel = slipway.AliasProduction
	}
	v, err := r.store.GetVersion(ctx, ref.Model, sel)
	if err == nil {
		return v, "", nil
	}
	if !errors.Is(err, slipway.ErrNotFound) {
		return slipway.Version{}, "", err
	}
	if _, merr := r.store.GetModel(ctx, ref.Model); merr != nil {
		return slipway.Version{}, "", merr
	}
	a, aerr := r.store.GetAlias(ctx, ref.Model, sel)
	if errors.Is(aerr, slipway.ErrNotFound) {
		return slipway.Version{}, "", fmt.Errorf("%s: no version or alias %q: %w", ref.Model, sel, slipway.ErrNotFound)
	}
	if aerr != nil {
		return slipway.Version{}, "", aerr
	}
	v, err = r.store.GetVersion(ctx, ref.Model, a.Version)
	return v, a.Name, err
}

// Artifact returns a verifying reader of a version's artifact. Reading a
// blob whose bytes changed on storage ends with an error that names the
// version and both digests.
func (r *Registry) Artifact(ctx context.Context, v slipway.Version) (io.ReadCloser, error) {
	if v.Digest == "" {
		return nil, fmt.Errorf("%s@%s has no artifact (format %s): %w", v.Model, v.Version, v.Format, slipway.ErrNotFound)
	}
	rc, err := r.blobs.Open(ctx, blob.Digest(v.Digest))
	if err != nil {
		return nil, fmt.Errorf("artifact of %s@%s: %w", v.Model, v.Version, err)
	}
	return &namedReader{ReadCloser: rc, ref: v.Model + "@" + v.Version}, nil
}

// ReadArtifact reads and verifies a version's whole artifact.
func (r *Registry) ReadArtifact(ctx context.Context, v slipway.Version) ([]byte, error) {
	rc, err := r.Artifact(ctx, v)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// VerifyArtifact reads a version's artifact through and checks its digest.
func (r *Registry) VerifyArtifact(ctx context.Context, v slipway.Version) error {
	rc, err := r.Artifact(ctx, v)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

// namedReader puts the version's name on a digest mismatch.
type namedReader struct {
	io.ReadCloser
	ref string
}

func (n *namedReader) Read(p []byte) (int, error) {
	k, err := n.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("artifact of %s: %w", n.ref, err)
	}
	return k, err
}
