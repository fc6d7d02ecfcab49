// Package dataset streams tabular files — CSV with a header row, or JSON
// Lines with one object per line — as batches of tensors shaped for one
// model version's signature, so batch scoring, offline evaluation and
// quality gates read data the same way and reject bad files with the
// same errors.
//
// A file's columns are split into the model's inputs and a few named
// extras kept aside: a label (ground truth), a group (a segment, for
// fairness and per-segment comparisons), an id, and columns to ignore.
// Every other column must be an input; a file with a missing input or an
// unexpected column is refused up front, naming them all, rather than
// scored with features silently shifted or dropped.
//
// Inputs map onto the signature in one of two ways:
//   - one tensor per feature (every input has shape [-1] or [-1, 1]):
//     columns are matched to inputs by name, in any file order;
//   - one [rows, k] matrix input (such as the digits model's 64 pixels):
//     the k columns left after the extras, in file order. In JSON Lines
//     the matrix may instead be one array-valued key named like the input.
//
// Missing values (an empty CSV cell, NaN, NA or null; a JSON null or an
// absent key) become NaN in floating-point inputs, which tree models
// route by their default branches. An integer input refuses them.
//
// Reading is split so it can run in parallel: Reader.Read frames the next
// rows (cheap, sequential, it tracks byte offsets and line numbers), and
// Chunk.Decode parses them into tensors (safe to call on different chunks
// from different goroutines). Reader.Next does both. Every batch carries
// the Position after its last row; opening a file at that Position
// (Options.Resume) continues exactly where the batch ended, which is how
// batch scoring resumes after an interruption.
//
// Errors name the file, the line and the column:
//
//	holdout.csv:17: column amount: "abc" is not a number
//
// and match slipway.ErrInvalid.
package dataset
