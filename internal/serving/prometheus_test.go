package serving_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A real Prometheus (Debian's package) scrapes slipway and answers
// PromQL with slipway's counts, and with quantiles from its native
// latency histogram.
func TestPrometheusScrapesSlipway(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("SLIPWAY_SKIP_PROMETHEUS") == "1" {
			t.Skip("prometheus not installed (SLIPWAY_SKIP_PROMETHEUS=1)")
		}
		t.Fatal("prometheus not installed: apt-get install prometheus (.ci/run does), or set SLIPWAY_SKIP_PROMETHEUS=1")
	}
	target, _ := gateway(t)
	_, cols := holdout(t, examples+"fraud/holdout.csv")
	const requests = 50
	for r := range requests {
		if status, b, _ := postRaw(t, target+"/v2/models/fraud/infer", inferBody(cols, r, r+1)); status != 200 {
			t.Fatalf("%d %s", status, b)
		}
	}

	dir := t.TempDir()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	promAddr := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: slipway\n    static_configs:\n      - targets: [%q]\n",
		strings.TrimPrefix(target, "http://"))
	os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr, "--enable-feature=native-histograms")
	logs, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	query := func(q string) (float64, bool) {
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		var out struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&out) != nil || len(out.Data.Result) == 0 {
			return 0, false
		}
		s, _ := out.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if v, ok := query(`sum(slipway_requests_total{model="fraud",outcome="ok"})`); ok && v == requests {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Fatalf("Prometheus never saw %d requests; its log:\n%s", requests, b)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// The native histogram answers a quantile query: a latency in seconds.
	p99, ok := query(`histogram_quantile(0.99, sum(slipway_request_duration_seconds{model="fraud"}))`)
	if !ok || !(p99 > 0 && p99 < 5) {
		t.Fatalf("p99 from the native histogram = %v (ok %v)", p99, ok)
	}
}
