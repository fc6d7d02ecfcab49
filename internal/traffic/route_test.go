package traffic

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
)

const nUsers = 100_000

func mustCompile(t testing.TB, p Policy) *Table {
	t.Helper()
	tab, err := Compile(p)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return tab
}

// canary is the policy a canary rollout sets: the candidate v2 listed
// first, the baseline v1 after it, users pinned by a header.
func canary(weight int) Policy {
	return Policy{
		Splits: []Split{{Version: "v2", Weight: weight}, {Version: "v1", Weight: Total - weight}},
		Sticky: "header:X-User-Id",
		Salt:   "fraud/rollout-1",
	}
}

// users returns the attributes of nUsers distinct users.
func users() []Attrs {
	out := make([]Attrs, nUsers)
	for i := range out {
		out[i] = Attrs{Header: map[string][]string{"X-User-Id": {fmt.Sprintf("user-%d", i)}}}
	}
	return out
}

// assign routes every user with tab (rnd 0: a sticky route must not need it).
func assign(t *testing.T, tab *Table, us []Attrs) []string {
	t.Helper()
	out := make([]string, len(us))
	for i, a := range us {
		d := tab.Route(a, 0)
		if !d.Sticky && len(tab.split.versions) > 1 {
			t.Fatalf("user %d: decision not sticky: %+v", i, d)
		}
		out[i] = d.Version
	}
	return out
}

func share(versions []string, v string) float64 {
	n := 0
	for _, got := range versions {
		if got == v {
			n++
		}
	}
	return float64(n) / float64(len(versions))
}

func TestStickyShare(t *testing.T) {
	us := users()
	for _, tt := range []struct {
		weight int     // the candidate's, in basis points
		tol    float64 // allowed absolute error of its share
	}{
		{10, 0.0005}, // 0.1% ± 0.05%
		{100, 0.001}, // 1% ± 0.1%
		{1000, 0.005},
		{2500, 0.005},
		{5000, 0.005},
	} {
		t.Run(fmt.Sprint(tt.weight), func(t *testing.T) {
			got := share(assign(t, mustCompile(t, canary(tt.weight)), us), "v2")
			want := float64(tt.weight) / Total
			if got < want-tt.tol || got > want+tt.tol {
				t.Errorf("candidate share %.4f%%, want %.4f%% ± %.4f%%", 100*got, 100*want, 100*tt.tol)
			}
		})
	}
}

func TestStickyMonotone(t *testing.T) {
	us := users()
	type move struct{ from, to string }
	for _, tt := range []struct {
		name    string
		before  []Split
		after   []Split
		allowed move    // the only move that may happen
		moved   float64 // the expected share of users that move
	}{
		{
			name:    "canary 10% to 25%",
			before:  canary(1000).Splits,
			after:   canary(2500).Splits,
			allowed: move{"v1", "v2"},
			moved:   0.15,
		},
		{
			name:    "three versions, middle grows from the last",
			before:  []Split{{"v3", 500}, {"v2", 1500}, {"v1", 8000}},
			after:   []Split{{"v3", 500}, {"v2", 3000}, {"v1", 6500}},
			allowed: move{"v1", "v2"},
			moved:   0.15,
		},
		{
			name:    "three versions, first grows from the middle",
			before:  []Split{{"v3", 1000}, {"v2", 2000}, {"v1", 7000}},
			after:   []Split{{"v3", 2000}, {"v2", 1000}, {"v1", 7000}},
			allowed: move{"v2", "v3"},
			moved:   0.10,
		},
		{
			name:    "candidate from 0 to 0.1%",
			before:  []Split{{"v2", 0}, {"v1", 10000}},
			after:   []Split{{"v2", 10}, {"v1", 9990}},
			allowed: move{"v1", "v2"},
			moved:   0.001,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := canary(0)
			p.Splits = tt.before
			before := assign(t, mustCompile(t, p), us)
			p.Splits = tt.after
			after := assign(t, mustCompile(t, p), us)
			moved := 0
			for i := range us {
				if before[i] == after[i] {
					continue
				}
				moved++
				if got := (move{before[i], after[i]}); got != tt.allowed {
					t.Fatalf("user-%d moved %s → %s; only %s → %s may move", i, got.from, got.to, tt.allowed.from, tt.allowed.to)
				}
			}
			if got := float64(moved) / nUsers; got < tt.moved-0.005 || got > tt.moved+0.005 {
				t.Errorf("%.3f%% of users moved, want %.3f%% ± 0.5%%", 100*got, 100*tt.moved)
			}
		})
	}
}

