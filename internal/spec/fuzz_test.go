package spec

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds Parse arbitrary text: it must never panic, and what it
// accepts must plan, render, and round-trip through YAML.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("deployment: &a {model: *a}"))
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("deployment: {<<: [{model: m}, {version: '1'}], stages: [{weight: 1, duration: 1m}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if s != nil {
				t.Fatal("a spec with an error")
			}
			return
		}
		var buf bytes.Buffer
		if err := s.Plan().Render(&buf); err != nil {
			t.Fatal(err)
		}
		y, err := s.YAML()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(y); err != nil {
			t.Fatalf("accepted spec does not re-parse: %v\n%s\n--- from\n%s", err, y, data)
		}
	})
}
