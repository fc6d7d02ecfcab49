// Package slipway holds the vocabulary every other package speaks: models,
// versions, aliases, signatures and the errors that cross package lines.
// It imports none of slipway's own packages, so storage backends, runtimes
// and the API can all depend on it without depending on each other.
package slipway

import (
	"encoding/json"
	"regexp"
	"time"
)

// Format names how a version's artifact is encoded, and so which runtime
// can load it.
type Format string

// The formats slipway recognises. FormatRemote marks a version served by
// another Open Inference Protocol server; it has a URL instead of an artifact.
const (
	FormatXGBoost  Format = "xgboost"
	FormatLightGBM Format = "lightgbm"
	FormatONNX     Format = "onnx"
	FormatRemote   Format = "remote"
)

// Valid reports whether f is one of the known formats.
func (f Format) Valid() bool {
	switch f {
	case FormatXGBoost, FormatLightGBM, FormatONNX, FormatRemote:
		return true
	}
	return false
}

// VersionState is where a version stands in its life.
type VersionState string

// Version states, in the order a version usually passes through them.
const (
	StateRegistered VersionState = "registered" // pushed, nothing checked yet
	StateValidated  VersionState = "validated"  // passed its pre-deployment gates
	StateServing    VersionState = "serving"    // receives live traffic
	StateArchived   VersionState = "archived"   // kept for the record, not served
)

// Valid reports whether s is one of the known states.
func (s VersionState) Valid() bool {
	switch s {
	case StateRegistered, StateValidated, StateServing, StateArchived:
		return true
	}
	return false
}

// Model is a named family of versions.
type Model struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Owner       string    `json:"owner,omitempty"`
	Tags        []string  `json:"tags,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// TensorSpec describes one named input or output of a model. A shape entry
// of -1 means the dimension is free (usually the batch dimension).
type TensorSpec struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"` // Open Inference Protocol name: FP32, FP64, INT32, INT64, BOOL, BYTES
	Shape    []int64 `json:"shape"`
}

// Signature lists a model's named inputs and outputs. The zero value means
// the signature is unknown.
type Signature struct {
	Inputs  []TensorSpec `json:"inputs,omitempty"`
	Outputs []TensorSpec `json:"outputs,omitempty"`
}

// Lineage records where a version came from.
type Lineage struct {
	Parent   string `json:"parent,omitempty"`    // version this one was derived from
	DataRef  string `json:"data_ref,omitempty"`  // where the training data lives
	DataHash string `json:"data_hash,omitempty"` // digest of the training data
}

// Version is one immutable, pushed artifact of a model with its metadata.
// Everything except State is fixed once the version is stored.
type Version struct {
	Model     string             `json:"model"`
	Version   string             `json:"version"`
	Format    Format             `json:"format"`
	Digest    string             `json:"digest,omitempty"` // "sha256:<hex>" of the artifact
	Size      int64              `json:"size"`             // artifact size in bytes
	URL       string             `json:"url,omitempty"`    // remote model server, for FormatRemote
	Signature Signature          `json:"signature"`
	Metrics   map[string]float64 `json:"metrics,omitempty"` // training metrics
	Meta      map[string]string  `json:"meta,omitempty"`
	Lineage   Lineage            `json:"lineage"`
	Card      string             `json:"card,omitempty"` // model card, Markdown
	State     VersionState       `json:"state"`
	CreatedAt time.Time          `json:"created_at"`
	CreatedBy string             `json:"created_by,omitempty"`
}

// Ref names a version directly (fraud@2.1.0) or through an alias
// (fraud@production). An empty Selector means the production alias.
type Ref struct {
	Model    string
	Selector string
}

// String renders the reference as NAME@SELECTOR.
func (r Ref) String() string {
	if r.Selector == "" {
		return r.Model
	}
	return r.Model + "@" + r.Selector
}

// Alias is a movable name for one version of a model, such as production.
type Alias struct {
	Model     string    `json:"model"`
	Name      string    `json:"name"`
	Version   string    `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// AliasMove is one entry of an alias's history. From is empty for the first
// assignment.
type AliasMove struct {
	Model  string    `json:"model"`
	Alias  string    `json:"alias"`
	From   string    `json:"from,omitempty"`
	To     string    `json:"to"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// The alias every deployment starts from and moves on success.
const AliasProduction = "production"

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$`)

// ValidName checks a model name, version string or alias name. Names become
// URL path segments and are shown in tables, so they are restricted to
// letters, digits, '.', '_' and '-', must not start with a punctuation mark,
// and may not be "." or ".." in any disguise.
func ValidName(kind, s string) error {
	if s == "" {
		return Errorf(ErrInvalid, "%s is empty", kind)
	}
	if !nameRE.MatchString(s) {
		return Errorf(ErrInvalid, "%s %q: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", kind, s)
	}
	return nil
}

// RouteChange is one change of a model's routing policy: how its traffic
// is split between versions, which audiences go where, what is mirrored.
// Policy is the policy as JSON (the traffic package owns its shape); an
// empty Policy records that the model's routes were removed.
type RouteChange struct {
	Model  string          `json:"model"`
	Policy json.RawMessage `json:"policy,omitempty"`
	Actor  string          `json:"actor"`
	Reason string          `json:"reason,omitempty"`
	At     time.Time       `json:"at"`
}
