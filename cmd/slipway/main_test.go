package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/store/postgres/pgtest"
)

var binary string

// TestMain builds the real binary once; the tests drive it as a user would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "slipway-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "slipway")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build slipway: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type proc struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	url    string
}

func startServer(t *testing.T, args ...string) *proc {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary, append([]string{"server", "--http", addr}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: &stderr, url: "http://" + addr}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(p.url + "/v2/health/ready"); err == nil {
			resp.Body.Close()
			return p
		}
	}
	t.Fatalf("server did not come up: %s", stderr.String())
	return nil
}

// stop sends SIGTERM and expects a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("server exit after SIGTERM: %v\n%s", err, p.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not stop after SIGTERM")
	}
}

func run(t *testing.T, url string, args ...string) string {
	t.Helper()
	out, err := exec.Command(binary, append([]string{"--server", url}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("slipway %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

const ex = "../../examples/"

// The "done when": push, alias, show; stop with SIGTERM; start
// again; everything is there and the artifacts verify (predict reads them).
func TestBinaryPushAliasShowRestart(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			args := []string{"--data", t.TempDir()}
			if store == "postgres" {
				args = append(args, "--store", pgtest.Schema(t))
			}
			p := startServer(t, args...)
			run(t, p.url, "model", "push", "fraud", ex+"fraud/v1/model.json", "--version", "1.0.0", "--signature", ex+"fraud/v1/signature.json")
			run(t, p.url, "model", "push", "fraud", ex+"fraud/v2/model.json", "--version", "2.0.0", "--signature", ex+"fraud/v2/signature.json")
			run(t, p.url, "model", "alias", "fraud", "production", "2.0.0", "--reason", "release")
			if out := run(t, p.url, "model", "show", "fraud@production"); !strings.Contains(out, "2.0.0") || !strings.Contains(out, "alias production") {
				t.Fatalf("show: %s", out)
			}
			p.stop(t)

			p = startServer(t, args...)
			out := run(t, p.url, "model", "versions", "fraud")
			if !strings.Contains(out, "1.0.0") || !strings.Contains(out, "production") {
				t.Fatalf("versions after restart: %s", out)
			}
			out = run(t, p.url, "predict", "fraud", "--csv", ex+"fraud/holdout.csv")
			if strings.Count(out, "2.0.0") != 2000 {
				t.Fatalf("predict after restart answered %d rows from 2.0.0", strings.Count(out, "2.0.0"))
			}
			if out := run(t, p.url, "model", "history", "fraud"); !strings.Contains(out, "release") {
				t.Fatalf("history after restart: %s", out)
			}
			p.stop(t)
		})
	}
}

func TestBinaryRefusesUnreachableStore(t *testing.T) {
	cmd := exec.Command(binary, "server", "--data", t.TempDir(), "--http", freeAddr(t), "--store", "postgres://postgres@127.0.0.1:1/x?sslmode=disable")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "127.0.0.1:1") {
		t.Fatalf("exit %v, output %s", err, out)
	}
}
