package batch

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/slipway-ml/slipway/internal/dataset"
	rt "github.com/slipway-ml/slipway/internal/runtime"
)

// DefaultCheckpointRows is how many rows Score writes between checkpoints
// when Options.CheckpointRows is zero.
const DefaultCheckpointRows = 128 << 10

// Options tune Score and Compare. The zero value reads the file with the
// dataset package's defaults, uses GOMAXPROCS workers and reports no
// progress.
type Options struct {
	// Data says how to read the input: format, label, group, id and
	// ignored columns, batch size. Its Resume field is ignored; Score
	// manages resumption itself.
	Data dataset.Options
	// Workers is how many batches are predicted at once; zero means
	// GOMAXPROCS.
	Workers int
	// Progress, when set, is called after each batch is done, from one
	// goroutine at a time.
	Progress func(Progress)
	// Model identifies the model in Score's checkpoint, such as
	// "fraud@2.0.0 sha256:…"; a resume by another model is refused. Empty
	// is a valid identity of its own.
	Model string
	// OutputFormat is Score's output format; Auto (zero) means JSON Lines
	// for an output named .jsonl, .ndjson or .json, else CSV.
	OutputFormat dataset.Format
	// CheckpointRows is how many rows Score writes between checkpoints;
	// zero means DefaultCheckpointRows. Each checkpoint costs an fsync.
	CheckpointRows int64
}

