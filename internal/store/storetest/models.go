package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/slipway-ml/slipway"
)

func testModelPutGet(t *testing.T, e *env) {
	ctx := t.Context()
	tests := []struct {
		name string
		in   slipway.Model
		want slipway.Model // CreatedAt is checked separately when zero here
	}{
		{
			name: "every field",
			in:   slipway.Model{Name: "fraud", Description: "card fraud", Owner: "risk-team", Tags: []string{"tabular", "gbdt"}, CreatedAt: at(0)},
			want: slipway.Model{Name: "fraud", Description: "card fraud", Owner: "risk-team", Tags: []string{"tabular", "gbdt"}, CreatedAt: at(0).UTC()},
		},
		{
			name: "empty tags read back as nil",
			in:   slipway.Model{Name: "churn", Tags: []string{}},
			want: slipway.Model{Name: "churn"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now()
			put, err := e.s.PutModel(ctx, tc.in)
			must(t, err)
			if tc.want.CreatedAt.IsZero() {
				within(t, "CreatedAt", put.CreatedAt, before, time.Now())
				tc.want.CreatedAt = put.CreatedAt
			}
			if !reflect.DeepEqual(put, tc.want) {
				t.Errorf("PutModel returned %+v, want %+v", put, tc.want)
			}
			got, err := e.s.GetModel(ctx, tc.in.Name)
			must(t, err)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("GetModel = %+v, want %+v", got, tc.want)
			}
		})
	}
	_, err := e.s.PutModel(ctx, slipway.Model{Name: "../etc"})
	wantErr(t, err, slipway.ErrInvalid, "../etc")
}

func testModelUpdate(t *testing.T, e *env) {
	ctx := t.Context()
	first, err := e.s.PutModel(ctx, slipway.Model{Name: "fraud", Description: "old", Owner: "bob", Tags: []string{"a"}})
	must(t, err)
	// A later CreatedAt is ignored: the model was created when it was created.
	second, err := e.s.PutModel(ctx, slipway.Model{Name: "fraud", Description: "new", Tags: []string{"b", "c"}, CreatedAt: at(59)})
	must(t, err)
	want := slipway.Model{Name: "fraud", Description: "new", Tags: []string{"b", "c"}, CreatedAt: first.CreatedAt}
	if !reflect.DeepEqual(second, want) {
		t.Errorf("second PutModel returned %+v, want %+v", second, want)
	}
	got, err := e.s.GetModel(ctx, "fraud")
	must(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetModel = %+v, want %+v", got, want)
	}
}

func testModelList(t *testing.T, e *env) {
	ctx := t.Context()
	got, err := e.s.ListModels(ctx)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("ListModels on an empty store = %+v, want none", got)
	}
	// Byte order: upper case before lower case, whatever the locale.
	for _, name := range []string{"zeta", "Alpha", "beta", "alpha"} {
		_, err := e.s.PutModel(ctx, slipway.Model{Name: name, CreatedAt: at(0)})
		must(t, err)
	}
	got, err = e.s.ListModels(ctx)
	must(t, err)
	var names []string
	for _, m := range got {
		names = append(names, m.Name)
	}
	if want := []string{"Alpha", "alpha", "beta", "zeta"}; !reflect.DeepEqual(names, want) {
		t.Errorf("ListModels names = %q, want %q", names, want)
	}
}

func testModelDelete(t *testing.T, e *env) {
	ctx := t.Context()
	_, err := e.s.CreateVersion(ctx, minimal("fraud", "1.0.0"))
	must(t, err)
	_, err = e.s.MoveAlias(ctx, slipway.AliasMove{Model: "fraud", Alias: "production", To: "1.0.0", Actor: "alice"})
	must(t, err)

	wantErr(t, e.s.DeleteModel(ctx, "fraud"), slipway.ErrInUse, "fraud")
	if _, err := e.s.GetModel(ctx, "fraud"); err != nil {
		t.Fatalf("model gone after refused delete: %v", err)
	}

	must(t, e.s.DeleteAlias(ctx, "fraud", "production", "alice", "retire"))
	must(t, e.s.DeleteVersion(ctx, "fraud", "1.0.0"))
	must(t, e.s.DeleteModel(ctx, "fraud"))
	_, err = e.s.GetModel(ctx, "fraud")
	wantErr(t, err, slipway.ErrNotFound, "model fraud")
	wantErr(t, e.s.DeleteModel(ctx, "fraud"), slipway.ErrNotFound, "model fraud")

	// A model of the same name starts with a clean history.
	_, err = e.s.PutModel(ctx, slipway.Model{Name: "fraud"})
	must(t, err)
	h, err := e.s.AliasHistory(ctx, "fraud", "")
	must(t, err)
	if len(h) != 0 {
		t.Errorf("history of a recreated model = %+v, want none", h)
	}
}
