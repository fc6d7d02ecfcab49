package oip

import (
	"encoding/json"
	"testing"

	"github.com/slipway-ml/slipway/internal/runtime"
)

// backendAnswer is the answer of bench/routing's backend.
const backendAnswer = `{"model_name":"fraud","model_version":"a","id":"a-1f","outputs":[{"name":"score","shape":[1],"datatype":"FP32","data":[0.0837]}]}`

func BenchmarkDecodeJSONResponse(b *testing.B) {
	body := []byte(backendAnswer)
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeJSONResponse(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What the remote runtime did before: encoding/json into structs, then
	// each output's data into its slice type.
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r struct {
				ModelName    string `json:"model_name"`
				ModelVersion string `json:"model_version"`
				ID           string `json:"id"`
				Outputs      []struct {
					Name     string          `json:"name"`
					Shape    []int64         `json:"shape"`
					Datatype string          `json:"datatype"`
					Data     json.RawMessage `json:"data"`
				} `json:"outputs"`
			}
			if err := json.Unmarshal(body, &r); err != nil {
				b.Fatal(err)
			}
			var d []float32
			if err := json.Unmarshal(r.Outputs[0].Data, &d); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// fraudRow is bench/routing's request: one row of seven features, one
// missing.
var fraudRow = func() []runtime.Tensor {
	var ins []runtime.Tensor
	for i, name := range []string{"amount", "hour", "merchant_risk", "distance_from_home", "tx_count_24h", "is_foreign", "card_age_days"} {
		ins = append(ins, runtime.Tensor{Name: name, Datatype: runtime.FP32, Shape: []int64{1}, Data: []float32{[]float32{26.75, 19, 0.086, 0, 2, 0, 689}[i]}})
	}
	return ins
}()

func BenchmarkAppendJSONRequest(b *testing.B) {
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			var err error
			if buf, err = AppendJSONRequest(buf[:0], fraudRow, []string{"score"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			std := stdRequest{Outputs: []stdName{{"score"}}}
			for _, t := range fraudRow {
				std.Inputs = append(std.Inputs, stdTensor{Name: t.Name, Shape: t.Shape, Datatype: t.Datatype, Data: t.Data})
			}
			if _, err := json.Marshal(std); err != nil {
				b.Fatal(err)
			}
		}
	})
}
