package runbook

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Rate is a model's live traffic in requests per second, as the plan
// assumes it. The zero Rate means the traffic is not known.
type Rate float64

// Known reports whether r states any traffic.
func (r Rate) Known() bool { return r > 0 }

// Requests is the number of requests r brings in d.
func (r Rate) Requests(d time.Duration) float64 { return float64(r) * d.Seconds() }

// Time is how long r takes to bring n requests; ok is false when r is
// zero and so never brings them.
func (r Rate) Time(n float64) (time.Duration, bool) {
	if r <= 0 {
		return 0, false
	}
	s := n / float64(r)
	if s > float64(math.MaxInt64/int64(time.Second)) {
		return time.Duration(math.MaxInt64), true
	}
	return time.Duration(s * float64(time.Second)), true
}

// String renders r in the unit that reads best: "5,000 rps", "23.1 rpm
// (33.3k/day)".
func (r Rate) String() string {
	switch {
	case r <= 0:
		return "unknown"
	case r >= 1:
		return fmt.Sprintf("%s rps (%s/day)", Count(float64(r)), Count(float64(r)*86400))
	case r*60 >= 1:
		return fmt.Sprintf("%s rpm (%s/day)", Count(float64(r)*60), Count(float64(r)*86400))
	}
	return fmt.Sprintf("%s/h (%s/day)", Count(float64(r)*3600), Count(float64(r)*86400))
}

// rateUnits maps every accepted unit to its length in seconds.
var rateUnits = map[string]float64{
	"rps": 1, "/s": 1, "/sec": 1, "/second": 1,
	"rpm": 60, "/m": 60, "/min": 60, "/minute": 60,
	"rph": 3600, "/h": 3600, "/hr": 3600, "/hour": 3600,
	"rpd": 86400, "/d": 86400, "/day": 86400,
}

// multipliers are the suffixes a number may carry: 150k, 2M, 1.5G.
var multipliers = map[byte]float64{'k': 1e3, 'K': 1e3, 'M': 1e6, 'G': 1e9, 'B': 1e9}

// ParseRate reads a traffic rate such as 5000rps, 300rpm, 2M/day or
// 150k/h: a positive number, optionally with k, M or G, then a unit (rps,
// rpm, rph, rpd, or /s, /min, /h, /day and their spellings). The error
// names what is wrong with s.
func ParseRate(s string) (Rate, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("traffic is empty: want a rate such as 5000rps, 300rpm, 150k/h or 2M/day")
	}
	i := 0
	for i < len(t) && strings.IndexByte("0123456789.+-", t[i]) >= 0 {
		i++
	}
	num, rest := t[:i], strings.TrimSpace(t[i:])
	if num == "" {
		return 0, fmt.Errorf("traffic %q: starts with no number; want a rate such as 5000rps or 2M/day", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("traffic %q: %q is not a number", s, num)
	}
	if rest != "" {
		if m, ok := multipliers[rest[0]]; ok && (len(rest) == 1 || rest[1] == '/' || rest[1] == ' ' || strings.HasPrefix(rest[1:], "rp")) {
			v *= m
			rest = strings.TrimSpace(rest[1:])
		}
	}
	if rest == "" {
		return 0, fmt.Errorf("traffic %q: no unit; write %srps, %srpm, %s/h or %s/day", s, num, num, num, num)
	}
	per, ok := rateUnits[strings.ToLower(rest)]
	if !ok {
		return 0, fmt.Errorf("traffic %q: unknown unit %q; want rps, rpm, rph, rpd, /s, /min, /h or /day", s, rest)
	}
	if v <= 0 {
		return 0, fmt.Errorf("traffic %q: must be above zero", s)
	}
	return Rate(v / per), nil
}

// Count renders a number of requests for people: 950, 12,400, 1.25M.
func Count(n float64) string {
	switch a := math.Abs(n); {
	case math.IsInf(n, 0) || math.IsNaN(n):
		return "∞"
	case a >= 1e9:
		return fmt.Sprintf("%.3g", n/1e9) + "G"
	case a >= 1e6:
		return fmt.Sprintf("%.3g", n/1e6) + "M"
	case a >= 100_000:
		return fmt.Sprintf("%.3g", n/1e3) + "k"
	case a >= 1000:
		return thousands(int64(math.Round(n)))
	case a >= 100 || n == math.Trunc(n):
		return strconv.FormatInt(int64(math.Round(n)), 10)
	}
	return fmt.Sprintf("%.3g", n)
}

// thousands writes n with comma separators: 12,400.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
