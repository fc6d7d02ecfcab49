package xgboost

import (
	"context"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

func init() { runtime.Register(slipway.FormatXGBoost, load) }

var _ runtime.Table = (*Booster)(nil)

func load(_ context.Context, v slipway.Version, artifact []byte) (runtime.Predictor, error) {
	b, err := Parse(artifact)
	if err != nil {
		return nil, err
	}
	return runtime.NewTabular(b, v.Signature, b.FeatureNames()), nil
}
