package gate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/slipway-ml/slipway"
)

// InputChange is one difference between the baseline's inputs and the
// candidate's.
type InputChange struct {
	// Kind is missing (the baseline takes it, the candidate does not),
	// extra (the candidate needs it, the baseline's callers do not send
	// it), renamed (same position, datatype and shape, new name) or
	// retyped (same name, another datatype or shape).
	Kind string `json:"kind"`
	// Input is the baseline's name for the input (the candidate's for
	// extra inputs); NewName is set for renamed ones.
	Input   string `json:"input"`
	NewName string `json:"new_name,omitempty"`
	// Was and Now describe a retyped input's datatype and shape.
	Was string `json:"was,omitempty"`
	Now string `json:"now,omitempty"`
}

func (c InputChange) String() string {
	switch c.Kind {
	case "renamed":
		return fmt.Sprintf("%s renamed to %s", c.Input, c.NewName)
	case "retyped":
		return fmt.Sprintf("%s retyped from %s to %s", c.Input, c.Was, c.Now)
	}
	return fmt.Sprintf("%s %s", c.Input, c.Kind)
}

func describeSpec(t slipway.TensorSpec) string { return fmt.Sprintf("%s%v", t.Datatype, t.Shape) }

func sameType(a, b slipway.TensorSpec) bool {
	return a.Datatype == b.Datatype && slices.Equal(a.Shape, b.Shape)
}

// CompareInputs lists how cand's inputs differ from base's, in the
// baseline's order, then the candidate's extra inputs.
func CompareInputs(base, cand slipway.Signature) []InputChange {
	find := func(ts []slipway.TensorSpec, name string) (slipway.TensorSpec, bool) {
		for _, t := range ts {
			if t.Name == name {
				return t, true
			}
		}
		return slipway.TensorSpec{}, false
	}
	var out []InputChange
	renamedTo := map[string]bool{}
	for i, b := range base.Inputs {
		if c, ok := find(cand.Inputs, b.Name); ok {
			if !sameType(b, c) {
				out = append(out, InputChange{Kind: "retyped", Input: b.Name, Was: describeSpec(b), Now: describeSpec(c)})
			}
			continue
		}
		if i < len(cand.Inputs) {
			c := cand.Inputs[i]
			if _, taken := find(base.Inputs, c.Name); !taken && sameType(b, c) {
				out = append(out, InputChange{Kind: "renamed", Input: b.Name, NewName: c.Name})
				renamedTo[c.Name] = true
				continue
			}
		}
		out = append(out, InputChange{Kind: "missing", Input: b.Name})
	}
	for _, c := range cand.Inputs {
		if _, ok := find(base.Inputs, c.Name); !ok && !renamedTo[c.Name] {
			out = append(out, InputChange{Kind: "extra", Input: c.Name})
		}
	}
	return out
}

// Integrity is the artifact's check: its digest recomputed and its
// format allowed.
type Integrity struct {
	// Digest is the recomputed "sha256:<hex>" of the artifact ("" for a
	// remote version, which has none).
	Digest string `json:"digest,omitempty"`
	// Verified reports that Digest equals the version's recorded digest.
	Verified bool `json:"verified"`
	// FormatAllowed reports that the version's format is in the allowed
	// list.
	FormatAllowed bool `json:"format_allowed"`
	// Problem says what failed, "" when nothing did.
	Problem string `json:"problem,omitempty"`
}

// CheckIntegrity recomputes the sha256 of artifact, compares it with
// v.Digest, and checks v.Format against allowed (nil allows every
// known format).
func CheckIntegrity(v slipway.Version, artifact []byte, allowed []slipway.Format) Integrity {
	var res Integrity
	var problems []string
	if v.Format == slipway.FormatRemote {
		res.Verified = true // served elsewhere: there are no bytes to check
	} else {
		sum := sha256.Sum256(artifact)
		res.Digest = "sha256:" + hex.EncodeToString(sum[:])
		res.Verified = res.Digest == v.Digest
		if !res.Verified {
			problems = append(problems, fmt.Sprintf("artifact of %s@%s hashes to %s, the registry recorded %s", v.Model, v.Version, res.Digest, orNone(v.Digest)))
		}
	}
	res.FormatAllowed = v.Format.Valid() && (allowed == nil || slices.Contains(allowed, v.Format))
	if !res.FormatAllowed {
		problems = append(problems, fmt.Sprintf("format %q is not allowed (allowed: %s)", v.Format, formatList(allowed)))
	}
	res.Problem = strings.Join(problems, "; ")
	return res
}

func formatList(fs []slipway.Format) string {
	if fs == nil {
		return "xgboost, lightgbm, onnx, remote"
	}
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
