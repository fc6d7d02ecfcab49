package experiment

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The sentences in results are read by people: numbers are rounded to
// what a decision needs and counts carry thousands separators.

// formatCount writes n with commas: 41200 → "41,200".
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// formatShare writes a configured share in percent with at most three
// significant digits: 50, 33.3, 12.5.
func formatShare(pct float64) string {
	return strconv.FormatFloat(pct, 'g', 3, 64)
}

// formatP writes a p-value with two significant digits: 0.004, 0.37, 1e-10.
func formatP(p float64) string {
	return strconv.FormatFloat(p, 'g', 2, 64)
}

// formatValue writes an arm's metric value: a rate in percent with three
// significant digits ("5.4%"), a mean with four ("12.31").
func formatValue(v float64, kind Kind) string {
	if kind == Binary {
		return strconv.FormatFloat(100*v, 'g', 3, 64) + "%"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// formatLift writes a relative lift as a signed percentage with one
// decimal: +10.2%, −3.0%; "?" when undefined.
func formatLift(r float64) string {
	switch {
	case math.IsNaN(r):
		return "?"
	case math.IsInf(r, 1):
		return "+∞"
	case math.IsInf(r, -1):
		return "−∞"
	}
	return fmt.Sprintf("%+.1f%%", 100*r)
}

// formatLevel writes a confidence level in percent: 95, 98.33.
func formatLevel(alpha float64) string {
	return strconv.FormatFloat(100*(1-alpha), 'g', 4, 64)
}

// formatDuration writes a duration in days or hours with at most one
// decimal ("3d", "1.5h"), and shorter ones as time.Duration does.
func formatDuration(d time.Duration) string {
	trim := func(v float64, unit string) string {
		return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0") + unit
	}
	switch {
	case d >= 24*time.Hour:
		return trim(d.Hours()/24, "d")
	case d >= time.Hour:
		return trim(d.Hours(), "h")
	}
	return d.Round(time.Second).String()
}
