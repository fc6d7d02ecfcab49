package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Environment variables that configure the runtime.
const (
	// EnvLibrary names the ONNX Runtime shared library to load: a path, or
	// a bare file name for the dynamic linker to search for. Unset means
	// .cache/onnxruntime/libonnxruntime.so, looked for in the working
	// directory, the executable's directory and their parents.
	EnvLibrary = "SLIPWAY_ONNXRUNTIME_LIB"
	// EnvThreads sets how many threads one prediction may use when
	// Options.Threads is zero. Unset means 1.
	EnvThreads = "SLIPWAY_ONNX_THREADS"
)

// ErrNoLibrary reports that the ONNX Runtime shared library is not where
// slipway looked. Loading an ONNX version then fails with an error that
// matches it; every other format keeps working.
var ErrNoLibrary = errors.New("onnx runtime library not found")

// libraryRel is where scripts/install-onnxruntime.sh puts the library,
// relative to the repository root.
var libraryRel = filepath.Join(".cache", "onnxruntime", "libonnxruntime.so")

const installHint = "set " + EnvLibrary + " or run scripts/install-onnxruntime.sh"

// LibraryPath says which ONNX Runtime library Init would load: the value
// of SLIPWAY_ONNXRUNTIME_LIB, else the first
// .cache/onnxruntime/libonnxruntime.so found walking up from the working
// directory, then from the executable's directory. It only looks at the
// file system; the error matches ErrNoLibrary.
func LibraryPath() (string, error) {
	if p := os.Getenv(EnvLibrary); p != "" {
		if !strings.ContainsRune(p, os.PathSeparator) {
			return p, nil // a bare name: the dynamic linker searches for it
		}
		if !isFile(p) {
			return "", fmt.Errorf("%w at %s (%s)", ErrNoLibrary, p, installHint)
		}
		return p, nil
	}
	var roots []string
	if wd, err := os.Getwd(); err == nil {
		roots = append(roots, wd)
	}
	if exe, err := os.Executable(); err == nil {
		roots = append(roots, filepath.Dir(exe))
	}
	for _, root := range roots {
		if p, ok := findUp(root, libraryRel); ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: no %s in %s or their parents (%s)",
		ErrNoLibrary, libraryRel, strings.Join(roots, " or "), installHint)
}

// findUp looks for rel in dir and each of its parents.
func findUp(dir, rel string) (string, bool) {
	for {
		p := filepath.Join(dir, rel)
		if isFile(p) {
			return p, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// env is ONNX Runtime's process-wide environment. onnxruntime_go keeps it
// in package variables, so it is set up at most once per process.
var env struct {
	mu      sync.Mutex // guards the fields and every call that sets up the environment
	path    string     // the library loaded; "" until Init succeeds
	version string     // ONNX Runtime's version, as the library reports it
}

// Init loads the ONNX Runtime library found by LibraryPath and sets up
// its environment. Loading an ONNX version calls it; call it earlier to
// fail fast at start-up. Success is kept for the life of the process. A
// failure is not: the next call looks for the library again, so
// installing it fixes a running server without a restart. A missing
// library is an error matching ErrNoLibrary, never a crash.
func Init() error {
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.path != "" {
		return nil
	}
	path, err := LibraryPath()
	if err != nil {
		return err
	}
	if !ort.IsInitialized() {
		ort.SetSharedLibraryPath(path)
		if err := ort.InitializeEnvironment(); err != nil {
			msg := strings.TrimPrefix(err.Error(), "Platform-specific initialization failed: ")
			return fmt.Errorf("load onnx runtime library %s: %s (%s)", path, msg, installHint)
		}
	}
	env.path, env.version = path, ort.GetVersion()
	return nil
}

// RuntimeVersion is the version of the ONNX Runtime library in use, such
// as "1.30.0", and the path it was loaded from; both are empty before Init
// succeeds.
func RuntimeVersion() (version, path string) {
	env.mu.Lock()
	defer env.mu.Unlock()
	return env.version, env.path
}
