package runbook

import (
	"strings"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64 // requests per second
	}{
		{"5000rps", 5000},
		{"5000 rps", 5000},
		{"300rpm", 5},
		{"2M/day", 2e6 / 86400},
		{"150k/h", 150e3 / 3600},
		{"1.5k/s", 1500},
		{"86400/day", 1},
		{"60/min", 1},
		{"3600 rph", 1},
		{"2M rpd", 2e6 / 86400},
		{"10/HOUR", 10.0 / 3600},
	} {
		got, err := ParseRate(tc.in)
		if err != nil {
			t.Errorf("ParseRate(%q): %v", tc.in, err)
			continue
		}
		if d := float64(got) - tc.want; d > 1e-9*tc.want || d < -1e-9*tc.want {
			t.Errorf("ParseRate(%q) = %v rps; want %v", tc.in, float64(got), tc.want)
		}
	}
}

func TestParseRateRefusals(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "traffic is empty"},
		{"5000", `"5000": no unit; write 5000rps, 5000rpm, 5000/h or 5000/day`},
		{"fast", `"fast": starts with no number`},
		{"5000qps", `unknown unit "qps"`},
		{"5k/week", `unknown unit "/week"`},
		{"0rps", "must be above zero"},
		{"-3rps", "must be above zero"},
		{"1.2.3rps", `"1.2.3" is not a number`},
		{"2X/day", `unknown unit "X/day"`},
	} {
		_, err := ParseRate(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseRate(%q) = %v; want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestRateRequestsAndTime(t *testing.T) {
	r, _ := ParseRate("2M/day")
	if got := r.Requests(24 * time.Hour); got < 1999999 || got > 2000001 {
		t.Errorf("2M/day over a day: %v requests", got)
	}
	if d, ok := r.Time(2e6); !ok || d.Round(time.Second) != 24*time.Hour {
		t.Errorf("2M requests at 2M/day take %v", d)
	}
	if _, ok := Rate(0).Time(1); ok {
		t.Error("a zero rate brings requests")
	}
	for r, want := range map[Rate]string{5000: "5,000 rps (432M/day)", 5: "5 rps (432k/day)", 0.5: "30 rpm (43,200/day)"} {
		if got := r.String(); got != want {
			t.Errorf("Rate(%v).String() = %q; want %q", float64(r), got, want)
		}
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[float64]string{0: "0", 7: "7", 950: "950", 1275: "1,275", 12400: "12,400", 150000: "150k", 1.25e6: "1.25M", 3e9: "3G", 2.5: "2.5"} {
		if got := Count(n); got != want {
			t.Errorf("Count(%v) = %q; want %q", n, got, want)
		}
	}
}
