package registry

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/blob"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/store/postgres"
	"github.com/slipway-ml/slipway/internal/store/postgres/pgtest"
	"github.com/slipway-ml/slipway/internal/store/sqlite"
)

// env is a registry over a real store and a real blob directory that can
// be closed and opened again, as a server restart would.
type env struct {
	t       *testing.T
	open    func() store.Store
	blobDir string
	stage   string
	st      store.Store
	blobs   *blob.Store
	*Registry
}

func (e *env) start() {
	e.t.Helper()
	e.st = e.open()
	b, err := blob.OpenDir(e.blobDir)
	if err != nil {
		e.t.Fatal(err)
	}
	e.blobs = b
	e.Registry = New(e.st, b)
	e.Registry.StageDir = e.stage
}

func (e *env) restart() {
	e.t.Helper()
	if err := e.st.Close(); err != nil {
		e.t.Fatalf("close store: %v", err)
	}
	e.blobs.Close()
	e.start()
}

type backend struct {
	name string
	// open returns a function that opens the same database each call.
	open func(t *testing.T) func() store.Store
}

var backends = []backend{
	{"sqlite", func(t *testing.T) func() store.Store {
		path := filepath.Join(t.TempDir(), "slipway.db")
		return func() store.Store {
			s, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}},
	{"postgres", func(t *testing.T) func() store.Store {
		dsn := pgtest.Schema(t)
		return func() store.Store {
			s, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}},
}

// forEachBackend runs fn against a fresh registry on every store.
func forEachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			e := &env{t: t, open: b.open(t), blobDir: filepath.Join(dir, "blobs"), stage: filepath.Join(dir, "tmp")}
			os.MkdirAll(e.stage, 0o755)
			e.start()
			t.Cleanup(func() { e.st.Close(); e.blobs.Close() })
			fn(t, e)
		})
	}
}

func example(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../examples", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) push(model, version string, data []byte) (slipway.Version, error) {
	return e.Push(context.Background(), Push{
		Version:  slipway.Version{Model: model, Version: version, CreatedBy: "tester"},
		Artifact: bytes.NewReader(data), Filename: "model",
	})
}

