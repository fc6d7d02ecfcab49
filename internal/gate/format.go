package gate

import (
	"fmt"
	"math"
	"strconv"
)

// format renders a value in its metric's unit, the way tables show it.
func format(u unit, x float64) string {
	switch u {
	case millis:
		if x < 1 {
			return strconv.FormatFloat(x*1000, 'f', 1, 64) + "µs"
		}
		return strconv.FormatFloat(x, 'f', 2, 64) + "ms"
	case perSecond:
		return strconv.FormatFloat(x, 'f', 0, 64) + " rows/s"
	case bytes:
		return formatBytes(x)
	}
	return strconv.FormatFloat(x, 'f', 4, 64)
}

func formatBytes(x float64) string {
	switch {
	case x >= 1<<30:
		return fmt.Sprintf("%.1f GiB", x/(1<<30))
	case x >= 1<<20:
		return fmt.Sprintf("%.1f MiB", x/(1<<20))
	case x >= 1<<10:
		return fmt.Sprintf("%.1f KiB", x/(1<<10))
	}
	return fmt.Sprintf("%.0f B", x)
}

// describeDelta renders an allowed change: "0.0100" or "1%".
func describeDelta(u unit, d Delta) string {
	if d.Relative {
		return strconv.FormatFloat(d.Value*100, 'g', -1, 64) + "%"
	}
	return format(u, d.Value)
}

// describeChange renders cand − prev, with the relative change for
// metrics that are not fractions.
func describeChange(u unit, prev, cand float64) string {
	diff := cand - prev
	s := format(u, math.Abs(diff))
	sign := "+"
	if diff < 0 {
		sign = "-"
	}
	if u == fraction || prev == 0 {
		return sign + s
	}
	return fmt.Sprintf("%s%s (%+.1f%%)", sign, s, 100*diff/math.Abs(prev))
}

// FormatMetric renders a metric's value in its unit, "-" for nil.
func FormatMetric(name string, x *float64) string {
	if x == nil {
		return "-"
	}
	return format(metrics[name].unit, *x)
}
