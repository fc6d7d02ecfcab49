package sqlstore

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/slipway-ml/slipway"
)

// toNanos converts t for storage. UnixNano is only defined between the
// years 1678 and 2262, so times outside are refused rather than mangled.
func toNanos(t time.Time) (int64, error) {
	n := t.UnixNano()
	if !time.Unix(0, n).Equal(t) {
		return 0, fmt.Errorf("%w: time %s is out of range", slipway.ErrInvalid, t.Format(time.RFC3339))
	}
	return n, nil
}

// fromNanos is the inverse of toNanos. It returns UTC without a monotonic
// reading, so stored and returned values compare equal with ==.
func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// stamp converts t for storage, or now when t is zero.
func stamp(t time.Time, now func() time.Time) (int64, error) {
	if t.IsZero() {
		t = now()
	}
	return toNanos(t)
}

// jsonColumn encodes v for a JSON column, or NULL when empty is true, so
// that empty and missing values are stored (and read back) alike: as nil.
func jsonColumn(v any, empty bool) (any, error) {
	if empty {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// fromJSONColumn decodes a JSON column; NULL leaves v at its zero value.
// Undecodable JSON was not written by this package: slipway.ErrCorrupt.
func fromJSONColumn(b []byte, v any) error {
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %w", slipway.ErrCorrupt, err)
	}
	return nil
}

// normalizeModel makes m what reading it back will return.
func normalizeModel(m *slipway.Model) {
	if len(m.Tags) == 0 {
		m.Tags = nil
	}
}

// normalizeVersion makes v what reading it back will return: JSON drops
// empty slices and maps (omitempty), so they come back nil.
func normalizeVersion(v *slipway.Version) {
	if len(v.Signature.Inputs) == 0 {
		v.Signature.Inputs = nil
	}
	if len(v.Signature.Outputs) == 0 {
		v.Signature.Outputs = nil
	}
	if len(v.Metrics) == 0 {
		v.Metrics = nil
	}
	if len(v.Meta) == 0 {
		v.Meta = nil
	}
	if v.State == "" {
		v.State = slipway.StateRegistered
	}
}

func validateVersion(v slipway.Version) error {
	if err := slipway.ValidName("model name", v.Model); err != nil {
		return err
	}
	if err := slipway.ValidName("version", v.Version); err != nil {
		return err
	}
	if !v.Format.Valid() {
		return fmt.Errorf("%w: format %q: use xgboost, lightgbm, onnx or remote", slipway.ErrInvalid, v.Format)
	}
	if err := validateState(v.State); err != nil {
		return err
	}
	for name, x := range v.Metrics {
		// JSON cannot carry them, and a gate comparing against NaN is meaningless.
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%w: metric %s is %v", slipway.ErrInvalid, name, x)
		}
	}
	return nil
}

func validateState(s slipway.VersionState) error {
	if !s.Valid() {
		return fmt.Errorf("%w: version state %q: use registered, validated, serving or archived", slipway.ErrInvalid, s)
	}
	return nil
}

// ref renders a version or alias reference the way users type it.
func ref(model, name string) string { return model + "@" + name }
