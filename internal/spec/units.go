package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Percent is a share of traffic in percent: 1 is 1%, 0.1 is the smallest
// stage weight. In YAML it is a number (10, 0.5) or a string with a
// percent sign ("10%"). The router counts in basis points (1% = 100), so a
// Percent finer than 0.01 cannot be routed and is refused.
type Percent float64

// BasisPoints is p in hundredths of a percent, as the router takes it:
// 10000 is all traffic, 100 is 1%, 10 is 0.1%.
func (p Percent) BasisPoints() int { return int(math.Round(float64(p) * 100)) }

// PercentFromBasisPoints is the Percent of bp basis points.
func PercentFromBasisPoints(bp int) Percent { return Percent(float64(bp) / 100) }

// String renders p as "10%", "0.5%".
func (p Percent) String() string { return formatNumber(float64(p)) + "%" }

// routable reports whether p is a whole number of basis points.
func (p Percent) routable() bool {
	x := float64(p) * 100
	return math.Abs(x-math.Round(x)) < 1e-6
}

func (p *Percent) decodeScalar(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	if n.ShortTag() == "!!str" {
		s = strings.TrimSpace(strings.TrimSuffix(s, "%"))
	} else if !isNumberTag(n) {
		return fmt.Errorf("expected a percent such as 10 or \"10%%\", got %s", describe(n))
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("expected a percent such as 10 or \"10%%\", got %q", n.Value)
	}
	*p = Percent(f)
	return nil
}

// MarshalYAML writes p as a plain number of percent.
func (p Percent) MarshalYAML() (any, error) { return float64(p), nil }

// Duration is a length of time. In YAML it is a string in Go's notation
// ("30m", "1h30m", "90s") or a number of days ("2d", "1d12h"); a bare
// number other than 0 is refused because its unit would be a guess.
type Duration time.Duration

// maxDays bounds the days a Duration may hold, far beyond any sensible
// stage, so that sums of durations cannot overflow.
const maxDays = 36500

// ParseDuration reads Go's duration notation plus a leading number of
// days: "2d", "1d12h", "1.5d".
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, 'd'); i > 0 {
		days, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || math.IsNaN(days) || math.IsInf(days, 0) || math.Abs(days) > maxDays {
			return 0, fmt.Errorf("%q is not a duration such as 30m, 1h30m or 2d", s)
		}
		var rest time.Duration
		if tail := s[i+1:]; tail != "" {
			if tail[0] == '-' || tail[0] == '+' {
				return 0, fmt.Errorf("%q is not a duration such as 30m, 1h30m or 2d", s)
			}
			if rest, err = time.ParseDuration(tail); err != nil || rest > maxDays*24*time.Hour {
				return 0, fmt.Errorf("%q is not a duration such as 30m, 1h30m or 2d", s)
			}
		}
		d := time.Duration(days * float64(24*time.Hour))
		if days < 0 {
			rest = -rest
		}
		return Duration(d + rest), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 30m, 1h30m or 2d", s)
	}
	return Duration(d), nil
}

// String renders d in the fewest units: "30m", "1h30m", "45s", "0s".
func (d Duration) String() string {
	t := time.Duration(d)
	if t%time.Second != 0 || t == math.MinInt64 {
		return t.String()
	}
	sign := ""
	if t < 0 {
		sign, t = "-", -t
	}
	if t == 0 {
		return "0s"
	}
	var b strings.Builder
	b.WriteString(sign)
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := t / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			t -= n * u.unit
		}
	}
	return b.String()
}

func (d *Duration) decodeScalar(n *yaml.Node) error {
	if isNumberTag(n) {
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil && f == 0 {
			*d = 0
			return nil
		}
		return fmt.Errorf("%s has no unit: write %[1]ss, %[1]sm or %[1]sh", n.Value)
	}
	if n.ShortTag() != "!!str" {
		return fmt.Errorf("expected a duration such as 30m or 1h, got %s", describe(n))
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes d as a string such as "1h30m".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// formatNumber renders f without a trailing ".0" or exponent for the
// values a spec holds: 1, 0.5, 99.9.
func formatNumber(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func isNumberTag(n *yaml.Node) bool {
	t := n.ShortTag()
	return t == "!!int" || t == "!!float"
}
