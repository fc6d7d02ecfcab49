// Package modelfile recognises model artifacts from their content and
// refuses the ones slipway must not load. Detection looks at the bytes, not
// the file name, and checks enough structure that a truncated or corrupt
// file is caught at push time rather than at first request.
package modelfile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/slipway-ml/slipway"
)

// ErrPickle refuses Python pickles (and joblib files, which are pickles).
var ErrPickle = errors.New("pickle and joblib files are refused: loading one runs arbitrary code chosen by whoever wrote it; export the model to XGBoost JSON, LightGBM text or ONNX instead")

// ErrUnknown reports content that is none of the supported formats.
var ErrUnknown = errors.New("unknown model format: want an XGBoost JSON model, a LightGBM text model or an ONNX model")

// DetectFile reads the file at path and returns its format. declared, when
// not empty, is the format the user claimed; a file whose content is a
// different format is refused rather than trusted.
func DetectFile(path string, declared slipway.Format) (slipway.Format, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read model file: %w", err)
	}
	return Detect(data, filepath.Base(path), declared)
}

// Detect returns the format of data. name is the original file name, used
// only to recognise pickles that carry no magic bytes.
func Detect(data []byte, name string, declared slipway.Format) (slipway.Format, error) {
	if declared != "" && !declared.Valid() {
		return "", slipway.Errorf(slipway.ErrInvalid, "format %q: want xgboost, lightgbm or onnx", declared)
	}
	f, err := detect(data, name)
	if err != nil {
		return "", slipway.Errorf(slipway.ErrInvalid, "%w", err)
	}
	if declared != "" && declared != f {
		return "", slipway.Errorf(slipway.ErrInvalid, "declared format %s but the content is a %s model", declared, f)
	}
	return f, nil
}

func detect(data []byte, name string) (slipway.Format, error) {
	if isPickle(data, name) {
		return "", ErrPickle
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return "", errors.New("model file is empty")
	case trimmed[0] == '{':
		return slipway.FormatXGBoost, checkXGBoost(trimmed)
	case bytes.HasPrefix(trimmed, []byte("tree\n")) || bytes.HasPrefix(trimmed, []byte("tree\r\n")):
		return slipway.FormatLightGBM, checkLightGBM(trimmed)
	}
	if err := checkONNX(data); err == nil {
		return slipway.FormatONNX, nil
	} else if looksLikeProtobuf(data) {
		return "", fmt.Errorf("corrupt ONNX model: %w", err)
	}
	return "", ErrUnknown
}

// isPickle spots pickle streams: protocol 2+ starts with the PROTO opcode
// 0x80 and a version byte; joblib's default compression wraps a pickle in
// zlib or gzip; older protocols are plain text, so the usual file names are
// taken as evidence too.
func isPickle(data []byte, name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".pkl", ".pickle", ".joblib", ".sav", ".pck":
		return true
	}
	if len(data) >= 2 && data[0] == 0x80 && data[1] <= 5 {
		return true
	}
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return false
		}
		head := make([]byte, 2)
		if _, err := io.ReadFull(zr, head); err == nil {
			return head[0] == 0x80 && head[1] <= 5
		}
	}
	return bytes.HasPrefix(data, []byte("ZF0x")) // joblib's old zlib container
}

// checkXGBoost requires well-formed JSON with XGBoost's top-level layout.
func checkXGBoost(data []byte) error {
	var doc struct {
		Learner *struct {
			GradientBooster json.RawMessage `json:"gradient_booster"`
			Objective       json.RawMessage `json:"objective"`
		} `json:"learner"`
		Version []int `json:"version"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) && int(se.Offset) >= len(data) {
			return errors.New("corrupt JSON model: truncated")
		}
		if errors.As(err, &se) {
			return fmt.Errorf("corrupt JSON model at byte %d: %v", se.Offset, err)
		}
		return fmt.Errorf("corrupt JSON model: %v", err)
	}
	if doc.Learner == nil || len(doc.Learner.GradientBooster) == 0 {
		return errors.New("JSON file is not an XGBoost model: no learner.gradient_booster (save it with Booster.save_model(\"model.json\"))")
	}
	return nil
}

// checkLightGBM requires the header keys and the closing marker LightGBM
// writes after the last tree, which a truncated file lacks.
func checkLightGBM(data []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	var version, maxFeature, trees, end bool
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "version="):
			version = true
		case strings.HasPrefix(line, "max_feature_idx="):
			maxFeature = true
		case strings.HasPrefix(line, "Tree="):
			trees = true
		case line == "end of trees":
			end = true
		}
	}
	switch {
	case !version || !maxFeature:
		return errors.New("corrupt LightGBM model: header lacks version= or max_feature_idx=")
	case !trees:
		return errors.New("corrupt LightGBM model: no trees")
	case !end:
		return errors.New("corrupt LightGBM model: truncated (no \"end of trees\" line)")
	}
	return nil
}
