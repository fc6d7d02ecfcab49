package serving

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway/internal/runtime"
)

// fraudOneRow is the request of bench/serving: one row of the fraud
// model's seven FP32 features, one with a missing value.
const fraudOneRow = `{"inputs":[{"name":"amount","shape":[1],"datatype":"FP32","data":[26.75]},{"name":"hour","shape":[1],"datatype":"FP32","data":[19]},{"name":"merchant_risk","shape":[1],"datatype":"FP32","data":[0.086]},{"name":"distance_from_home","shape":[1],"datatype":"FP32","data":[null]},{"name":"tx_count_24h","shape":[1],"datatype":"FP32","data":[2]},{"name":"is_foreign","shape":[1],"datatype":"FP32","data":[0]},{"name":"card_age_days","shape":[1],"datatype":"FP32","data":[689]}]}`

// fraudRows returns a request of the fraud model's seven features for
// rows rows, with values like the holdout's (about one in twenty missing).
func fraudRows(rows int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	features := []struct {
		name  string
		value func() string
	}{
		{"amount", func() string { return strconv.FormatFloat(math.Round(rng.ExpFloat64()*8000)/100, 'f', -1, 64) }},
		{"hour", func() string { return strconv.Itoa(rng.IntN(24)) }},
		{"merchant_risk", func() string { return strconv.FormatFloat(math.Round(rng.Float64()*1000)/1000, 'f', -1, 64) }},
		{"distance_from_home", func() string { return strconv.FormatFloat(math.Round(rng.ExpFloat64()*1000)/100, 'f', -1, 64) }},
		{"tx_count_24h", func() string { return strconv.Itoa(rng.IntN(12)) }},
		{"is_foreign", func() string { return strconv.Itoa(rng.IntN(2)) }},
		{"card_age_days", func() string { return strconv.Itoa(rng.IntN(3000)) }},
	}
	var b strings.Builder
	b.WriteString(`{"inputs":[`)
	for i, f := range features {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":%q,"shape":[%d],"datatype":"FP32","data":[`, f.name, rows)
		for r := range rows {
			if r > 0 {
				b.WriteByte(',')
			}
			if rng.IntN(20) == 0 {
				b.WriteString("null")
			} else {
				b.WriteString(f.value())
			}
		}
		b.WriteString("]}")
	}
	b.WriteString("]}")
	return []byte(b.String())
}

var decodeBenchBodies = []struct {
	name string
	body []byte
}{
	{"OneRow", []byte(fraudOneRow)},
	{"1000Rows", fraudRows(1000)},
}

func BenchmarkDecodeRequest(b *testing.B) {
	for _, dec := range []struct {
		name   string
		decode func([]byte) (*Request, error)
	}{{"scan", decodeRequest}, {"encoding-json", decodeRequestStd}} {
		for _, body := range decodeBenchBodies {
			b.Run(body.name+"/"+dec.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(body.body)))
				for b.Loop() {
					if _, err := dec.decode(body.body); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// fraudResponse is an answer of the fraud model for rows rows.
func fraudResponse(rows int) *Response {
	scores := make([]float32, rows)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range scores {
		scores[i] = rng.Float32()
	}
	return &Response{ID: "9f86d081884c7d659a2feaa0c55ad015", Model: "fraud", Version: "2.0.0",
		Outputs: []runtime.Tensor{{Name: "score", Datatype: runtime.FP32, Shape: []int64{int64(rows)}, Data: scores}}}
}

func BenchmarkAppendResponse(b *testing.B) {
	for _, rows := range []int{1, 1000} {
		resp := fraudResponse(rows)
		b.Run(fmt.Sprintf("%dRows/append", rows), func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				var err error
				if buf, err = appendResponse(buf[:0], resp); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("%dRows/encoding-json", rows), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := json.NewEncoder(io.Discard).Encode(encodeResponse(resp)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
