// Command batch measures slipway's batch scorer against XGBoost's own
// Python package on the same file: a fraud-like CSV of a million rows
// (generated, seeded, from the fraud holdout), scored with the fraud v2
// model. Each scorer runs in its own process, so each one's peak memory
// is its own; slipway also scores a tenth of the file to show its peak
// memory does not grow with the input.
//
//	go run ./bench/batch [-rows 1000000] [-dir DIR]
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/batch"
	"github.com/slipway-ml/slipway/internal/dataset"
	rt "github.com/slipway-ml/slipway/internal/runtime"
	_ "github.com/slipway-ml/slipway/internal/runtime/xgboost"
)

const model = "examples/fraud/v2"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "score" {
		if err := scoreChild(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "bench/batch:", err)
			os.Exit(1)
		}
		return
	}
	rows := flag.Int("rows", 1_000_000, "rows in the generated file")
	dir := flag.String("dir", "", "where to write the files (default: a temporary directory, removed after)")
	python := flag.String("python", "/usr/bin/python3", "the Python with Debian's xgboost and pandas")
	flag.Parse()
	if err := run(*rows, *dir, *python); err != nil {
		fmt.Fprintln(os.Stderr, "bench/batch:", err)
		os.Exit(1)
	}
}

// measurement is one scorer's run over one file.
type measurement struct {
	name    string
	rows    int64
	seconds float64 // reading, predicting and writing; model loading excluded
	peakKiB int64   // the process's peak resident set (ru_maxrss)
	cpu     float64 // the process's user+system CPU seconds, start-up and model loading included
	detail  string
}

func run(rows int, dir, python string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "slipway-bench-batch-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	small := max(rows/10, 1)
	big, tenth := filepath.Join(dir, "fraud-big.csv"), filepath.Join(dir, "fraud-tenth.csv")
	for _, f := range []struct {
		path string
		n    int
	}{{big, rows}, {tenth, small}} {
		if err := generate(f.path, f.n, 1); err != nil {
			return err
		}
	}
	goBig, err := child(os.Args[0], "slipway (Go)", nil, "score", big, filepath.Join(dir, "go-big.csv"))
	if err != nil {
		return err
	}
	goSmall, err := child(os.Args[0], "slipway (Go)", nil, "score", tenth, filepath.Join(dir, "go-tenth.csv"))
	if err != nil {
		return err
	}
	py, err := child(python, "python3-xgboost", parsePython, "bench/batch/score.py", model+"/model.json", big, filepath.Join(dir, "py-big.csv"))
	if err != nil {
		return err
	}
	maxDiff, err := compareOutputs(filepath.Join(dir, "go-big.csv"), filepath.Join(dir, "py-big.csv"))
	if err != nil {
		return err
	}
	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d), %s\n\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Printf("| scorer | rows | seconds | rows/s | CPU seconds (whole process) | rows per CPU second | peak RSS |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, m := range []measurement{goBig, goSmall, py} {
		fmt.Printf("| %s | %d | %.2f | %.0f | %.2f | %.0f | %.0f MiB |\n", m.name, m.rows, m.seconds, float64(m.rows)/m.seconds,
			m.cpu, float64(m.rows)/m.cpu, float64(m.peakKiB)/1024)
	}
	fmt.Printf("\nslipway / python: %.2fx rows/s (wall clock), %.2fx rows per CPU second\n",
		(float64(goBig.rows)/goBig.seconds)/(float64(py.rows)/py.seconds), py.cpu/goBig.cpu)
	fmt.Printf("slipway peak RSS at %d rows vs %d rows: %.0f vs %.0f MiB\n", goSmall.rows, goBig.rows, float64(goSmall.peakKiB)/1024, float64(goBig.peakKiB)/1024)
	fmt.Printf("python timings: %s\n", py.detail)
	fmt.Printf("largest |score difference| between the two outputs: %.3g over %d rows\n", maxDiff, goBig.rows)
	return nil
}

// child runs one scorer in its own process and reads its report; parse
// reads the scorer's stdout (nil: slipway's own JSON).
func child(bin, name string, parse func([]byte, *measurement) error, args ...string) (measurement, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return measurement{}, fmt.Errorf("%s %s: %w", bin, strings.Join(args, " "), err)
	}
	m := measurement{name: name}
	if parse == nil {
		parse = parseGo
	}
	if err := parse(out, &m); err != nil {
		return m, fmt.Errorf("%s: %w: %s", name, err, out)
	}
	m.peakKiB = cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	m.cpu = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return m, nil
}

