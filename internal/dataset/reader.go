package dataset

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/runtime"
)

// DefaultBatchSize is the rows per batch when Options.BatchSize is zero.
const DefaultBatchSize = 512

// Options say how to read a file. The zero value detects the format,
// treats every column as a model input and reads 512 rows per batch.
type Options struct {
	// Format is the file's encoding; Auto (zero) detects it.
	Format Format
	// Label names the ground-truth column; empty means none. Each label
	// is checked against LabelKind.
	Label string
	// LabelKind is what the label column must hold; the zero value
	// accepts any finite number.
	LabelKind LabelKind
	// Group names a column of segments (for fairness and per-segment
	// comparisons); empty means none.
	Group string
	// ID names a column identifying rows; empty means none.
	ID string
	// Ignore lists columns that are neither inputs nor extras. Names not
	// in the file are allowed, so one list fits several files.
	Ignore []string
	// BatchSize is the rows per batch; zero means DefaultBatchSize.
	BatchSize int
	// Resume starts reading at a Position an earlier reader of the same
	// file returned (Batch.End); the zero value starts at the first row.
	Resume Position
}

// Position is a place between rows of a file.
type Position struct {
	// Offset is the byte offset in the file where the next row starts.
	Offset int64 `json:"offset"`
	// Line is the number of lines before Offset.
	Line int `json:"line"`
	// Row is the number of data rows (header excluded) before Offset.
	Row int64 `json:"row"`
}

// Reader streams a tabular file as batches. It is not safe for
// concurrent use, but the Chunks it returns may be decoded concurrently.
type Reader struct {
	name   string
	closer io.Closer
	br     *bufio.Reader
	format Format
	plan   *plan
	batch  int
	pos    Position // after the last row framed
	start  Position // after the header
	rows   int64    // rows framed by this reader
	done   bool
	// chunkBytes is the last chunk's size, to size the next one's buffer
	// without growing it row by row.
	chunkBytes int
	// pending is a line read ahead (the first JSON object, read for its
	// keys) that the next readLine returns first.
	pending []byte
}

