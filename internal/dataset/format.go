package dataset

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
)

// Format is how a tabular file is encoded.
type Format int

const (
	// Auto, the zero value, detects the format: by the file name's
	// extension, else by the first non-blank byte ('{' means JSON Lines).
	Auto Format = iota
	// CSV is comma-separated values with a header row (RFC 4180 quoting).
	CSV
	// JSONL is JSON Lines: one JSON object per line, keys naming columns.
	JSONL
)

func (f Format) String() string {
	switch f {
	case Auto:
		return "auto"
	case CSV:
		return "csv"
	case JSONL:
		return "jsonl"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat reads a format's name: csv, jsonl (or ndjson), auto or "".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return Auto, nil
	case "csv":
		return CSV, nil
	case "jsonl", "ndjson":
		return JSONL, nil
	}
	return Auto, fmt.Errorf("format %q: want csv or jsonl", s)
}

// Detect picks the format of a file from its name and its first bytes.
func Detect(name string, head []byte) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return CSV
	case ".jsonl", ".ndjson", ".json":
		return JSONL
	}
	head = bytes.TrimLeft(bytes.TrimPrefix(head, bom), " \t\r\n")
	if len(head) > 0 && head[0] == '{' {
		return JSONL
	}
	return CSV
}

// bom is the UTF-8 byte-order mark some tools write at a file's start.
var bom = []byte{0xEF, 0xBB, 0xBF}
