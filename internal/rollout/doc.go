// Package rollout carries deployments out: it turns a deployment spec into a
// rollout, advances every live rollout on a short tick, and promotes, pauses
// or rolls it back on the evidence of live telemetry, recording every
// transition and the reason for it.
//
// # State first, effect second
//
// A rollout's whole state is one stored record (slipway.Rollout): status,
// step, when the step started. Every transition is written to the store,
// with its events, before anything else happens; the routing table of a
// model with a live rollout is then derived from the record and swapped in.
// A crash between the two leaves a record whose effect is missing, and the
// controller re-derives and applies it when it starts, before the server
// takes traffic. So a restarted server resumes each rollout at its step, with
// no step skipped or repeated, and never routes to a version whose rollback
// was recorded.
//
// Effects beyond the routing table (moving the production alias when a
// rollout completes, releasing its route when it ends) are finished the same
// way: the record says Applied=false until they are done, and the controller
// finishes them after a crash.
//
// The step clock is the time the step has served: now - StepStarted, where
// StepStarted moves forward by the time the rollout was paused or the
// controller was down (measured from its heartbeat). Telemetry lives in
// memory, so after a restart the analysis sees only new traffic, and a step
// whose time has passed still waits for its minimum samples.
//
// # Decisions
//
// At every tick a live rollout's rollback triggers are checked first: a
// trigger that fires pauses the rollout or rolls it back at once, as the
// spec says. Then, for a progressing rollout whose step has served its
// duration, the step's analysis is judged over the time the step has
// served (earlier verdicts are shown in the status but not acted on: they
// rest on the first few samples, and acting at once is the triggers' job):
//
//   - fail: roll back;
//   - pass: advance to the next step, or wait for a person when the step
//     asks for approval;
//   - inconclusive (too little data): wait. Once the step has served twice
//     its duration without a verdict, take the analysis' inconclusive
//     action (pause by default). Too little data never fails a step and
//     never passes it.
//
// Passing the last step completes the rollout; a strategy that promotes
// then moves the production alias to the candidate, recording the version
// it pointed at as Previous for undo. A rollback or an abort leaves the
// alias where it was.
//
// One controller runs per store: two servers sharing a PostgreSQL store
// would both drive the same rollouts. Their writes cannot overwrite each
// other (each update names the revision it read), but leader election is
// left for later.
package rollout