func parseGo(out []byte, m *measurement) error {
	var r batch.Result
	if err := json.Unmarshal(out, &r); err != nil {
		return err
	}
	m.rows, m.seconds = r.Rows, r.Elapsed.Seconds()
	return nil
}

func parsePython(out []byte, m *measurement) error {
	var r struct {
		Rows                            int64
		ReadS, PredictS, WriteS, TotalS float64
		Xgboost                         string
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	f := func(k string) float64 { v, _ := raw[k].(float64); return v }
	r.Rows, r.ReadS, r.PredictS, r.WriteS, r.TotalS = int64(f("rows")), f("read_s"), f("predict_s"), f("write_s"), f("total_s")
	r.Xgboost, _ = raw["xgboost"].(string)
	m.rows, m.seconds = r.Rows, r.TotalS
	m.detail = fmt.Sprintf("xgboost %s: read %.2fs, predict %.2fs, write %.2fs", r.Xgboost, r.ReadS, r.PredictS, r.WriteS)
	return nil
}

// scoreChild is the slipway side: load fraud v2 and batch.Score the file.
func scoreChild(in, out string) error {
	art, err := os.ReadFile(model + "/model.json")
	if err != nil {
		return err
	}
	v := slipway.Version{Model: "fraud", Version: "2.0.0", Format: slipway.FormatXGBoost}
	sig, err := os.ReadFile(model + "/signature.json")
	if err != nil {
		return err
	}
	if err := json.Unmarshal(sig, &v.Signature); err != nil {
		return err
	}
	p, err := rt.Load(context.Background(), v, art)
	if err != nil {
		return err
	}
	res, err := batch.Score(context.Background(), p, in, out, batch.Options{
		Data: dataset.Options{Ignore: []string{"region", "label"}}})
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// generate writes n fraud-like rows: holdout rows drawn with
// replacement, their continuous features jittered, missing cells kept.
func generate(path string, n int, seed uint64) error {
	f, err := os.Open("examples/fraud/holdout.csv")
	if err != nil {
		return fmt.Errorf("run from the repository root: %w", err)
	}
	all, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		return err
	}
	header, rows := all[0], all[1:]
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	w := bufio.NewWriterSize(out, 1<<20)
	rng := rand.New(rand.NewPCG(seed, 2))
	w.WriteString(strings.Join(header, ",") + "\n")
	jitter := map[string]struct {
		scale float64
		prec  int
	}{"amount": {0.1, 2}, "distance_from_home": {0.1, 1}, "merchant_risk": {0.05, 3}}
	for range n {
		src := rows[rng.IntN(len(rows))]
		for j, cell := range src {
			if j > 0 {
				w.WriteByte(',')
			}
			if jt, ok := jitter[header[j]]; ok {
				if v, err := strconv.ParseFloat(cell, 64); err == nil && !math.IsNaN(v) {
					cell = strconv.FormatFloat(v*math.Exp(jt.scale*rng.NormFloat64()), 'f', jt.prec, 64)
				}
			}
			w.WriteString(cell)
		}
		w.WriteByte('\n')
	}
	return w.Flush()
}

// compareOutputs checks the two scorers agree row by row.
func compareOutputs(a, b string) (float64, error) {
	fa, err := os.Open(a)
	if err != nil {
		return 0, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return 0, err
	}
	defer fb.Close()
	ra, rb := csv.NewReader(bufio.NewReader(fa)), csv.NewReader(bufio.NewReader(fb))
	ra.ReuseRecord, rb.ReuseRecord = true, true
	worst := 0.0
	for i := 0; ; i++ {
		x, errA := ra.Read()
		y, errB := rb.Read()
		if errA == io.EOF && errB == io.EOF {
			return worst, nil
		}
		if errA != nil || errB != nil {
			return 0, fmt.Errorf("outputs differ in length at row %d: %v, %v", i, errA, errB)
		}
		if i == 0 {
			continue
		}
		if x[0] != y[0] {
			return 0, fmt.Errorf("row %d: line %s vs %s", i, x[0], y[0])
		}
		va, _ := strconv.ParseFloat(x[1], 64)
		vb, _ := strconv.ParseFloat(y[1], 64)
		worst = max(worst, math.Abs(va-vb))
	}
}
