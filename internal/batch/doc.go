// Package batch scores tabular files with a model version offline, and
// compares two versions over the same file before a batch deployment
// switches from one to the other.
//
// Score streams: one goroutine frames rows (dataset.Reader), a pool of
// workers parses, predicts and formats whole batches, and the caller's
// goroutine writes the batches back in input order. At most two batches
// per worker are in flight, so memory stays flat however large the file.
//
// Score is resumable. Every Options.CheckpointRows rows it flushes and
// fsyncs the output, then replaces OUT.progress (written to a temporary
// file, fsynced, renamed) with where the input and output stand. After an
// interruption — a cancelled context, a crash, SIGKILL — rerunning with
// the same output truncates it to the checkpointed byte offset and reads
// the input from the matching row, so the result holds exactly one
// output row per input row. The checkpoint records the input's size and
// a digest of its first 64 KiB, the model and the output layout, and a
// resume against anything else is refused rather than stitched together.
// A finished run removes OUT.progress.
//
// Compare scores both versions over one file and reports what a batch
// deployment needs to see side by side: label agreement and the
// confusion between the versions, the distribution of score
// differences, per-segment stability, and drift between the two score
// distributions (PSI over ten quantile bins of the first version's
// scores, and the Kolmogorov–Smirnov statistic). Unlike Score it keeps
// every row's two scores in memory (about 40 bytes a row), since exact
// quantiles and the KS statistic need them.
package batch
