// Package csvtest reads CSV fixtures (the examples' holdouts and
// reference predictions, files a test wrote) for tests, with
// encoding/csv alone, so a test's expectations do not go through the
// reader it checks.
package csvtest

import (
	"encoding/csv"
	"os"
	"testing"
)

// Read returns every record of the CSV file at path, header first, and
// fails the test when the file cannot be opened or parsed.
func Read(tb testing.TB, path string) [][]string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	all, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatalf("read %s: %v", path, err)
	}
	return all
}