// Different salts (rollouts, models) must deal independent cohorts: the
// users on the candidate under one salt are a random 10% under another.
func TestSaltDecorrelates(t *testing.T) {
	us := users()
	a, b := canary(1000), canary(1000)
	b.Salt = "fraud/rollout-2"
	inA, inB := assign(t, mustCompile(t, a), us), assign(t, mustCompile(t, b), us)
	both := 0
	for i := range us {
		if inA[i] == "v2" && inB[i] == "v2" {
			both++
		}
	}
	if got := float64(both) / nUsers; got < 0.007 || got > 0.013 {
		t.Errorf("%.3f%% of users are canaries under both salts, want about 1%%", 100*got)
	}
}

func TestStickySameKey(t *testing.T) {
	tab := mustCompile(t, canary(5000))
	rng := rand.New(rand.NewPCG(1, 2))
	for _, key := range []string{"user-1", "user-2", "user-3", "alice", "bob"} {
		a := Attrs{Header: map[string][]string{"X-User-Id": {key}}}
		first := tab.Route(a, rng.Uint64())
		for range 1000 {
			if d := tab.Route(a, rng.Uint64()); d.Version != first.Version || !d.Sticky {
				t.Fatalf("key %q: got %s (sticky %v), first %s", key, d.Version, d.Sticky, first.Version)
			}
		}
	}
}

// A numeric sticky parameter hashes as its text, whichever way the
// request encoded it.
func TestStickyParamRendering(t *testing.T) {
	p := canary(5000)
	p.Sticky = "param:user_id"
	tab := mustCompile(t, p)
	for i := range 200 {
		want := tab.Route(Attrs{Params: map[string]any{"user_id": fmt.Sprint(i)}}, 0)
		for _, v := range []any{int64(i), float64(i), json.Number(fmt.Sprint(i)), i, uint64(i)} {
			got := tab.Route(Attrs{Params: map[string]any{"user_id": v}}, 0)
			if got != want || !got.Sticky {
				t.Fatalf("user_id %v (%T): got %+v, want %+v", v, v, got, want)
			}
		}
	}
}

