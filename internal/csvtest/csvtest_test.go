package csvtest

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.csv")
	if err := os.WriteFile(path, []byte("a,b\n1,\"x,y\"\n2,z\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a", "b"}, {"1", "x,y"}, {"2", "z"}}
	if got := Read(t, path); !reflect.DeepEqual(got, want) {
		t.Errorf("Read = %q, want %q", got, want)
	}
}