func (o Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// Result sums up a Score run.
type Result struct {
	// Rows is the number of rows in the output, counting those written
	// before a resume.
	Rows int64 `json:"rows"`
	// Scored is the number of rows this run scored.
	Scored int64 `json:"scored"`
	// ResumedAt is the row this run started at; zero for a fresh run.
	ResumedAt int64 `json:"resumed_at"`
	// Elapsed is this run's duration.
	Elapsed time.Duration `json:"elapsed_ns"`
	// RowsPerSecond is this run's throughput.
	RowsPerSecond float64 `json:"rows_per_second"`
}

// Score predicts every row of the file at in with p and writes one row
// per input row, in input order, to the file at out. When OUT.progress
// is left from an interrupted run of the same input, model and layout,
// Score resumes it; otherwise out is overwritten. Cancelling ctx stops
// Score after a last checkpoint; it then returns ctx's error and the
// output so far can be resumed.
func Score(ctx context.Context, p rt.Predictor, in, out string, opt Options) (Result, error) {
	start := time.Now()
	fp, err := fingerprintOf(in)
	if err != nil {
		return Result{}, err
	}
	l := layout{format: outputFormat(out, opt.OutputFormat), id: opt.Data.ID}
	w, cp, err := openOutput(out, fp, opt.Model, l)
	if err != nil {
		return Result{}, err
	}
	defer w.file.Close()
	dopt := opt.Data
	dopt.Resume = cp.Next
	r, err := dataset.Open(in, p.Signature(), dopt)
	if err != nil {
		return Result{}, err
	}
	defer r.Close()
	if cp.Next == (dataset.Position{}) {
		cp.Next = r.Start()
	}
	w.cp = cp
	res := Result{ResumedAt: cp.Next.Row}
	every := opt.CheckpointRows
	if every <= 0 {
		every = DefaultCheckpointRows
	}
	report := progressFunc(opt.Progress, start, cp.Next.Row, fp.Size)
	var sinceCheckpoint int64
	err = pipeline(ctx, r, opt.workers(),
		func(ctx context.Context, b *dataset.Batch) (scored, error) { return scoreBatch(ctx, p, l, b) },
		func(s scored, rows int, end dataset.Position) error {
			if err := w.write(s); err != nil {
				return err
			}
			w.cp.Next = end
			res.Scored += int64(rows)
			if sinceCheckpoint += int64(rows); sinceCheckpoint >= every {
				sinceCheckpoint = 0
				if err := w.checkpoint(); err != nil {
					return err
				}
			}
			report(end)
			return nil
		})
	res.Rows = w.cp.Next.Row
	res.Elapsed = time.Since(start)
	res.RowsPerSecond = rate(res.Scored, res.Elapsed)
	if err != nil {
		// Keep what is complete: the rows written so far resume.
		if cerr := w.checkpoint(); cerr != nil {
			return res, errors.Join(err, cerr)
		}
		return res, err
	}
	if err := w.finish(); err != nil {
		return res, err
	}
	return res, nil
}

func rate(rows int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(rows) / d.Seconds()
}

func progressFunc(fn func(Progress), start time.Time, first, size int64) func(dataset.Position) {
	if fn == nil {
		return func(dataset.Position) {}
	}
	return func(end dataset.Position) {
		el := time.Since(start)
		p := Progress{Rows: end.Row, Elapsed: el, RowsPerSecond: rate(end.Row-first, el)}
		if size > 0 {
			p.Fraction = min(1, float64(end.Offset)/float64(size))
		}
		fn(p)
	}
}

func outputFormat(out string, f dataset.Format) dataset.Format {
	if f != dataset.Auto {
		return f
	}
	switch strings.ToLower(filepath.Ext(out)) {
	case ".jsonl", ".ndjson", ".json":
		return dataset.JSONL
	}
	return dataset.CSV
}

// scored is one batch's output rows, and the header they go under.
type scored struct {
	header, body []byte
}

func scoreBatch(ctx context.Context, p rt.Predictor, l layout, b *dataset.Batch) (scored, error) {
	outs, err := p.Predict(ctx, b.Inputs)
	if err != nil {
		return scored{}, fmt.Errorf("predict lines %d-%d: %w", b.Lines[0], b.Lines[b.Rows-1], err)
	}
	body, err := l.rows(make([]byte, 0, 32*b.Rows), b, outs)
	if err != nil {
		return scored{}, err
	}
	return scored{header: l.header(outs), body: body}, nil
}

// output is Score's output file and its checkpoint.
type output struct {
	path   string
	file   *os.File
	buf    *bufio.Writer
	cp     checkpoint // the state to record at the next checkpoint
	offset int64      // bytes written, buffered or not
}

// openOutput resumes out when its checkpoint matches, else creates it.
func openOutput(out string, in fingerprint, model string, l layout) (*output, checkpoint, error) {
	cp, ok, err := readCheckpoint(out)
	if err != nil {
		return nil, cp, err
	}
	if ok {
		if err := cp.check(out, in, model, l); err != nil {
			return nil, cp, err
		}
		f, err := os.OpenFile(out, os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			ok = false // the output is gone: start over
		} else if err != nil {
			return nil, cp, fmt.Errorf("open output: %w", err)
		} else {
			return resumeOutput(out, f, cp)
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return nil, cp, fmt.Errorf("create output: %w", err)
	}
	cp = checkpoint{Input: in, Model: model, Layout: l.String()}
	return &output{path: out, file: f, buf: bufio.NewWriterSize(f, 1<<20)}, cp, nil
}

// resumeOutput cuts off whatever was written after the checkpoint.
func resumeOutput(out string, f *os.File, cp checkpoint) (*output, checkpoint, error) {
	fi, err := f.Stat()
	if err == nil && fi.Size() < cp.OutputOffset {
		err = fmt.Errorf("it holds %d bytes but its checkpoint says %d were written; delete %s and %s to start over",
			fi.Size(), cp.OutputOffset, progressPath(out), out)
	}
	if err == nil {
		err = f.Truncate(cp.OutputOffset)
	}
	if err == nil {
		_, err = f.Seek(cp.OutputOffset, 0)
	}
	if err != nil {
		f.Close()
		return nil, cp, fmt.Errorf("resume output %s: %w", out, err)
	}
	return &output{path: out, file: f, buf: bufio.NewWriterSize(f, 1<<20), offset: cp.OutputOffset}, cp, nil
}

func (o *output) write(s scored) error {
	if o.offset == 0 && len(s.header) > 0 {
		n, _ := o.buf.Write(s.header)
		o.offset += int64(n)
	}
	n, err := o.buf.Write(s.body)
	o.offset += int64(n)
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// checkpoint makes everything written durable, then records it.
func (o *output) checkpoint() error {
	if err := o.buf.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if err := o.file.Sync(); err != nil {
		return fmt.Errorf("sync output: %w", err)
	}
	o.cp.OutputOffset = o.offset
	return writeCheckpoint(o.path, o.cp)
}

// finish makes the complete output durable and drops the checkpoint.
func (o *output) finish() error {
	if err := o.buf.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if err := o.file.Sync(); err != nil {
		return fmt.Errorf("sync output: %w", err)
	}
	if err := os.Remove(progressPath(o.path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove checkpoint: %w", err)
	}
	return nil
}
