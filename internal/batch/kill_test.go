package batch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-ml/slipway/internal/batch"
)

// envKill makes the test binary a scorer to be killed: it scores
// $BATCH_KILL_IN into $BATCH_KILL_OUT slowly, so the parent catches it
// mid-run.
const envKill = "BATCH_KILL_HELPER"

func TestKilledScorerHelper(t *testing.T) {
	if os.Getenv(envKill) != "1" {
		t.Skip("helper process for TestResumeAfterSIGKILL")
	}
	data := fraudData
	data.BatchSize = 50
	p := load(t, "fraud/v2")
	_, err := batch.Score(context.Background(), p, os.Getenv("BATCH_KILL_IN"), os.Getenv("BATCH_KILL_OUT"), batch.Options{
		Data: data, Workers: 2, CheckpointRows: 300,
		Progress: func(batch.Progress) { time.Sleep(3 * time.Millisecond) },
	})
	t.Fatalf("the helper should have been killed before finishing (err %v)", err)
}

// A scorer killed with SIGKILL, between checkpoints and with output
// written past the last one, resumes to exactly the uninterrupted output.
func TestResumeAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.csv"), filepath.Join(dir, "out.csv")
	n := repeatHoldout(t, in, 4)
	data := fraudData
	data.BatchSize = 50
	want := uninterrupted(t, in, batch.Options{Data: data})

	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledScorerHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), envKill+"=1", "BATCH_KILL_IN="+in, "BATCH_KILL_OUT="+out)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Wait for a checkpoint a good way in, then kill without warning.
	var killedAt int64
	for killedAt == 0 {
		select {
		case err := <-exited:
			t.Fatalf("helper exited before it was killed: %v\n%s", err, stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		var cp struct {
			Next struct{ Row int64 } `json:"next"`
		}
		if b, err := os.ReadFile(out + ".progress"); err == nil && json.Unmarshal(b, &cp) == nil && cp.Next.Row >= int64(n)/3 {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killedAt = cp.Next.Row
		}
	}
	<-exited
	if killedAt >= int64(n) {
		t.Fatalf("killed too late: checkpoint at row %d of %d", killedAt, n)
	}
	res, err := batch.Score(context.Background(), load(t, "fraud/v2"), in, out, batch.Options{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if res.ResumedAt < killedAt || res.Rows != int64(n) {
		t.Fatalf("resume after kill at row %d: %+v", killedAt, res)
	}
	if got := []byte(readFile(t, out)); !bytes.Equal(got, want) {
		t.Fatalf("output after kill and resume differs from the uninterrupted one (%d vs %d bytes)", len(got), len(want))
	}
	t.Logf("killed with a checkpoint at row %d of %d; resumed at row %d", killedAt, n, res.ResumedAt)
}
