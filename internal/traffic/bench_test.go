package traffic

import "testing"

// benchTable is a canary with a sticky header and two segments the request
// does not match, so Route runs its whole path: both rules, the hash, the
// split and a mirror. extra segments, if any, are tried before them.
func benchTable(tb testing.TB, extra []Segment) (*Table, Attrs) {
	tb.Helper()
	p := canary(1000)
	p.Segments = append(extra,
		Segment{Name: "internal", Match: []Rule{{Header: "X-Team", Exact: "ml"}}, Version: "v3"},
		Segment{Name: "eu", Match: []Rule{{Param: "region", Prefix: "eu-"}}, Version: "v4"},
	)
	p.Mirrors = []Mirror{{Version: "v9", Percent: 1000}}
	a := Attrs{
		Header: map[string][]string{
			"X-User-Id":    {"user-123456"},
			"X-Team":       {"data"},
			"User-Agent":   {"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"},
			"Content-Type": {"application/json"},
		},
		Params: map[string]any{"region": "us-east-1"},
	}
	return mustCompile(tb, p), a
}

func BenchmarkRoute(b *testing.B) {
	tab, a := benchTable(b, nil)
	b.ReportAllocs()
	var rnd uint64
	for b.Loop() {
		rnd += golden
		tab.Route(a, rnd)
	}
}

// BenchmarkRouteRegex evaluates one regular expression before the two
// other segments: an unanchored, case-insensitive search through a
// browser's User-Agent, and an anchored test of a short parameter.
func BenchmarkRouteRegex(b *testing.B) {
	for _, bb := range []struct {
		name string
		rule Rule
	}{
		{"header-unanchored", Rule{Header: "User-Agent", Regex: `(?i)(android|iphone|ipad)`}},
		{"param-anchored", Rule{Param: "region", Regex: `^(eu|ap)-[a-z]+-\d$`}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			tab, a := benchTable(b, []Segment{{Name: "re", Match: []Rule{bb.rule}, Version: "v5"}})
			if d := tab.Route(a, 0); d.Segment != "" {
				b.Fatalf("the regex matched: %+v", d)
			}
			b.ReportAllocs()
			var rnd uint64
			for b.Loop() {
				rnd += golden
				tab.Route(a, rnd)
			}
		})
	}
}

// BenchmarkRouterParallel reads the router from every CPU at once, as the
// gateway does, while nothing writes.
func BenchmarkRouterParallel(b *testing.B) {
	tab, a := benchTable(b, nil)
	r := NewRouter()
	r.Set("fraud", tab)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var rnd uint64
		for pb.Next() {
			rnd += golden
			if _, ok := r.Route("fraud", a, rnd); !ok {
				b.Fatal("no table")
			}
		}
	})
}
