package spec

import (
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		str  string
	}{
		{"30m", 30 * time.Minute, "30m"},
		{"1h30m", 90 * time.Minute, "1h30m"},
		{"90s", 90 * time.Second, "1m30s"},
		{"2d", 48 * time.Hour, "48h"},
		{"1d12h", 36 * time.Hour, "36h"},
		{"1.5d", 36 * time.Hour, "36h"},
		{"-5m", -5 * time.Minute, "-5m"},
		{"1h0m5s", time.Hour + 5*time.Second, "1h5s"},
		{"1.5s", 1500 * time.Millisecond, "1.5s"},
		{"0s", 0, "0s"},
	} {
		got, err := ParseDuration(tc.in)
		if err != nil || time.Duration(got) != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, time.Duration(got), err, tc.want)
			continue
		}
		if got.String() != tc.str {
			t.Errorf("Duration(%v).String() = %q, want %q", tc.want, got.String(), tc.str)
		}
	}
	for _, bad := range []string{"", "soon", "30", "d", "2d-1h", "1e9d", "36501d", "1dd"} {
		if d, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", bad, d)
		}
	}
}

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want Percent
		bp   int
	}{
		{"10", 10, 1000},
		{"0.1", 0.1, 10},
		{`"10%"`, 10, 1000},
		{"12.5%", 12.5, 1250},
		{"100", 100, 10000},
		{"0.01", 0.01, 1},
	} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(tc.yaml), &n); err != nil {
			t.Fatal(err)
		}
		var p Percent
		if err := p.decodeScalar(n.Content[0]); err != nil || p != tc.want || p.BasisPoints() != tc.bp {
			t.Errorf("%s → %v (%d bp), %v; want %v (%d bp)", tc.yaml, p, p.BasisPoints(), err, tc.want, tc.bp)
		}
	}
	if got := PercentFromBasisPoints(5).String(); got != "0.05%" {
		t.Errorf("5 bp = %s", got)
	}
	for _, bad := range []string{"lots", ".nan", ".inf", "true", `"%"`, "[1]"} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(bad), &n); err != nil {
			t.Fatal(err)
		}
		var p Percent
		if err := p.decodeScalar(n.Content[0]); err == nil {
			t.Errorf("%s → %v, want an error", bad, p)
		}
	}
}

func TestClosest(t *testing.T) {
	names := metricNames()
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"eror-rate", "error-rate"},
		{"Error-Rate", "error-rate"},
		{"latency-p99.", "latency-p99"},
		{"acuracy", "accuracy"},
		{"zzzzzzzzzz", ""},
	} {
		got := closest(tc.in, names)
		if tc.want == "" && len(got) != 0 || tc.want != "" && (len(got) == 0 || got[0] != tc.want) {
			t.Errorf("closest(%q) = %v, want %q first", tc.in, got, tc.want)
		}
	}
}

func TestLookupMetric(t *testing.T) {
	if m, ok := LookupMetric("latency-p99"); !ok || m.Unit != UnitMillis || m.Better != LowerBetter {
		t.Errorf("latency-p99 = %+v, %v", m, ok)
	}
	if m, ok := LookupMetric("values.conversion"); !ok || m.Unit != UnitValue || m.Better != EitherBetter {
		t.Errorf("values.conversion = %+v, %v", m, ok)
	}
	for _, bad := range []string{"values.", "values.a b", "latency", ""} {
		if _, ok := LookupMetric(bad); ok {
			t.Errorf("LookupMetric(%q) succeeded", bad)
		}
	}
	if n := len(Metrics()); n != len(catalogue)+1 {
		t.Errorf("Metrics() has %d entries", n)
	}
}
