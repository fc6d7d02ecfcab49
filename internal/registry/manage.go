package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/blob"
)

// PutModel creates a model or updates its description, owner and tags.
func (r *Registry) PutModel(ctx context.Context, m slipway.Model) (slipway.Model, error) {
	if err := slipway.ValidName("model name", m.Name); err != nil {
		return slipway.Model{}, err
	}
	return r.store.PutModel(ctx, m)
}

// Model returns one model.
func (r *Registry) Model(ctx context.Context, name string) (slipway.Model, error) {
	return r.store.GetModel(ctx, name)
}

// Models lists every model.
func (r *Registry) Models(ctx context.Context) ([]slipway.Model, error) {
	return r.store.ListModels(ctx)
}

// Versions lists a model's versions, oldest first; an unknown model is
// slipway.ErrNotFound rather than an empty list.
func (r *Registry) Versions(ctx context.Context, model string) ([]slipway.Version, error) {
	if _, err := r.store.GetModel(ctx, model); err != nil {
		return nil, err
	}
	return r.store.ListVersions(ctx, model)
}

// Aliases lists a model's aliases.
func (r *Registry) Aliases(ctx context.Context, model string) ([]slipway.Alias, error) {
	if _, err := r.store.GetModel(ctx, model); err != nil {
		return nil, err
	}
	return r.store.ListAliases(ctx, model)
}

// History lists alias moves of a model, or of one alias when alias is set.
func (r *Registry) History(ctx context.Context, model, alias string) ([]slipway.AliasMove, error) {
	if _, err := r.store.GetModel(ctx, model); err != nil {
		return nil, err
	}
	return r.store.AliasHistory(ctx, model, alias)
}

// MoveAlias points an alias at a version, recording who did it and why.
func (r *Registry) MoveAlias(ctx context.Context, model, alias, version, actor, reason string) (slipway.AliasMove, error) {
	if err := slipway.ValidName("alias", alias); err != nil {
		return slipway.AliasMove{}, err
	}
	if _, err := r.store.GetModel(ctx, model); err != nil {
		return slipway.AliasMove{}, fmt.Errorf("move alias %s@%s: %w", model, alias, err)
	}
	mv, err := r.store.MoveAlias(ctx, slipway.AliasMove{
		Model: model, Alias: alias, To: version, Actor: actor, Reason: reason, At: r.now(),
	})
	if err != nil {
		return slipway.AliasMove{}, fmt.Errorf("move alias %s@%s to %s: %w", model, alias, version, err)
	}
	r.aliasMoved(model)
	return mv, nil
}

// DeleteAlias removes an alias; its history is kept.
func (r *Registry) DeleteAlias(ctx context.Context, model, alias, actor, reason string) error {
	if err := r.store.DeleteAlias(ctx, model, alias, actor, reason); err != nil {
		return err
	}
	r.aliasMoved(model)
	return nil
}

func (r *Registry) aliasMoved(model string) {
	if r.AliasMoved != nil {
		r.AliasMoved(model)
	}
}

// SetState changes a version's lifecycle state.
func (r *Registry) SetState(ctx context.Context, model, version string, s slipway.VersionState) error {
	if !s.Valid() {
		return slipway.Errorf(slipway.ErrInvalid, "state %q: want registered, validated, serving or archived", s)
	}
	return r.store.SetVersionState(ctx, model, version, s)
}

// DeleteVersion removes a version no alias points at, and its artifact
// once no other version shares it.
func (r *Registry) DeleteVersion(ctx context.Context, model, version string) error {
	v, err := r.store.GetVersion(ctx, model, version)
	if err != nil {
		return err
	}
	routed, err := r.routedBy(ctx, model, version)
	if err != nil {
		return err
	}
	if routed {
		return fmt.Errorf("version %s@%s is %w by the routes of %s (change them first)", model, version, slipway.ErrInUse, model)
	}
	if err := r.store.DeleteVersion(ctx, model, version); err != nil {
		return err
	}
	return r.dropBlobIfUnused(ctx, v.Digest)
}

// DeleteModel removes a model. Without force a model that still has
// versions is refused; with force its versions go too, unless an alias
// points at one of them.
func (r *Registry) DeleteModel(ctx context.Context, name string, force bool) error {
	versions, err := r.Versions(ctx, name)
	if err != nil {
		return err
	}
	if len(versions) > 0 && !force {
		return fmt.Errorf("delete model %s: %w: it has %d versions (delete them first, or force)", name, slipway.ErrInUse, len(versions))
	}
	aliases, err := r.store.ListAliases(ctx, name)
	if err != nil {
		return err
	}
	if len(aliases) > 0 {
		return fmt.Errorf("delete model %s: %w: alias %s points at version %s (delete the alias first)", name, slipway.ErrInUse, aliases[0].Name, aliases[0].Version)
	}
	for _, v := range versions {
		if err := r.DeleteVersion(ctx, name, v.Version); err != nil {
			return fmt.Errorf("delete model %s: %w", name, err)
		}
	}
	return r.store.DeleteModel(ctx, name)
}

func (r *Registry) dropBlobIfUnused(ctx context.Context, digest string) error {
	if digest == "" {
		return nil
	}
	used, err := r.store.DigestInUse(ctx, digest)
	if err != nil || used {
		return err
	}
	err = r.blobs.Delete(ctx, blob.Digest(digest))
	if errors.Is(err, slipway.ErrNotFound) {
		return nil
	}
	return err
}
