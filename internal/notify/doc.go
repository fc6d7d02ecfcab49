// Package notify delivers rollout events to webhooks, as slipway's own JSON
// or as Slack-compatible messages, without ever making the rollout
// controller wait for a receiver.
//
// # Delivery
//
// Send matches an event against each Target's filter and puts one delivery
// per match on a bounded queue, which a fixed pool of workers empties. When
// the queue is full the delivery is dropped and counted: a slow or hanging
// webhook costs notifications, never a rollout step. Close stops accepting,
// lets the workers drain the queue within its context, and drops (and
// counts) what is left when the context ends.
//
// A delivery is a POST of one JSON document. It is retried, with
// exponential backoff, after a network error, a 5xx or a 429 (waiting at
// least the Retry-After the receiver asks for, up to 30 s), until
// Config.Attempts attempts were made; any other status but 2xx fails it at
// once, since sending the same request again would get the same answer. Every request carries:
//
//	Content-Type: application/json
//	User-Agent: slipway
//	X-Slipway-Event: <event kind>
//	X-Slipway-Delivery: <rollout id>-<event seq>
//
// X-Slipway-Delivery is the same on every attempt (and for every target) of
// one event, so a receiver that already saw it can drop the duplicate. An
// event the store has not numbered yet (Seq 0) gets
// <rollout id>-<kind>-<event time in Unix nanoseconds> instead, which is as
// stable.
//
// Stats counts what was sent, failed and dropped, in total and per target
// URL, with the last error of each target and when it happened, so that a
// failing webhook is visible to the people who configured it.
//
// # Events
//
// A Target receives the event kinds its Events lists; an empty list means
// every kind but "decision": started, stage-advanced, approval-needed,
// paused, resumed, trigger-fired, rolled-back, aborted, completed,
// promoted, undone and retried. A "decision" event (an analysis outcome
// that changed nothing, such as waiting for data) is never sent: it
// explains a rollout to someone who asks, it is not news.
//
// # Slipway JSON: the contract
//
// A target without Slack receives the Payload type, encoded as:
//
//	{
//	  "event": "rolled-back",
//	  "at": "2025-03-04T10:20:30.123456789Z",
//	  "actor": "controller",
//	  "reason": "accuracy 91.2% < 0.98× baseline 96.1%",
//	  "rollout": {
//	    "id": 42,
//	    "model": "fraud",
//	    "candidate": "3.0.0",
//	    "baseline": "2.0.0",
//	    "strategy": "canary",
//	    "status": "rolled-back",
//	    "step": 0,
//	    "step_name": "canary",
//	    "weight_percent": 0
//	  },
//	  "verdict": {
//	    "result": "fail",
//	    "reason": "accuracy 91.2% < 0.98× baseline 96.1%",
//	    "metrics": [{"metric": "accuracy", "rule": "…", "result": "fail",
//	                 "candidate": 91.2, "baseline": 96.1,
//	                 "candidate_n": 500, "baseline_n": 9500,
//	                 "min_samples": 100, "reason": "…"}],
//	    "window_seconds": 600
//	  }
//	}
//
// event is the kind; at is when it happened, RFC 3339 with nanoseconds, in
// UTC; actor is a person's name or "controller"; reason says why in a
// sentence. rollout.status, step, step_name and weight_percent are the
// rollout's after the event (so a rolled-back rollout shows 0%);
// weight_percent is the candidate's share of live traffic in percent,
// possibly fractional (0.5). verdict is present only when an analysis
// decided the event; it is slipway.Verdict's JSON. Fields may be added;
// none will be removed or change meaning.
//
// # Slack-compatible messages
//
// A target with Slack receives {"text": "…"}, which Slack incoming
// webhooks, Mattermost and Rocket.Chat all accept: one line with an emoji
// for the kind, the model, baseline → candidate, the stage and its weight,
// who acted when it was a person, and the reason, such as
//
//	:rotating_light: fraud 2.0.0 → 3.0.0 rolled back at stage canary: accuracy 91.2% < 0.98× baseline 96.1%
//
// &, < and > are written as &amp;, &lt; and &gt;, as Slack requires (a bare
// < opens a link); the others render the entities as the characters.
package notify
