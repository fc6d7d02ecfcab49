// Package examples bundles the example models into the slipway binary, so
// that `slipway demo` runs on a machine that has only the binary. The
// training scripts, holdout data and reference predictions stay on disk
// beside these files; only what a push needs is embedded.
package examples

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"

	"github.com/slipway-ml/slipway"
)

//go:embed fraud/v*/model.json digits/v*/model.onnx */v*/signature.json */v*/card.md */v*/metrics.json */v*/lineage.json */holdout.csv
var files embed.FS

// Holdout returns a model's labelled holdout CSV.
func Holdout(model string) ([]byte, error) { return files.ReadFile(model + "/holdout.csv") }

// Example is one bundled model version, ready to push.
type Example struct {
	// Model is the model name (the example's folder: fraud, digits).
	Model string
	// Dir is the version folder inside the bundle (fraud/v1).
	Dir string
	// File is the artifact's path inside the bundle.
	File string
	// Meta is the version's metadata: version string, signature, metrics,
	// lineage and model card.
	Meta slipway.Version
}

// Artifact returns the model file's bytes.
func (e Example) Artifact() ([]byte, error) { return files.ReadFile(e.File) }

// All returns every bundled version, ordered by model and version; the
// version string of folder vN is N.0.0.
func All() ([]Example, error) {
	dirs, err := fs.Glob(files, "*/v*")
	if err != nil {
		return nil, err
	}
	sort.Strings(dirs)
	out := make([]Example, 0, len(dirs))
	for _, dir := range dirs {
		ex, err := load(dir)
		if err != nil {
			return nil, fmt.Errorf("bundled example %s: %w", dir, err)
		}
		out = append(out, ex)
	}
	return out, nil
}

func load(dir string) (Example, error) {
	model, vdir := path.Split(dir)
	model = path.Clean(model)
	ex := Example{Model: model, Dir: dir}
	for _, name := range []string{"model.json", "model.onnx"} {
		if _, err := fs.Stat(files, path.Join(dir, name)); err == nil {
			ex.File = path.Join(dir, name)
		}
	}
	if ex.File == "" {
		return ex, fmt.Errorf("no model file")
	}
	v := slipway.Version{Model: model, Version: vdir[1:] + ".0.0"}
	if err := readJSON(path.Join(dir, "signature.json"), &v.Signature); err != nil {
		return ex, err
	}
	if err := readJSON(path.Join(dir, "metrics.json"), &v.Metrics); err != nil {
		return ex, err
	}
	if err := readJSON(path.Join(dir, "lineage.json"), &v.Lineage); err != nil {
		return ex, err
	}
	card, err := files.ReadFile(path.Join(dir, "card.md"))
	if err != nil {
		return ex, err
	}
	v.Card = string(card)
	ex.Meta = v
	return ex, nil
}

func readJSON(name string, v any) error {
	b, err := files.ReadFile(name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
