package traffic

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/slipway-ml/slipway"
)

func TestValidateGood(t *testing.T) {
	for name, p := range map[string]Policy{
		"one version":  {Splits: []Split{{"v1", Total}}},
		"canary 0.1%":  canary(10),
		"candidate 0":  canary(0),
		"segments":     segmentPolicy(),
		"param sticky": {Splits: []Split{{"v1", Total}}, Sticky: "param:user_id"},
		"shadow at 0 weight": {
			Splits:  []Split{{"v2", 0}, {"v1", Total}},
			Mirrors: []Mirror{{"v2", Total}},
		},
		"four mirrors": {
			Splits:  []Split{{"v1", Total}},
			Mirrors: []Mirror{{"m1", 0}, {"m2", 1}, {"m3", 5000}, {"m4", Total}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			if err := p.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestValidateBad(t *testing.T) {
	one := []Split{{"v1", Total}}
	for _, tt := range []struct {
		name string
		p    Policy
		want []string
	}{
		{"zero policy", Policy{}, []string{
			"splits: empty; list at least one version",
		}},
		{"weights", Policy{Splits: []Split{{"v2", 1000}, {"v1", -5}, {"v0", 12000}}}, []string{
			"splits[1].weight: -5 is negative",
			"splits[2].weight: 12000 is more than 10000",
			"splits: weights sum to 12995 basis points, want 10000",
		}},
		{"sum short", Policy{Splits: []Split{{"v2", 1000}, {"v1", 8000}}}, []string{
			"splits: weights sum to 9000 basis points, want 10000",
		}},
		{"version names", Policy{Splits: []Split{{"", 5000}, {"v 1", 2500}, {"v2", 1250}, {"v2", 1250}}}, []string{
			"splits[0].version: empty",
			`splits[1].version: version "v 1": use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`,
			`splits[3].version: "v2" is listed twice (also splits[2])`,
		}},
		{"sticky kind", Policy{Splits: one, Sticky: "cookie:sid"}, []string{
			`sticky: "cookie:sid" is not header:NAME or param:NAME`,
		}},
		{"sticky without name", Policy{Splits: one, Sticky: "header:"}, []string{
			`sticky: "header:" is not header:NAME or param:NAME`,
		}},
		{"sticky header name", Policy{Splits: one, Sticky: "header:X User"}, []string{
			`sticky: "X User" is not a valid HTTP header name`,
		}},
		{"segments", Policy{Splits: one, Segments: []Segment{
			{Name: "a", Match: []Rule{{Header: "X-A", Exact: "1"}, {Header: "X-B", Regex: "("}}, Version: "v3"},
			{Name: "a", Match: []Rule{{Header: "X-A", Param: "a", Exact: "1"}, {Exact: "1"}}, Version: "v3"},
			{Name: "c", Match: []Rule{{Param: "p", Exact: "1", Prefix: "1"}, {Param: "p"}}, Version: "v3", Splits: one},
			{Name: "", Version: ""},
			{Name: "e", Match: []Rule{{Header: "X:Y", Prefix: "p"}}, Splits: []Split{{"v2", 5000}, {"v1", 4000}}},
		}}, []string{
			"segments[0].match[1].regex: error parsing regexp: missing closing ): `(`",
			`segments[1].name: "a" is used twice (also segments[0])`,
			"segments[1].match[0]: give header or param, not both",
			"segments[1].match[1]: give header or param",
			"segments[2].match[0]: give one of exact, prefix, regex, not several",
			"segments[2].match[1]: give one of exact, prefix, regex",
			"segments[2]: give version or splits, not both",
			"segments[3].name: empty",
			"segments[3].match: empty; a segment needs at least one rule",
			"segments[3]: give version or splits",
			`segments[4].match[0].header: "X:Y" is not a valid HTTP header name`,
			"segments[4].splits: weights sum to 9000 basis points, want 10000",
		}},
		{"mirrors", Policy{
			Splits:   []Split{{"v2", 1000}, {"v1", 9000}},
			Segments: []Segment{{Name: "beta", Match: []Rule{{Header: "X-Beta", Exact: "1"}}, Version: "v3"}},
			Mirrors:  []Mirror{{"v2", 100}, {"v3", 100}, {"v4", -1}, {"v4", 10001}, {"", 0}},
		}, []string{
			"mirrors: 5 mirrors, at most 4",
			`mirrors[0].version: "v2" also answers requests (splits[0]); a shadow must not be a primary`,
			`mirrors[1].version: "v3" also answers requests (segments[0].version); a shadow must not be a primary`,
			"mirrors[2].percent: -1 is outside 0..10000",
			`mirrors[3].version: "v4" is listed twice (also mirrors[2])`,
			"mirrors[3].percent: 10001 is outside 0..10000",
			"mirrors[4].version: empty",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if !errors.Is(err, slipway.ErrInvalid) {
				t.Fatalf("Validate: %v, want an error matching slipway.ErrInvalid", err)
			}
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("Validate: %T, want *PolicyError", err)
			}
			var got []string
			for _, p := range pe.Problems {
				got = append(got, p.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", lines(got), lines(tt.want))
			}
			if _, err := Compile(tt.p); !errors.Is(err, slipway.ErrInvalid) {
				t.Errorf("Compile: %v, want the validation error", err)
			}
		})
	}
}

func lines(ss []string) string {
	out := ""
	for _, s := range ss {
		out += "\t" + s + "\n"
	}
	return out
}

func TestPolicyErrorText(t *testing.T) {
	err := Policy{Splits: []Split{{"v1", 9000}}, Sticky: "x"}.Validate()
	want := `splits: weights sum to 9000 basis points, want 10000; sticky: "x" is not header:NAME or param:NAME`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestVersions(t *testing.T) {
	p := segmentPolicy()
	p.Splits = []Split{{"v2", 0}, {"v1", Total}}
	p.Mirrors = []Mirror{{"v9", 0}}
	want := []string{"v2", "v1", "v3", "v4", "v5", "v6", "v7", "v8", "v9"}
	if got := p.Versions(); !reflect.DeepEqual(got, want) {
		t.Errorf("Policy.Versions: %v, want %v", got, want)
	}
	if got := mustCompile(t, p).Versions(); !reflect.DeepEqual(got, want) {
		t.Errorf("Table.Versions: %v, want %v", got, want)
	}
}

func TestPolicyJSON(t *testing.T) {
	p := Policy{
		Splits: []Split{{"v2", 1000}, {"v1", 9000}},
		Sticky: "header:X-User-Id",
		Salt:   "fraud/rollout-1",
		Segments: []Segment{
			{Name: "internal", Match: []Rule{{Header: "X-Team", Exact: "ml"}}, Version: "v2"},
			{Name: "eu", Match: []Rule{{Param: "region", Prefix: "eu-"}, {Param: "tier", Regex: "^(gold|silver)$"}},
				Splits: []Split{{"v2", 5000}, {"v1", 5000}}},
		},
		Mirrors: []Mirror{{"v3", 10000}},
	}
	const want = `{"splits":[{"version":"v2","weight":1000},{"version":"v1","weight":9000}],` +
		`"sticky":"header:X-User-Id","salt":"fraud/rollout-1",` +
		`"segments":[{"name":"internal","match":[{"header":"X-Team","exact":"ml"}],"version":"v2"},` +
		`{"name":"eu","match":[{"param":"region","prefix":"eu-"},{"param":"tier","regex":"^(gold|silver)$"}],` +
		`"splits":[{"version":"v2","weight":5000},{"version":"v1","weight":5000}]}],` +
		`"mirrors":[{"version":"v3","percent":10000}]}`
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Errorf("marshal:\n%s\nwant:\n%s", b, want)
	}
	var back Policy
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Errorf("round trip: %+v, want %+v", back, p)
	}
	if b, _ := json.Marshal(Policy{Splits: []Split{{"v1", Total}}}); string(b) != `{"splits":[{"version":"v1","weight":10000}]}` {
		t.Errorf("minimal policy: %s", b)
	}
}
