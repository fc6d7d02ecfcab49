package storetest

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
)

func testVersionRoundTrip(t *testing.T, e *env) {
	remote := slipway.Version{Model: "fraud", Version: "remote-1", Format: slipway.FormatRemote, URL: "http://triton:8000/v2/models/fraud", CreatedAt: at(2)}
	empty := minimal("fraud", "empty")
	empty.Signature = slipway.Signature{Inputs: []slipway.TensorSpec{}, Outputs: []slipway.TensorSpec{}}
	empty.Metrics, empty.Meta = map[string]float64{}, map[string]string{}
	empty.CreatedAt = at(3)

	tests := []struct {
		name string
		in   slipway.Version
		want slipway.Version
	}{
		{"every field", full("fraud", "2.1.0"), utc(full("fraud", "2.1.0"))},
		{"remote", remote, withState(utc(remote), slipway.StateRegistered)},
		{"empty collections read back as nil", empty, slipway.Version{
			Model: "fraud", Version: "empty", Format: empty.Format, Digest: empty.Digest, Size: empty.Size,
			State: slipway.StateRegistered, CreatedAt: at(3).UTC(),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			created, err := e.s.CreateVersion(ctx, tc.in)
			must(t, err)
			if !reflect.DeepEqual(created, tc.want) {
				t.Errorf("CreateVersion returned\n%+v\nwant\n%+v", created, tc.want)
			}
			got, err := e.s.GetVersion(ctx, tc.in.Model, tc.in.Version)
			must(t, err)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("GetVersion =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// utc returns v as a store returns it: times in UTC.
func utc(v slipway.Version) slipway.Version {
	v.CreatedAt = v.CreatedAt.UTC()
	return v
}

func withState(v slipway.Version, s slipway.VersionState) slipway.Version {
	v.State = s
	return v
}

func testVersionCreatesModel(t *testing.T, e *env) {
	ctx := t.Context()
	before := time.Now()
	v, err := e.s.CreateVersion(ctx, minimal("fraud", "1.0.0"))
	must(t, err)
	after := time.Now()
	within(t, "version CreatedAt", v.CreatedAt, before, after)
	if v.State != slipway.StateRegistered {
		t.Errorf("State = %q, want %q", v.State, slipway.StateRegistered)
	}
	m, err := e.s.GetModel(ctx, "fraud")
	must(t, err)
	within(t, "model CreatedAt", m.CreatedAt, before, after)

	// An existing model keeps its metadata.
	_, err = e.s.PutModel(ctx, slipway.Model{Name: "churn", Owner: "growth"})
	must(t, err)
	_, err = e.s.CreateVersion(ctx, minimal("churn", "1"))
	must(t, err)
	m, err = e.s.GetModel(ctx, "churn")
	must(t, err)
	if m.Owner != "growth" {
		t.Errorf("owner after CreateVersion = %q, want growth", m.Owner)
	}
}

func testVersionDuplicate(t *testing.T, e *env) {
	ctx := t.Context()
	original, err := e.s.CreateVersion(ctx, full("fraud", "1.0.0"))
	must(t, err)
	dup := minimal("fraud", "1.0.0")
	dup.CreatedBy = "mallory"
	_, err = e.s.CreateVersion(ctx, dup)
	wantErr(t, err, slipway.ErrExists, "version fraud@1.0.0 already exists")

	got, err := e.s.GetVersion(ctx, "fraud", "1.0.0")
	must(t, err)
	if !reflect.DeepEqual(got, original) {
		t.Errorf("stored version changed by refused duplicate:\n%+v\nwant\n%+v", got, original)
	}
	list, err := e.s.ListVersions(ctx, "fraud")
	must(t, err)
	if len(list) != 1 {
		t.Errorf("ListVersions has %d versions, want 1", len(list))
	}
}

func testVersionList(t *testing.T, e *env) {
	ctx := t.Context()
	// Created out of order: the list follows CreatedAt, then insertion.
	for _, c := range []struct {
		version string
		minute  int
	}{{"3.0.0", 30}, {"1.0.0", 10}, {"2.0.0", 20}, {"2.0.1", 20}} {
		v := minimal("fraud", c.version)
		v.CreatedAt = at(c.minute)
		_, err := e.s.CreateVersion(ctx, v)
		must(t, err)
	}
	_, err := e.s.CreateVersion(ctx, minimal("other", "9.9.9"))
	must(t, err)

	list, err := e.s.ListVersions(ctx, "fraud")
	must(t, err)
	var got []string
	for _, v := range list {
		got = append(got, v.Version)
	}
	if want := []string{"1.0.0", "2.0.0", "2.0.1", "3.0.0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ListVersions = %q, want %q", got, want)
	}

	_, err = e.s.PutModel(ctx, slipway.Model{Name: "empty"})
	must(t, err)
	list, err = e.s.ListVersions(ctx, "empty")
	must(t, err)
	if len(list) != 0 {
		t.Errorf("ListVersions of a model without versions = %+v, want none", list)
	}
}

func testVersionState(t *testing.T, e *env) {
	ctx := t.Context()
	created, err := e.s.CreateVersion(ctx, full("fraud", "1.0.0"))
	must(t, err)
	for _, st := range []slipway.VersionState{slipway.StateServing, slipway.StateArchived, slipway.StateRegistered} {
		must(t, e.s.SetVersionState(ctx, "fraud", "1.0.0", st))
		got, err := e.s.GetVersion(ctx, "fraud", "1.0.0")
		must(t, err)
		if want := withState(created, st); !reflect.DeepEqual(got, want) {
			t.Errorf("after SetVersionState(%s):\n%+v\nwant\n%+v", st, got, want)
		}
	}
	wantErr(t, e.s.SetVersionState(ctx, "fraud", "1.0.0", "retired"), slipway.ErrInvalid, "retired")
	wantErr(t, e.s.SetVersionState(ctx, "fraud", "9", slipway.StateServing), slipway.ErrNotFound, "fraud@9")
}

func testVersionInvalid(t *testing.T, e *env) {
	ctx := t.Context()
	tests := []struct {
		name   string
		edit   func(v *slipway.Version)
		reason string
	}{
		{"bad model name", func(v *slipway.Version) { v.Model = "../fraud" }, "../fraud"},
		{"empty version", func(v *slipway.Version) { v.Version = "" }, "version"},
		{"unknown format", func(v *slipway.Version) { v.Format = "pickle" }, "pickle"},
		{"unknown state", func(v *slipway.Version) { v.State = "retired" }, "retired"},
		{"NaN metric", func(v *slipway.Version) { v.Metrics = map[string]float64{"auc": math.NaN()} }, "auc"},
		{"time out of range", func(v *slipway.Version) { v.CreatedAt = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) }, "3000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := minimal("fraud", "1.0.0")
			tc.edit(&v)
			_, err := e.s.CreateVersion(ctx, v)
			wantErr(t, err, slipway.ErrInvalid, tc.reason)
		})
	}
	if _, err := e.s.GetModel(ctx, "fraud"); err == nil {
		t.Error("refused versions created their model")
	}
}

func testVersionDelete(t *testing.T, e *env) {
	ctx := t.Context()
	for _, v := range []string{"1.0.0", "2.0.0"} {
		_, err := e.s.CreateVersion(ctx, minimal("fraud", v))
		must(t, err)
	}
	must(t, e.s.DeleteVersion(ctx, "fraud", "1.0.0"))
	_, err := e.s.GetVersion(ctx, "fraud", "1.0.0")
	wantErr(t, err, slipway.ErrNotFound, "version fraud@1.0.0 not found")
	wantErr(t, e.s.DeleteVersion(ctx, "fraud", "1.0.0"), slipway.ErrNotFound, "fraud@1.0.0")
	if _, err := e.s.GetVersion(ctx, "fraud", "2.0.0"); err != nil {
		t.Errorf("sibling version gone: %v", err)
	}
}

func testVersionDeleteInUse(t *testing.T, e *env) {
	ctx := t.Context()
	_, err := e.s.CreateVersion(ctx, minimal("fraud", "1.0.0"))
	must(t, err)
	move(t, e, "production", "1.0.0")
	wantErr(t, e.s.DeleteVersion(ctx, "fraud", "1.0.0"), slipway.ErrInUse,
		"version fraud@1.0.0 is in use by alias production")
	move(t, e, "canary", "1.0.0")
	wantErr(t, e.s.DeleteVersion(ctx, "fraud", "1.0.0"), slipway.ErrInUse, "aliases canary, production")

	must(t, e.s.DeleteAlias(ctx, "fraud", "production", "alice", "retire"))
	wantErr(t, e.s.DeleteVersion(ctx, "fraud", "1.0.0"), slipway.ErrInUse, "alias canary")
	must(t, e.s.DeleteAlias(ctx, "fraud", "canary", "alice", "retire"))
	must(t, e.s.DeleteVersion(ctx, "fraud", "1.0.0"))
}

func testDigestInUse(t *testing.T, e *env) {
	ctx := t.Context()
	v, err := e.s.CreateVersion(ctx, minimal("fraud", "1.0.0"))
	must(t, err)
	_, err = e.s.CreateVersion(ctx, slipway.Version{Model: "fraud", Version: "remote", Format: slipway.FormatRemote, URL: "http://x"})
	must(t, err)
	check := func(digest string, want bool) {
		t.Helper()
		got, err := e.s.DigestInUse(ctx, digest)
		must(t, err)
		if got != want {
			t.Errorf("DigestInUse(%q) = %v, want %v", digest, got, want)
		}
	}
	check(v.Digest, true)
	check("sha256:"+"00", false)
	check("", false) // remote versions have no artifact
	must(t, e.s.DeleteVersion(ctx, "fraud", "1.0.0"))
	check(v.Digest, false)
}
