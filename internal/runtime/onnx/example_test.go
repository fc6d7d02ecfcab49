package onnx_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
	_ "github.com/slipway-ml/slipway/internal/runtime/onnx" // registers the onnx format
)

// Load a version through the runtime registry and predict one row. The
// example has no Output line, so `go test` compiles it but does not run
// it: it needs the ONNX Runtime library (scripts/install-onnxruntime.sh).
func Example() {
	model, err := os.ReadFile("../../../examples/digits/v2/model.onnx")
	if err != nil {
		log.Fatal(err)
	}
	v := slipway.Version{Model: "digits", Version: "2.0.0", Format: slipway.FormatONNX}
	p, err := runtime.Load(context.Background(), v, model)
	if err != nil {
		log.Fatal(err) // e.g. onnx runtime library not found at ...
	}
	defer p.Close()

	pixels := make([]float32, 64) // one 8x8 image, intensities 0-16
	out, err := p.Predict(context.Background(), []runtime.Tensor{
		{Name: "input", Datatype: runtime.FP32, Shape: []int64{1, 64}, Data: pixels},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out[0].Name, out[0].Shape) // probabilities [1 10]
}
