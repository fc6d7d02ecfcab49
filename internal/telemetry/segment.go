package telemetry

import "strings"

// A measured route segment (an experiment's audience or context) needs its
// own figures per version: the control version also answers everyone
// outside the audience, and their requests must not count in the
// experiment. Such a request is recorded twice: in its version's series,
// as always, and in the segment series SegmentSeries(version, segment),
// which Window reads like any version's but Snapshot and /metrics leave
// out. Feedback joined to the request counts in both.

// segmentSep cannot appear in a version name (see slipway.ValidName).
const segmentSep = "@"

// SegmentSeries is the series name of version's traffic in segment, for
// Window.
func SegmentSeries(version, segment string) string { return version + segmentSep + segment }

func isSegmentSeries(version string) bool { return strings.Contains(version, segmentSep) }