func TestKeylessShare(t *testing.T) {
	for _, tt := range []struct {
		name  string
		attrs Attrs
	}{
		{"no headers", Attrs{}},
		{"empty key", Attrs{Header: map[string][]string{"X-User-Id": {""}}}},
		{"other headers", Attrs{Header: map[string][]string{"X-Team": {"ml"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tab := mustCompile(t, canary(1000))
			rng := rand.New(rand.NewPCG(3, 4))
			n := 0
			for range nUsers {
				d := tab.Route(tt.attrs, rng.Uint64())
				if d.Sticky {
					t.Fatalf("keyless request decided sticky: %+v", d)
				}
				if d.Version == "v2" {
					n++
				}
			}
			if got := float64(n) / nUsers; got < 0.095 || got > 0.105 {
				t.Errorf("candidate share %.3f%%, want 10%% ± 0.5%%", 100*got)
			}
		})
	}
}

// With one version at 100%, nothing is left to chance or to the key.
func TestSingleVersion(t *testing.T) {
	tab := mustCompile(t, Policy{Splits: []Split{{"v2", 0}, {"v1", Total}}, Sticky: "header:X-User-Id"})
	d := tab.Route(Attrs{Header: map[string][]string{"X-User-Id": {"u"}}}, 7)
	if want := (Decision{Version: "v1"}); d != want {
		t.Errorf("got %+v, want %+v", d, want)
	}
}

func segmentPolicy() Policy {
	return Policy{
		Splits: []Split{{Version: "v1", Weight: Total}},
		Sticky: "header:X-User-Id",
		Segments: []Segment{
			{Name: "internal", Match: []Rule{{Header: "X-Team", Exact: "ml"}}, Version: "v3"},
			{Name: "beta", Match: []Rule{{Header: "x-cohort", Prefix: "beta-"}}, Version: "v2"},
			{Name: "mobile", Match: []Rule{{Header: "User-Agent", Regex: `(?i)android|iphone`}}, Version: "v4"},
			{Name: "gold", Match: []Rule{{Param: "tier", Exact: "gold"}}, Version: "v5"},
			{Name: "big", Match: []Rule{{Param: "accounts", Exact: "1000"}}, Version: "v6"},
			{Name: "high-score", Match: []Rule{{Param: "score", Regex: `^9\d$`}}, Version: "v7"},
			{Name: "eu-debug", Match: []Rule{{Param: "region", Prefix: "eu-"}, {Param: "debug", Exact: "true"}}, Version: "v8"},
			{Name: "eu", Match: []Rule{{Param: "region", Prefix: "eu-"}}, Splits: []Split{{"v2", 5000}, {"v1", 5000}}},
		},
	}
}

func TestSegments(t *testing.T) {
	tab := mustCompile(t, segmentPolicy())
	h := func(kv ...string) map[string][]string {
		m := make(map[string][]string)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = []string{kv[i+1]}
		}
		return m
	}
	for _, tt := range []struct {
		name         string
		attrs        Attrs
		version, seg string // version "": any
	}{
		{"no attributes: default split", Attrs{}, "v1", ""},
		{"header exact", Attrs{Header: h("X-Team", "ml")}, "v3", "internal"},
		{"header exact, other value", Attrs{Header: h("X-Team", "ml2")}, "v1", ""},
		{"header exact, gRPC metadata key", Attrs{Header: h("x-team", "ml")}, "v3", "internal"},
		{"header empty", Attrs{Header: h("X-Team", "")}, "v1", ""},
		{"header prefix, rule written lower-case", Attrs{Header: h("X-Cohort", "beta-3")}, "v2", "beta"},
		{"header prefix, too short", Attrs{Header: h("X-Cohort", "beta")}, "v1", ""},
		{"header regex", Attrs{Header: h("User-Agent", "Mozilla/5.0 (iPhone)")}, "v4", "mobile"},
		{"header regex, no match", Attrs{Header: h("User-Agent", "curl/8.0")}, "v1", ""},
		{"first match wins", Attrs{Header: h("X-Team", "ml", "X-Cohort", "beta-1", "User-Agent", "android")}, "v3", "internal"},
		{"order, not specificity", Attrs{Header: h("X-Cohort", "beta-1", "User-Agent", "android")}, "v2", "beta"},
		{"param string", Attrs{Params: map[string]any{"tier": "gold"}}, "v5", "gold"},
		{"param string, other value", Attrs{Params: map[string]any{"tier": "silver"}}, "v1", ""},
		{"param float from JSON", Attrs{Params: map[string]any{"accounts": 1000.0}}, "v6", "big"},
		{"param int64 from gRPC", Attrs{Params: map[string]any{"accounts": int64(1000)}}, "v6", "big"},
		{"param json.Number", Attrs{Params: map[string]any{"accounts": json.Number("1000")}}, "v6", "big"},
		{"param number, other value", Attrs{Params: map[string]any{"accounts": 1000.5}}, "v1", ""},
		{"param number by regex", Attrs{Params: map[string]any{"score": int64(95)}}, "v7", "high-score"},
		{"param number by regex, no match", Attrs{Params: map[string]any{"score": int64(950)}}, "v1", ""},
		{"param of another type", Attrs{Params: map[string]any{"tier": []any{"gold"}}}, "v1", ""},
		{"all rules hold", Attrs{Params: map[string]any{"region": "eu-west", "debug": true}}, "v8", "eu-debug"},
		{"one rule fails", Attrs{Params: map[string]any{"region": "eu-west", "debug": false}}, "", "eu"}, // "": either of eu's versions
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := tab.Route(tt.attrs, 0)
			if (tt.version != "" && d.Version != tt.version) || d.Segment != tt.seg {
				t.Errorf("got version %q segment %q, want %q %q", d.Version, d.Segment, tt.version, tt.seg)
			}
		})
	}
}

// A segment's own split is sticky and keeps its proportions; a segment
// rule wins over the default weights.
func TestSegmentSplit(t *testing.T) {
	tab := mustCompile(t, segmentPolicy())
	got := make([]string, nUsers)
	for i, u := range users() {
		u.Params = map[string]any{"region": "eu-north"}
		d := tab.Route(u, 0)
		if d.Segment != "eu" || !d.Sticky {
			t.Fatalf("user %d: %+v, want the sticky eu segment", i, d)
		}
		got[i] = d.Version
	}
	if s := share(got, "v2"); s < 0.495 || s > 0.505 {
		t.Errorf("v2 share in segment eu %.3f%%, want 50%% ± 0.5%%", 100*s)
	}
}

