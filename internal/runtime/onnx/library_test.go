package onnx

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

func TestLibraryPath(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, libraryRel)
	if err := os.MkdirAll(filepath.Dir(lib), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lib, []byte("not really a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(dir, "a", "b", "c")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}

	t.Run("walks up from the working directory", func(t *testing.T) {
		t.Setenv(EnvLibrary, "")
		t.Chdir(deep)
		if got, err := LibraryPath(); err != nil || got != lib {
			t.Errorf("LibraryPath() = %q, %v; want %q", got, err, lib)
		}
	})
	t.Run("env", func(t *testing.T) {
		t.Setenv(EnvLibrary, lib)
		if got, err := LibraryPath(); err != nil || got != lib {
			t.Errorf("LibraryPath() = %q, %v; want %q", got, err, lib)
		}
	})
	t.Run("env bare name", func(t *testing.T) {
		t.Setenv(EnvLibrary, "libonnxruntime.so.1") // left to the dynamic linker
		if got, err := LibraryPath(); err != nil || got != "libonnxruntime.so.1" {
			t.Errorf("LibraryPath() = %q, %v", got, err)
		}
	})
	t.Run("env missing", func(t *testing.T) {
		t.Setenv(EnvLibrary, "/nonexistent/libonnxruntime.so")
		_, err := LibraryPath()
		want := "onnx runtime library not found at /nonexistent/libonnxruntime.so (set SLIPWAY_ONNXRUNTIME_LIB or run scripts/install-onnxruntime.sh)"
		if !errors.Is(err, ErrNoLibrary) || err.Error() != want {
			t.Errorf("error %v, want %s", err, want)
		}
	})
	t.Run("env directory", func(t *testing.T) {
		t.Setenv(EnvLibrary, dir)
		if _, err := LibraryPath(); !errors.Is(err, ErrNoLibrary) {
			t.Errorf("error %v, want ErrNoLibrary", err)
		}
	})
	t.Run("nowhere", func(t *testing.T) {
		t.Setenv(EnvLibrary, "")
		empty := t.TempDir()
		t.Chdir(empty)
		_, err := LibraryPath()
		if !errors.Is(err, ErrNoLibrary) {
			t.Fatalf("error %v, want ErrNoLibrary", err)
		}
		for _, part := range []string{".cache/onnxruntime/libonnxruntime.so", empty, "scripts/install-onnxruntime.sh"} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("error %q does not mention %s", err, part)
			}
		}
	})
}

// childEnv tells the test binary, run again by TestMissingLibrary, to be
// the child: ONNX Runtime's environment is process-wide, and the parent's
// is already set up by the other tests.
const childEnv = "SLIPWAY_ONNX_TEST_CHILD"

// realLibEnv passes the child the library the parent loaded, if any.
const realLibEnv = "SLIPWAY_ONNX_TEST_REAL_LIB"

// TestMissingLibrary loads an ONNX version in a fresh process whose
// SLIPWAY_ONNXRUNTIME_LIB points nowhere, then at a file that is not a
// library, then at the real one: the first two are errors, not crashes,
// and the third succeeds in the same process, because a failed
// initialisation is retried.
func TestMissingLibrary(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		missingLibraryChild(t)
		return
	}
	real := ""
	if err := Init(); err == nil {
		_, real = RuntimeVersion()
		real, _ = filepath.Abs(real)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMissingLibrary$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=1", realLibEnv+"="+real, EnvLibrary+"=/nonexistent/libonnxruntime.so")
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil {
		t.Fatalf("child process: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestMissingLibrary") {
		t.Fatal("the child did not pass TestMissingLibrary")
	}
}

func missingLibraryChild(t *testing.T) {
	if ort.IsInitialized() {
		t.Fatal("importing the package loaded ONNX Runtime")
	}
	if !slices.Contains(runtime.Formats(), slipway.FormatONNX) {
		t.Fatalf("formats %v lack onnx", runtime.Formats())
	}
	model, err := os.ReadFile(filepath.Join(digitsDir, "v2", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	load := func() (runtime.Predictor, error) {
		return runtime.Load(context.Background(), digitsVersion(slipway.Signature{}), model)
	}

	_, err = load()
	want := "load digits@2.0.0: onnx runtime library not found at /nonexistent/libonnxruntime.so (set SLIPWAY_ONNXRUNTIME_LIB or run scripts/install-onnxruntime.sh)"
	if !errors.Is(err, ErrNoLibrary) || err.Error() != want {
		t.Errorf("missing library: error %v\nwant %s", err, want)
	}

	notLib := filepath.Join(digitsDir, "v2", "model.onnx")
	t.Setenv(EnvLibrary, notLib)
	_, err = load()
	if err == nil || !strings.Contains(err.Error(), "load onnx runtime library "+notLib) || errors.Is(err, ErrNoLibrary) {
		t.Errorf("not a library: error %v", err)
	}
	t.Log(err)

	real := os.Getenv(realLibEnv)
	if real == "" {
		t.Log("no ONNX Runtime library in the parent: the retry is not tested")
		return
	}
	t.Setenv(EnvLibrary, real)
	p, err := load()
	if err != nil {
		t.Fatalf("after installing the library: %v", err)
	}
	p.Close()
}