func TestPushShowAliasAndRestart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		fraud := example(t, "fraud/v1/model.json")
		v, err := e.Push(ctx, Push{
			Version: slipway.Version{
				Model: "fraud", Version: "1.0.0", CreatedBy: "alice",
				Signature: slipway.Signature{Inputs: []slipway.TensorSpec{{Name: "amount", Datatype: "FP32", Shape: []int64{-1}}}},
				Metrics:   map[string]float64{"auc": 0.84},
				Meta:      map[string]string{"team": "risk"},
				Lineage:   slipway.Lineage{DataRef: "synthetic:fraud", DataHash: "sha256:00"},
				Card:      "# fraud v1",
			},
			Artifact: bytes.NewReader(fraud), Filename: "model.json",
		})
		if err != nil {
			t.Fatal(err)
		}
		if v.Format != slipway.FormatXGBoost || v.Size != int64(len(fraud)) || !strings.HasPrefix(v.Digest, "sha256:") || v.State != slipway.StateRegistered {
			t.Fatalf("pushed version = %+v", v)
		}
		if _, err := e.push("fraud", "2.0.0", example(t, "fraud/v2/model.json")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.push("digits", "1.0.0", example(t, "digits/v1/model.onnx")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.MoveAlias(ctx, "fraud", "production", "1.0.0", "alice", "first release"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.MoveAlias(ctx, "fraud", "production", "2.0.0", "bob", "better AUC"); err != nil {
			t.Fatal(err)
		}

		e.restart()

		got, via, err := e.Resolve(ctx, slipway.Ref{Model: "fraud", Selector: "production"})
		if err != nil || via != "production" || got.Version != "2.0.0" {
			t.Fatalf("fraud@production after restart = %s via %q, %v", got.Version, via, err)
		}
		if got, _, _ := e.Resolve(ctx, slipway.Ref{Model: "fraud"}); got.Version != "2.0.0" {
			t.Fatalf("fraud (no selector) = %s, want the production alias 2.0.0", got.Version)
		}
		v1, _, err := e.Resolve(ctx, slipway.Ref{Model: "fraud", Selector: "1.0.0"})
		if err != nil || v1.Card != "# fraud v1" || v1.Metrics["auc"] != 0.84 || v1.Meta["team"] != "risk" ||
			v1.Signature.Inputs[0].Name != "amount" || v1.Lineage.DataRef != "synthetic:fraud" || v1.CreatedBy != "alice" {
			t.Fatalf("fraud@1.0.0 after restart = %+v, %v", v1, err)
		}
		for _, ref := range []slipway.Ref{{Model: "fraud", Selector: "1.0.0"}, {Model: "fraud", Selector: "2.0.0"}, {Model: "digits", Selector: "1.0.0"}} {
			v, _, err := e.Resolve(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.VerifyArtifact(ctx, v); err != nil {
				t.Fatalf("artifact of %s after restart: %v", ref, err)
			}
		}
		data, err := e.ReadArtifact(ctx, v1)
		if err != nil || !bytes.Equal(data, fraud) {
			t.Fatalf("artifact of fraud@1.0.0 differs after restart (%v)", err)
		}
		hist, err := e.History(ctx, "fraud", "production")
		if err != nil || len(hist) != 2 || hist[1].From != "1.0.0" || hist[1].To != "2.0.0" || hist[1].Actor != "bob" || hist[1].Reason != "better AUC" {
			t.Fatalf("history after restart = %+v, %v", hist, err)
		}
	})
}

func TestPushRefusesBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		fraud := example(t, "fraud/v1/model.json")
		for _, tc := range []struct {
			name, model, version string
			data                 []byte
			want                 string
			sentinel             error
		}{
			{"truncated model", "fraud", "1.0.0", fraud[:len(fraud)-40], "truncated", slipway.ErrInvalid},
			{"corrupt onnx", "digits", "1.0.0", example(t, "digits/v1/model.onnx")[:900], "corrupt ONNX", slipway.ErrInvalid},
			{"unknown format", "fraud", "1.0.0", []byte("GIF89a....."), "unknown model format", slipway.ErrInvalid},
			{"pickle", "fraud", "1.0.0", []byte("\x80\x04\x95\x05\x00."), "arbitrary code", slipway.ErrInvalid},
			{"path in model name", "../x", "1.0.0", fraud, `model name "../x"`, slipway.ErrInvalid},
			{"slash in version", "fraud", "1/../../x", fraud, `version "1/../../x"`, slipway.ErrInvalid},
			{"dot-dot version", "fraud", "..", fraud, `version ".."`, slipway.ErrInvalid},
			{"empty version", "fraud", "", fraud, "version is empty", slipway.ErrInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.push(tc.model, tc.version, tc.data)
				if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.sentinel) {
					t.Fatalf("push = %v, want an error containing %q matching %v", err, tc.want, tc.sentinel)
				}
			})
		}
		models, _ := e.Models(context.Background())
		if len(models) != 0 {
			t.Fatalf("refused pushes created models: %+v", models)
		}
		if entries, _ := os.ReadDir(filepath.Join(e.blobDir, "sha256")); len(entries) != 0 {
			t.Fatalf("refused pushes stored %d blobs", len(entries))
		}
		if entries, _ := os.ReadDir(e.stage); len(entries) != 0 {
			t.Fatalf("refused pushes left %d staged files", len(entries))
		}
	})
}

func TestDuplicateVersionLeavesOriginalUntouched(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		orig, err := e.push("fraud", "1.0.0", example(t, "fraud/v1/model.json"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.push("fraud", "1.0.0", example(t, "fraud/v2/model.json"))
		if !errors.Is(err, slipway.ErrExists) || !strings.Contains(err.Error(), "fraud@1.0.0") {
			t.Fatalf("duplicate push = %v, want ErrExists naming fraud@1.0.0", err)
		}
		got, _, _ := e.Resolve(ctx, slipway.Ref{Model: "fraud", Selector: "1.0.0"})
		if got.Digest != orig.Digest || got.Size != orig.Size {
			t.Fatalf("stored version changed: %s -> %s", orig.Digest, got.Digest)
		}
		if err := e.VerifyArtifact(ctx, got); err != nil {
			t.Fatal(err)
		}
	})
}

func TestConcurrentPushesOfOneVersion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		artifacts := [][]byte{example(t, "fraud/v1/model.json"), example(t, "fraud/v2/model.json"), example(t, "fraud/v3/model.json")}
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.push("fraud", "1.0.0", artifacts[i%len(artifacts)])
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, slipway.ErrExists):
				t.Errorf("a losing push failed with %v, want ErrExists", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d pushes won, want exactly 1", wins)
		}
		vs, err := e.Versions(ctx, "fraud")
		if err != nil || len(vs) != 1 {
			t.Fatalf("versions = %d, %v; want 1", len(vs), err)
		}
		if err := e.VerifyArtifact(ctx, vs[0]); err != nil {
			t.Fatalf("winner's artifact: %v", err)
		}
		if entries, _ := os.ReadDir(e.stage); len(entries) != 0 {
			t.Fatalf("%d staged files left behind", len(entries))
		}
	})
}