// Open opens the file at path for sig's inputs.
func Open(path string, sig slipway.Signature, opt Options) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	r, err := newReader(f, path, sig, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// NewReader reads a tabular stream called name (used in errors and to
// detect the format) for sig's inputs. A Resume position is reached by
// seeking when in is an io.Seeker, else by reading and discarding the
// bytes before it.
func NewReader(in io.Reader, name string, sig slipway.Signature, opt Options) (*Reader, error) {
	return newReader(in, name, sig, opt)
}

func newReader(in io.Reader, name string, sig slipway.Signature, opt Options) (*Reader, error) {
	if err := opt.LabelKind.Validate(); err != nil {
		return nil, err
	}
	r := &Reader{name: name, br: bufio.NewReaderSize(in, 64<<10), format: opt.Format, batch: opt.BatchSize}
	if r.batch <= 0 {
		r.batch = DefaultBatchSize
	}
	head, err := r.br.Peek(512)
	if len(head) == 0 {
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		return nil, errorf(name, 0, "", "empty file")
	}
	if r.format == Auto {
		r.format = Detect(name, head)
	}
	if bytes.HasPrefix(head, bom) {
		r.br.Discard(len(bom))
		r.pos.Offset = int64(len(bom))
	}
	header, err := r.readHeader()
	if err != nil {
		return nil, err
	}
	if r.plan, err = newPlan(name, header, sig, opt); err != nil {
		return nil, err
	}
	r.start = r.pos
	if opt.Resume != (Position{}) {
		if err := r.seek(opt.Resume, in); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// seek moves to a position after the header: by seeking when in can,
// else by reading and discarding the bytes before it.
func (r *Reader) seek(p Position, in io.Reader) error {
	if p.Offset < r.pos.Offset || p.Line < r.pos.Line || p.Row < 0 {
		return fmt.Errorf("resume %s at byte %d, line %d: that is inside the header", r.name, p.Offset, p.Line)
	}
	if s, ok := in.(io.Seeker); ok {
		if _, err := s.Seek(p.Offset, io.SeekStart); err != nil {
			return fmt.Errorf("resume %s: %w", r.name, err)
		}
		r.br.Reset(in)
	} else {
		skip := p.Offset - r.pos.Offset - int64(len(r.pending))
		if _, err := r.br.Discard(int(skip)); err != nil {
			return fmt.Errorf("resume %s at byte %d: %w", r.name, p.Offset, err)
		}
	}
	r.pending = nil
	r.pos = p
	return nil
}

// Format is the file's format, detected or as given.
func (r *Reader) Format() Format { return r.format }

// Header lists the file's columns: the CSV header, or the keys of the
// first JSON object in the order they appear.
func (r *Reader) Header() []string { return r.plan.header }

// Start is the Position of the first data row, just after the header.
func (r *Reader) Start() Position { return r.start }

// Close closes the file Open opened.
func (r *Reader) Close() error {
	if r.closer == nil {
		return nil
	}
	return r.closer.Close()
}

// Chunk is up to one batch of framed rows, not yet parsed.
type Chunk struct {
	plan   *plan
	format Format
	data   []byte
	recs   []record
	// First is the index of the chunk's first row among the file's data
	// rows, from 0.
	First int64
	// End is the Position after the chunk's last row.
	End Position
}

// record is one row's bytes in Chunk.data, without its line ending.
type record struct {
	start, end int
	line       int
}

// Rows is the number of rows in the chunk.
func (c *Chunk) Rows() int { return len(c.recs) }

// Batch is rows decoded for a model: Inputs go to Predictor.Predict, the
// extras stay aside, all in row order.
type Batch struct {
	Inputs []runtime.Tensor
	Rows   int
	// First is the index of the batch's first row among the file's data
	// rows, from 0.
	First int64
	// Lines holds each row's line number in the file.
	Lines []int
	// Labels, Groups and IDs hold the extra columns' values; nil when the
	// column is not used. A label is a class id or a number (see
	// LabelKind.ParseLabel).
	Labels []float64
	Groups []string
	IDs    []string
	// End is the Position after the batch's last row.
	End Position
}

// Next reads and decodes the next batch. It returns io.EOF after the last.
func (r *Reader) Next() (*Batch, error) {
	c, err := r.Read()
	if err != nil {
		return nil, err
	}
	return c.Decode()
}

// Read frames the next batch of rows without parsing them. It returns
// io.EOF after the last row, and an error for a file with a header but
// no rows.
func (r *Reader) Read() (*Chunk, error) {
	if r.done {
		return nil, io.EOF
	}
	c := &Chunk{plan: r.plan, format: r.format, First: r.pos.Row, recs: make([]record, 0, r.batch),
		data: make([]byte, 0, r.chunkBytes+r.chunkBytes/8)}
	for len(c.recs) < r.batch {
		ok, err := r.frame(c)
		if err != nil {
			return nil, err
		}
		if !ok {
			r.done = true
			break
		}
	}
	r.rows += int64(len(c.recs))
	r.chunkBytes = len(c.data)
	c.End = r.pos
	if len(c.recs) == 0 {
		if r.rows == 0 && r.pos.Row == 0 {
			return nil, errorf(r.name, 0, "", "no rows after the header")
		}
		return nil, io.EOF
	}
	return c, nil
}

// frame appends the next non-blank row to c; false at the end of the file.
func (r *Reader) frame(c *Chunk) (bool, error) {
	for {
		start, line := len(c.data), r.pos.Line+1
		var err error
		c.data, err = r.readRecord(c.data)
		if err != nil {
			return false, err
		}
		if len(c.data) == start {
			return false, nil
		}
		end := trimEOL(c.data, start)
		if isBlank(c.data[start:end]) {
			c.data = c.data[:start]
			continue
		}
		c.recs = append(c.recs, record{start: start, end: end, line: line})
		r.pos.Row++
		return true, nil
	}
}

// readRecord appends the next record, with its line ending, to dst and
// advances the position. A CSV record runs on while a quote is open.
func (r *Reader) readRecord(dst []byte) ([]byte, error) {
	line := r.pos.Line + 1
	quotes := 0
	for {
		before := len(dst)
		var err error
		dst, err = r.readLine(dst)
		if err != nil && err != io.EOF {
			return dst, fmt.Errorf("read %s: %w", r.name, err)
		}
		if len(dst) > before {
			r.pos.Offset += int64(len(dst) - before)
			r.pos.Line++
		}
		if r.format != CSV {
			return dst, nil
		}
		quotes += bytes.Count(dst[before:], quote)
		if quotes%2 == 0 {
			return dst, nil
		}
		if len(dst) == before || err == io.EOF {
			return dst, errorf(r.name, line, "", "quoted field is not closed before the end of the file")
		}
	}
}

var quote = []byte{'"'}

// readLine appends one line, with its '\n' if it has one, to dst.
func (r *Reader) readLine(dst []byte) ([]byte, error) {
	if r.pending != nil {
		dst = append(dst, r.pending...)
		r.pending = nil
		return dst, nil
	}
	for {
		s, err := r.br.ReadSlice('\n')
		dst = append(dst, s...)
		if err != bufio.ErrBufferFull {
			return dst, err
		}
	}
}

func trimEOL(b []byte, start int) int {
	end := len(b)
	if end > start && b[end-1] == '\n' {
		end--
	}
	if end > start && b[end-1] == '\r' {
		end--
	}
	return end
}

func isBlank(b []byte) bool { return len(bytes.TrimSpace(b)) == 0 }

// readHeader reads the CSV header row, or the first JSON object's keys
// (leaving the object to be read as the first row).
func (r *Reader) readHeader() ([]string, error) {
	if r.format == JSONL {
		return r.peekKeys()
	}
	for {
		line := r.pos.Line + 1
		rec, err := r.readRecord(nil)
		if err != nil {
			return nil, err
		}
		if len(rec) == 0 {
			return nil, errorf(r.name, 0, "", "empty file")
		}
		rec = rec[:trimEOL(rec, 0)]
		if isBlank(rec) {
			continue
		}
		cr := csv.NewReader(bytes.NewReader(rec))
		cr.FieldsPerRecord = -1
		header, err := cr.Read()
		if err != nil {
			return nil, errorf(r.name, line, "", "header: %v", csvCause(err))
		}
		for i := range header {
			header[i] = string(bytes.TrimSpace([]byte(header[i])))
		}
		return header, nil
	}
}

// csvCause drops encoding/csv's own position, which counts from the
// record rather than the file.
func csvCause(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
