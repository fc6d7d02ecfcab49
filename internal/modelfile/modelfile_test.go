package modelfile

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway"
)

func read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestDetectRecognisesSupportedFormats(t *testing.T) {
	for _, tc := range []struct {
		path string
		want slipway.Format
	}{
		{"../../examples/fraud/v1/model.json", slipway.FormatXGBoost},
		{"../../examples/fraud/v2/model.json", slipway.FormatXGBoost},
		{"../../examples/digits/v1/model.onnx", slipway.FormatONNX},
		{"../../examples/digits/v2/model.onnx", slipway.FormatONNX},
		{"testdata/tiny.lgb.txt", slipway.FormatLightGBM},
	} {
		t.Run(tc.path, func(t *testing.T) {
			got, err := DetectFile(tc.path, "")
			if err != nil {
				t.Fatalf("DetectFile: %v", err)
			}
			if got != tc.want {
				t.Fatalf("format = %s, want %s", got, tc.want)
			}
			if _, err := DetectFile(tc.path, tc.want); err != nil {
				t.Fatalf("declared %s: %v", tc.want, err)
			}
		})
	}
}

func TestDetectRefuses(t *testing.T) {
	xgb := read(t, "../../examples/fraud/v1/model.json")
	onnx := read(t, "../../examples/digits/v1/model.onnx")
	lgb := read(t, "testdata/tiny.lgb.txt")
	pickle := []byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x08sklearn.\x94.")
	for _, tc := range []struct {
		name     string
		data     []byte
		filename string
		declared slipway.Format
		want     string // substring of the error
		sentinel error
	}{
		{"pickle protocol 4", pickle, "model.bin", "", "arbitrary code", ErrPickle},
		{"pickle protocol 2", []byte("\x80\x02csklearn\n."), "m", "", "arbitrary code", ErrPickle},
		{"gzipped joblib", gzipped(pickle), "model.gz", "", "arbitrary code", ErrPickle},
		{"joblib by name", []byte("(lp0\nI1\na."), "model.joblib", "", "arbitrary code", ErrPickle},
		{"pkl by name", xgb, "model.pkl", "", "arbitrary code", ErrPickle},
		{"empty", nil, "m", "", "empty", nil},
		{"unknown bytes", []byte("\x89PNG\r\n\x1a\n\x00\x00"), "m", "", "unknown model format", ErrUnknown},
		{"plain text", []byte("hello world\n"), "m", "", "unknown model format", ErrUnknown},
		{"truncated xgboost", xgb[:len(xgb)/2], "m", "", "truncated", nil},
		{"json but not xgboost", []byte(`{"hello": "world"}`), "m", "", "not an XGBoost model", nil},
		{"broken json", []byte(`{"learner": {], "version": [1, 7, 4]}`), "m", "", "corrupt JSON model at byte", nil},
		{"truncated onnx", onnx[:len(onnx)/2], "m", "", "corrupt ONNX model", nil},
		{"onnx cut after header", onnx[:40], "m", "", "corrupt ONNX model", nil},
		{"truncated lightgbm", lgb[:bytes.Index(lgb, []byte("end of trees"))], "m", "", "truncated", nil},
		{"lightgbm without trees", []byte("tree\nversion=v3\nmax_feature_idx=1\n"), "m", "", "no trees", nil},
		{"declared onnx, content xgboost", xgb, "m", slipway.FormatONNX, "declared format onnx but the content is a xgboost model", nil},
		{"declared unknown format", xgb, "m", "tensorflow", `format "tensorflow"`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Detect(tc.data, tc.filename, tc.declared)
			if err == nil {
				t.Fatalf("Detect = %s, want an error containing %q", f, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			if !errors.Is(err, slipway.ErrInvalid) {
				t.Errorf("error %q is not slipway.ErrInvalid", err)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("error %q is not %v", err, tc.sentinel)
			}
		})
	}
}

// Every proper prefix of a valid model is refused: a push interrupted at
// any byte must never register a model that cannot load.
func TestDetectRefusesEveryTruncation(t *testing.T) {
	for _, path := range []string{"../../examples/digits/v1/model.onnx", "../../examples/fraud/v1/model.json", "testdata/tiny.lgb.txt"} {
		data := read(t, path)
		// LightGBM's sections after the trees (importances, parameters)
		// are optional: a file cut there still loads.
		if i := bytes.Index(data, []byte("end of trees")); i > 0 {
			data = data[:i+len("end of trees")]
		}
		step := max(1, len(data)/500)
		for n := 1; n < len(data); n += step {
			if end := bytes.TrimRight(data[:n], " \t\r\n"); len(end) < len(bytes.TrimRight(data, " \t\r\n")) {
				if f, err := Detect(data[:n], "m", ""); err == nil {
					t.Fatalf("%s cut at %d of %d bytes detected as %s", path, n, len(data), f)
				}
			}
		}
	}
}

func FuzzDetect(f *testing.F) {
	for _, p := range []string{"../../examples/digits/v1/model.onnx", "../../examples/fraud/v1/model.json", "testdata/tiny.lgb.txt"} {
		data := read(f, p)
		f.Add(data)
		f.Add(data[:len(data)/3])
	}
	f.Add([]byte("\x80\x04."))
	f.Fuzz(func(t *testing.T, data []byte) {
		format, err := Detect(data, "m", "")
		if err == nil && !format.Valid() {
			t.Fatalf("Detect returned invalid format %q without an error", format)
		}
	})
}
