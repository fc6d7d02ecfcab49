package batch

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipway-ml/slipway/internal/dataset"
)

// Progress is how far a run has got.
type Progress struct {
	// Rows is the number of input rows done, counting rows a resumed run
	// had done before.
	Rows int64
	// Fraction is the share of the input's bytes done, in [0, 1].
	Fraction float64
	// Elapsed is the time this run has taken so far.
	Elapsed time.Duration
	// RowsPerSecond is this run's throughput.
	RowsPerSecond float64
}

// done is one batch's result on its way to the in-order sink.
type done[T any] struct {
	seq   int64
	value T
	rows  int
	end   dataset.Position
	err   error
}

// work turns one decoded batch into a result.
type work[T any] func(ctx context.Context, b *dataset.Batch) (T, error)

// sink consumes results in input order.
type sink[T any] func(value T, rows int, end dataset.Position) error

// pipeline reads r with one goroutine, runs work on batches with workers
// goroutines and calls sink in input order from the calling goroutine.
// At most 2×workers batches are in flight. The first error in input
// order stops it (later batches are dropped); a cancelled ctx stops
// reading, and the batches already read are still sunk if they succeed.
func pipeline[T any](ctx context.Context, r *dataset.Reader, workers int, w work[T], s sink[T]) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tokens := make(chan struct{}, 2*workers)
	jobs := make(chan done[*dataset.Chunk], workers)
	results := make(chan done[T], 2*workers)

	var wg sync.WaitGroup
	var eof atomic.Bool
	wg.Go(func() { eof.Store(readChunks(ctx, r, tokens, jobs)) })
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				results <- runJob(ctx, j, w)
			}
		})
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	pending := map[int64]done[T]{}
	var next int64
	var first error
	for res := range results {
		if first != nil {
			continue // drain, so every goroutine ends
		}
		pending[res.seq] = res
		for {
			d, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if d.err == nil {
				d.err = s(d.value, d.rows, d.end)
			}
			if d.err != nil {
				first = d.err
				cancel()
				break
			}
			<-tokens
		}
	}
	if first == nil && !eof.Load() {
		// Reading stopped early: the run was cancelled from outside.
		first = context.Cause(ctx)
	}
	return first
}

// readChunks frames the input into jobs until it ends, fails or ctx is
// done, and reports whether it reached the end. A read error travels as
// a job so it surfaces in input order.
func readChunks(ctx context.Context, r *dataset.Reader, tokens chan struct{}, jobs chan<- done[*dataset.Chunk]) bool {
	defer close(jobs)
	for seq := int64(0); ; seq++ {
		select {
		case tokens <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		c, err := r.Read()
		if err == io.EOF {
			<-tokens
			return true
		}
		jobs <- done[*dataset.Chunk]{seq: seq, value: c, err: err}
		if err != nil {
			return false
		}
	}
}

func runJob[T any](ctx context.Context, j done[*dataset.Chunk], w work[T]) done[T] {
	out := done[T]{seq: j.seq, err: j.err}
	if j.err != nil {
		return out
	}
	out.rows, out.end = j.value.Rows(), j.value.End
	b, err := j.value.Decode()
	if err != nil {
		out.err = err
		return out
	}
	out.value, out.err = w(ctx, b)
	return out
}