func TestAliasRules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if _, err := e.push("fraud", "1.0.0", example(t, "fraud/v1/model.json")); err != nil {
			t.Fatal(err)
		}
		_, err := e.MoveAlias(ctx, "fraud", "production", "9.9.9", "alice", "")
		if !errors.Is(err, slipway.ErrNotFound) || !strings.Contains(err.Error(), "9.9.9") {
			t.Fatalf("alias to a missing version = %v, want ErrNotFound naming 9.9.9", err)
		}
		if _, err := e.MoveAlias(ctx, "nosuch", "production", "1.0.0", "alice", ""); !errors.Is(err, slipway.ErrNotFound) {
			t.Fatalf("alias on a missing model = %v", err)
		}
		if _, err := e.MoveAlias(ctx, "fraud", "../prod", "1.0.0", "alice", ""); !errors.Is(err, slipway.ErrInvalid) {
			t.Fatalf("alias with path characters = %v", err)
		}
		if h, _ := e.History(ctx, "fraud", ""); len(h) != 0 {
			t.Fatalf("refused moves were recorded: %+v", h)
		}
		if _, err := e.MoveAlias(ctx, "fraud", "production", "1.0.0", "alice", "go live"); err != nil {
			t.Fatal(err)
		}
		err = e.DeleteVersion(ctx, "fraud", "1.0.0")
		if !errors.Is(err, slipway.ErrInUse) || !strings.Contains(err.Error(), "production") {
			t.Fatalf("delete of aliased version = %v, want ErrInUse naming production", err)
		}
		if err := e.DeleteModel(ctx, "fraud", true); !errors.Is(err, slipway.ErrInUse) {
			t.Fatalf("forced delete of a model with an aliased version = %v", err)
		}
		v, _, err := e.Resolve(ctx, slipway.Ref{Model: "fraud", Selector: "1.0.0"})
		if err != nil || e.VerifyArtifact(ctx, v) != nil {
			t.Fatalf("refused deletes damaged the version: %v", err)
		}
		if err := e.DeleteAlias(ctx, "fraud", "production", "alice", "retire"); err != nil {
			t.Fatal(err)
		}
		if err := e.DeleteVersion(ctx, "fraud", "1.0.0"); err != nil {
			t.Fatalf("delete after unalias: %v", err)
		}
		if _, err := e.ReadArtifact(ctx, v); !errors.Is(err, slipway.ErrNotFound) {
			t.Fatalf("artifact of a deleted version = %v, want it gone", err)
		}
	})
}

func TestTamperedArtifactNamesVersionAndDigests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		v, err := e.push("fraud", "1.0.0", example(t, "fraud/v1/model.json"))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(e.blobDir, "sha256", strings.TrimPrefix(v.Digest, "sha256:"))
		data, _ := os.ReadFile(path)
		data[100] ^= 0xff
		os.WriteFile(path, data, 0o644)
		e.restart()
		_, err = e.ReadArtifact(ctx, v)
		if !errors.Is(err, slipway.ErrCorrupt) {
			t.Fatalf("read of tampered artifact = %v, want ErrCorrupt", err)
		}
		var mm *blob.MismatchError
		if !errors.As(err, &mm) || !strings.Contains(err.Error(), "fraud@1.0.0") ||
			!strings.Contains(err.Error(), v.Digest) || !strings.Contains(err.Error(), string(mm.Got)) {
			t.Fatalf("error %q should name fraud@1.0.0, %s and the found digest", err, v.Digest)
		}
	})
}

func TestPushDeclaredFormatAndParent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		_, err := e.Push(ctx, Push{
			Version:  slipway.Version{Model: "fraud", Version: "1.0.0", Format: slipway.FormatONNX},
			Artifact: bytes.NewReader(example(t, "fraud/v1/model.json")),
		})
		if !errors.Is(err, slipway.ErrInvalid) || !strings.Contains(err.Error(), "declared format onnx") {
			t.Fatalf("mismatched declared format = %v", err)
		}
		_, err = e.Push(ctx, Push{
			Version:  slipway.Version{Model: "fraud", Version: "2.0.0", Lineage: slipway.Lineage{Parent: "1.0.0"}},
			Artifact: bytes.NewReader(example(t, "fraud/v2/model.json")),
		})
		if !errors.Is(err, slipway.ErrNotFound) || !strings.Contains(err.Error(), "parent version 1.0.0") {
			t.Fatalf("missing parent = %v", err)
		}
	})
}
