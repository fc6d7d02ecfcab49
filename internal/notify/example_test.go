package notify_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/notify"
)

func Example() {
	// A Slack-compatible receiver that prints what it gets.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Println(r.Header.Get("X-Slipway-Event"), r.Header.Get("X-Slipway-Delivery"))
		fmt.Println(string(body))
	}))
	defer srv.Close()

	n := notify.New(notify.Config{})
	targets := []notify.Target{{URL: srv.URL, Slack: true, Events: []string{"rolled-back"}}}
	r := slipway.Rollout{ID: 42, Model: "fraud", Candidate: "3.0.0", Baseline: "2.0.0", Strategy: "canary"}

	// Filtered out: the target wants rollbacks only.
	n.Send(targets, notify.Message{Rollout: r, Event: slipway.RolloutEvent{
		Rollout: 42, Seq: 6, Kind: "stage-advanced", Actor: "controller", StepName: "canary", Weight: 500,
	}})
	n.Send(targets, notify.Message{Rollout: r, Event: slipway.RolloutEvent{
		Rollout: 42, Seq: 7, Kind: "rolled-back", Actor: "controller", StepName: "canary",
		Status: slipway.RolloutRolledBack, Reason: "accuracy 91.2% < 0.98× baseline 96.1%",
	}})

	// Close delivers what is queued before it returns.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		fmt.Println(err)
	}
	fmt.Println(n.Stats().Sent)
	// Output:
	// rolled-back 42-7
	// {"text":":rotating_light: fraud 2.0.0 → 3.0.0 rolled back at stage canary: accuracy 91.2% &lt; 0.98× baseline 96.1%"}
	// 1
}
