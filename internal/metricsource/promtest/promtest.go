// Package promtest runs a real Prometheus server, from Debian's
// prometheus package, for tests that query one.
package promtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/metricsource"
)

// Start runs Prometheus scraping target (host:port) every second and
// returns its URL once it holds three scrapes of the target. It fails the
// test when the prometheus binary is missing, unless
// SLIPWAY_SKIP_PROMETHEUS=1 says to skip instead.
func Start(t testing.TB, target string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("SLIPWAY_SKIP_PROMETHEUS") == "1" {
			t.Skip("prometheus not installed (SLIPWAY_SKIP_PROMETHEUS=1)")
		}
		t.Fatal("prometheus not installed: apt-get install prometheus (.ci/run does), or set SLIPWAY_SKIP_PROMETHEUS=1")
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: slipway\n    static_configs:\n      - targets: [%q]\n", target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "prometheus.log")
	logs, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logs.Close() })

	url := "http://" + addr
	prom := &metricsource.Prometheus{URL: url, Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := prom.Query(t.Context(), `sum(count_over_time(up[1m]))`, metricsource.Vars{})
		if err == nil && v.Number >= 3 {
			return url
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("Prometheus did not scrape %s three times in 30 s (last: %v); its log:\n%s", target, err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