func TestMirrors(t *testing.T) {
	for _, tt := range []struct {
		name    string
		mirrors []Mirror
		want    map[string]float64 // each mirror's expected share
		joint   float64            // expected share mirrored to all
	}{
		{"every request", []Mirror{{"v9", 10000}}, map[string]float64{"v9": 1}, 1},
		{"none", []Mirror{{"v9", 0}}, map[string]float64{"v9": 0}, 0},
		{"10%", []Mirror{{"v9", 1000}}, map[string]float64{"v9": 0.1}, 0.1},
		{"0.1%", []Mirror{{"v9", 10}}, map[string]float64{"v9": 0.001}, 0.001},
		{"two, independent", []Mirror{{"v8", 5000}, {"v9", 5000}}, map[string]float64{"v8": 0.5, "v9": 0.5}, 0.25},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plain := mustCompile(t, canary(1000))
			p := canary(1000)
			p.Mirrors = tt.mirrors
			tab := mustCompile(t, p)
			rng := rand.New(rand.NewPCG(5, 6))
			counts := make(map[string]int)
			joint, candMirrored := 0, 0
			for i := range nUsers {
				a, rnd := Attrs{}, rng.Uint64()
				if i%2 == 0 { // half the requests sticky
					a.Header = map[string][]string{"X-User-Id": {fmt.Sprint("user-", i)}}
				}
				d := tab.Route(a, rnd)
				if want := plain.Route(a, rnd); d.Version != want.Version || d.Sticky != want.Sticky {
					t.Fatalf("mirroring changed the decision: %+v, without mirrors %+v", d, want)
				}
				for _, m := range d.Mirrors[:d.NMirrors] {
					counts[m]++
				}
				if d.NMirrors == len(tt.mirrors) {
					joint++
				}
				if d.NMirrors > 0 && d.Version == "v2" {
					candMirrored++
				}
			}
			within := func(what string, got, want float64) {
				tol := max(0.005, want/10)
				if got < want-tol || got > want+tol {
					t.Errorf("%s: %.3f%%, want %.3f%%", what, 100*got, 100*want)
				}
			}
			for v, want := range tt.want {
				within("mirrored to "+v, float64(counts[v])/nUsers, want)
			}
			within("mirrored to all", float64(joint)/nUsers, tt.joint)
			// Mirror sampling is independent of the split: 10% of the
			// requests the candidate answers are mirrored at 10%.
			if len(tt.mirrors) == 1 {
				within("candidate and mirrored", float64(candMirrored)/nUsers, 0.1*tt.want["v9"])
			}
		})
	}
}

func TestMirrorsInPolicyOrder(t *testing.T) {
	tab := mustCompile(t, Policy{
		Splits:  []Split{{"v1", Total}},
		Mirrors: []Mirror{{"v7", Total}, {"v8", 0}, {"v9", Total}},
	})
	d := tab.Route(Attrs{}, 42)
	if got := d.Mirrors[:d.NMirrors]; fmt.Sprint(got) != "[v7 v9]" {
		t.Errorf("mirrors %v, want [v7 v9]", got)
	}
}

func TestRouteAllocs(t *testing.T) {
	tab, a := benchTable(t, nil)
	if n := testing.AllocsPerRun(100, func() { tab.Route(a, 12345) }); n != 0 {
		t.Errorf("Route allocates %v times, want 0", n)
	}
	a.Params = map[string]any{"region": int64(3)} // a number rendered for the prefix rule
	if n := testing.AllocsPerRun(100, func() { tab.Route(a, 12345) }); n != 0 {
		t.Errorf("Route with a numeric parameter allocates %v times, want 0", n)
	}
}

// TestMeasuredSegment: only a segment marked Measure says so in its
// decisions, for the gateway to keep its telemetry apart.
func TestMeasuredSegment(t *testing.T) {
	p := segmentPolicy()
	for i := range p.Segments {
		p.Segments[i].Measure = p.Segments[i].Name == "eu"
	}
	tab := mustCompile(t, p)
	u := users()[0]
	u.Params = map[string]any{"region": "eu-north"}
	if d := tab.Route(u, 0); d.Segment != "eu" || !d.Measured {
		t.Errorf("eu: %+v, want measured", d)
	}
	if d := tab.Route(users()[1], 0); d.Measured {
		t.Errorf("default split: %+v, want not measured", d)
	}
}
