package xgboost_test

import (
	"fmt"
	"log"
	"math"
	"os"

	"github.com/slipway-ml/slipway/internal/runtime/xgboost"
)

func Example() {
	f, err := os.Open("testdata/feature_names/model.json")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	b, err := xgboost.Load(f)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(b.Objective(), b.FeatureNames())

	// Two rows, one value per feature; NaN marks a missing value.
	nan := float32(math.NaN())
	features := []float32{
		0.1, -1.2, 0.8, 1.5,
		nan, 0.3, -2.0, nan,
	}
	out := make([]float32, 2*b.NumOutput())
	if err := b.Predict(features, 2, out); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%.4f\n", out)
	// Output:
	// binary:logistic [age income tenure_days score]
	// [0.8850 0.1071]
}
