// Package storetest is the contract every store.Store backend meets,
// written once and run by each backend's tests:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.OpenFunc {
//			path := filepath.Join(t.TempDir(), "slipway.db")
//			return func(ctx context.Context) (store.Store, error) { return sqlite.Open(ctx, path) }
//		})
//	}
//
// Subtests run in parallel, each on its own fresh storage.
package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/store"
)

// OpenFunc opens a store on one piece of storage. Called again after the
// previous store was closed, it must open the same data, as a restarted
// server would.
type OpenFunc func(ctx context.Context) (store.Store, error)

// contract lists the suite's subtests.
var contract = []struct {
	name string
	run  func(t *testing.T, e *env)
}{
	{"ModelPutGet", testModelPutGet},
	{"ModelUpdate", testModelUpdate},
	{"ModelList", testModelList},
	{"ModelDelete", testModelDelete},
	{"VersionRoundTrip", testVersionRoundTrip},
	{"VersionCreatesModel", testVersionCreatesModel},
	{"VersionDuplicate", testVersionDuplicate},
	{"VersionList", testVersionList},
	{"VersionState", testVersionState},
	{"VersionInvalid", testVersionInvalid},
	{"VersionDelete", testVersionDelete},
	{"VersionDeleteInUse", testVersionDeleteInUse},
	{"DigestInUse", testDigestInUse},
	{"AliasMove", testAliasMove},
	{"AliasMoveToMissingVersion", testAliasMoveToMissingVersion},
	{"AliasList", testAliasList},
	{"AliasDelete", testAliasDelete},
	{"AliasHistory", testAliasHistory},
	{"NotFound", testNotFound},
	{"ConcurrentCreateSameVersion", testConcurrentCreateSameVersion},
	{"ConcurrentCreateDistinctVersions", testConcurrentCreateDistinctVersions},
	{"ConcurrentAliasMoves", testConcurrentAliasMoves},
	{"RouteSetGetHistory", testRouteSetGetHistory},
	{"RouteRefused", testRouteRefused},
	{"RouteList", testRouteList},
	{"RolloutRoundTrip", testRolloutRoundTrip},
	{"RolloutRefused", testRolloutRefused},
	{"RolloutOneLive", testRolloutOneLive},
	{"RolloutUpdate", testRolloutUpdate},
	{"RolloutNotFound", testRolloutNotFound},
	{"RolloutList", testRolloutList},
	{"RolloutModelDeleted", testRolloutModelDeleted},
	{"Heartbeat", testHeartbeat},
	{"ConcurrentLiveRollouts", testConcurrentLiveRollouts},
	{"ConcurrentRolloutUpdates", testConcurrentRolloutUpdates},
	{"RolloutRestart", testRolloutRestart},
	{"Restart", testRestart},
	{"ReopenMigratesOnce", testReopenMigratesOnce},
	{"GateReports", testGateReports}, {"GateReportRefused", testGateReportRefused},
	{"Approvals", testApprovals}, {"GatesGoWithVersion", testGatesGoWithVersion},
}

// Run runs the contract suite. fresh is called once per subtest: it must
// create empty storage (a new file, a new schema), arrange for t's cleanup
// to remove it, and return how to open it.
func Run(t *testing.T, fresh func(t *testing.T) OpenFunc) {
	for _, c := range contract {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := &env{t: t, open: fresh(t)}
			e.s = e.mustOpen()
			c.run(t, e)
		})
	}
	// Not in contract: it needs storage no store has opened yet.
	t.Run("ConcurrentOpen", func(t *testing.T) {
		t.Parallel()
		testConcurrentOpen(t, fresh(t))
	})
}

// env is one subtest's storage and the store currently open on it.
type env struct {
	t    *testing.T
	open OpenFunc
	s    store.Store
}

// mustOpen opens a store and closes it when the test ends. The cleanup
// ignores Close's error: reopen checks it where closing is under test, and
// closing an already closed store is not part of the contract.
func (e *env) mustOpen() store.Store {
	e.t.Helper()
	s, err := e.open(e.t.Context())
	if err != nil {
		e.t.Fatalf("open store: %v", err)
	}
	e.t.Cleanup(func() { _ = s.Close() })
	return s
}

// reopen closes the current store and opens a new one on the same data.
func (e *env) reopen() {
	e.t.Helper()
	if err := e.s.Close(); err != nil {
		e.t.Fatalf("close store: %v", err)
	}
	e.s = e.mustOpen()
}

// wantErr fails t unless err wraps target and its message contains every
// one of fragments.
func wantErr(t *testing.T, err, target error, fragments ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want one wrapping %q", err, target)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not mention %q", err, f)
		}
	}
}

// must fails t when err is not nil.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// within fails t unless got lies in [before, after], the window of a call
// that stamped got with the current time.
func within(t *testing.T, what string, got, before, after time.Time) {
	t.Helper()
	if got.Before(before) || got.After(after) {
		t.Errorf("%s = %v, want the time of the call, between %v and %v", what, got, before, after)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", what, got.Location())
	}
}

// at is a fixed time with nanoseconds in a non-UTC zone: stores must keep
// the instant exactly and return it in UTC.
func at(minute int) time.Time {
	zone := time.FixedZone("UTC+2", 2*60*60)
	return time.Date(2025, 3, 14, 15, minute, 26, 535897932, zone)
}

// minimal returns the smallest valid version of model.
func minimal(model, version string) slipway.Version {
	return slipway.Version{
		Model:   model,
		Version: version,
		Format:  slipway.FormatONNX,
		Digest:  "sha256:" + strings.Repeat("ab", 32),
		Size:    1024,
	}
}

// full returns a version with every field set.
func full(model, version string) slipway.Version {
	return slipway.Version{
		Model:   model,
		Version: version,
		Format:  slipway.FormatXGBoost,
		Digest:  "sha256:" + strings.Repeat("0f", 32),
		Size:    1 << 40,
		Signature: slipway.Signature{
			Inputs: []slipway.TensorSpec{
				{Name: "features", Datatype: "FP32", Shape: []int64{-1, 30}},
				{Name: "country", Datatype: "BYTES", Shape: []int64{}},
			},
			Outputs: []slipway.TensorSpec{{Name: "score", Datatype: "FP64", Shape: []int64{-1}}},
		},
		Metrics: map[string]float64{"auc": 0.9731, "logloss": 0.1 + 0.2, "tiny": 1e-300, "rows": 1e9},
		Meta:    map[string]string{"framework": "xgboost 1.7.4", "unicode": "Grüße, 世界 \"quoted\""},
		Lineage: slipway.Lineage{
			Parent:   "1.9.0",
			DataRef:  "s3://data/fraud/2025-03",
			DataHash: "sha256:" + strings.Repeat("cd", 32),
		},
		Card:      "# Fraud detector\n\nTrained on March data.\n",
		State:     slipway.StateValidated,
		CreatedAt: at(1),
		CreatedBy: "alice",
	}
}
