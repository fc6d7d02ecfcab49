package lightgbm

import (
	"context"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

func init() { runtime.Register(slipway.FormatLightGBM, load) }

var _ runtime.Table = (*Model)(nil)

// load serves a LightGBM text model. Without a signature on the version,
// its inputs are named after the model's features.
func load(_ context.Context, v slipway.Version, artifact []byte) (runtime.Predictor, error) {
	m, err := Parse(artifact)
	if err != nil {
		return nil, err
	}
	return runtime.NewTabular(m, v.Signature, m.FeatureNames()), nil
}
