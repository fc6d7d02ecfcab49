// Package traffic decides which version of a model answers a request and
// which versions get a shadow copy of it. It is the routing policy of the
// data plane, kept as plain data (Policy, stored and sent over the control
// API) and as a compiled, immutable Table that the gateway reads without
// locks; the Router swaps a model's Table atomically when its policy
// changes, so a reload never touches the table in use.
//
// The model:
//
//   - Weights are basis points: 10000 is all traffic, 100 is 1%, 10 is 0.1%,
//     1 is 0.01%. A split's weights sum to exactly 10000, and each version
//     owns a contiguous range of buckets [0, 10000) in the order the split
//     lists them.
//   - Sticky hashing: with Policy.Sticky set, a request's key (a header or a
//     request parameter) is hashed to a bucket, so the same key always lands
//     on the same version while the weights stay put. The bucket depends on
//     the key, Policy.Salt and the segment name only, never on the weights,
//     so when weight moves between two adjacent entries of a split only the
//     users in the moved range change version, and always from the
//     shrinking entry to the growing one. The controller must therefore keep
//     the order of a split stable for the life of a rollout and list the
//     candidate first, the baseline after it (a version may sit at weight 0
//     to keep its place). A request without the key is split at random.
//   - Segments come first: they are tried in order, and the first whose
//     rules all hold sends the request to its own version or split; only a
//     request no segment takes goes to Policy.Splits.
//   - Mirrors are independent of all that: each mirror samples its own
//     share of every request, whatever version answers it. A mirrored
//     version never answers (Validate refuses a shadow that is also a
//     primary), and mirroring never changes the answering version.
//
// Hashing is FNV-1a 64 over Salt, the segment name and the key (with a
// 0xff byte, which UTF-8 never contains, between them), finished with
// MurmurHash3's 64-bit mixer; the bucket is the high word of hash × 10000.
// The salt and segment parts are hashed once, at Compile; a route hashes
// only the key. Random choices mix the caller's 64-bit number the same way,
// with a different offset for the split and for each mirror, so the choices
// are independent of each other.
package traffic

// Total is the weight of all traffic: weights and mirror percents are in
// basis points, so Total is 100%.
const Total = 10000

// MaxMirrors is how many mirrors a policy may have. Decisions carry mirrors
// in a fixed-size array so that routing does not allocate.
const MaxMirrors = 4

// Policy is a model's routing configuration, as set through the control
// API and stored. The zero value is not valid: a policy needs Splits.
type Policy struct {
	// Splits is the default split, taken by every request no segment
	// takes. Weights are basis points summing to 10000. Keep the order
	// stable while a rollout changes weights, the candidate first, so that
	// sticky users move only towards the growing version.
	Splits []Split `json:"splits"`
	// Sticky names the key that pins a user to a version: "header:NAME"
	// (a request header) or "param:NAME" (an OIP request parameter).
	// Empty means every request is split at random.
	Sticky string `json:"sticky,omitempty"`
	// Salt is mixed into every sticky hash. Set it once per model and
	// rollout (for example "fraud-detector/rollout-17") and keep it for
	// the rollout's life: the same salt keeps each user's bucket, a new one
	// deals every user a fresh bucket, so that the same users are not the
	// canaries of every release and different models' cohorts are not
	// correlated. Empty is a valid salt like any other.
	Salt string `json:"salt,omitempty"`
	// Segments are audiences routed before the split, tried in order: the
	// first whose rules all hold wins. Nil means none.
	Segments []Segment `json:"segments,omitempty"`
	// Mirrors receive shadow copies of requests; at most MaxMirrors. Nil
	// means no mirroring.
	Mirrors []Mirror `json:"mirrors,omitempty"`
}

// Split is one version's share of a split.
type Split struct {
	Version string `json:"version"`
	// Weight is the version's share in basis points (1% = 100), 0..10000.
	// Zero keeps the version's place in the order without traffic.
	Weight int `json:"weight"`
}

// Segment is an audience: the requests that satisfy every rule in Match.
// It sends them to Version, or divides them by its own Splits (sticky
// hashing applies there too, salted with the segment name so that its
// buckets are independent of the default split's). Exactly one of Version
// and Splits is given.
type Segment struct {
	// Name identifies the segment in decisions and in its sticky hash;
	// unique within a policy. Renaming a segment reshuffles its users.
	Name    string  `json:"name"`
	Match   []Rule  `json:"match"`
	Version string  `json:"version,omitempty"`
	Splits  []Split `json:"splits,omitempty"`
	// Measure keeps the segment's traffic apart in telemetry, per version
	// (telemetry.SegmentSeries), as an experiment limited to an audience
	// needs. Default false: measuring costs a second record per request.
	Measure bool `json:"measure,omitempty"`
}

// Rule tests one attribute of a request: a header or a parameter (exactly
// one of Header and Param), by exact value, prefix or regular expression
// (exactly one of Exact, Prefix and Regex). An absent or empty attribute
// never satisfies a rule.
//
// A parameter that is a number or a boolean is tested as text: booleans as
// "true" and "false", whole numbers as integers ("42", also for the 42.0 a
// JSON body decodes to), other numbers in Go's shortest form ("0.5",
// "1e-07"). Parameters of other types (lists, objects) count as absent.
type Rule struct {
	Header string `json:"header,omitempty"`
	Param  string `json:"param,omitempty"`
	Exact  string `json:"exact,omitempty"`
	Prefix string `json:"prefix,omitempty"`
	// Regex is RE2 syntax (package regexp), unanchored: add ^ and $ to
	// match the whole value.
	Regex string `json:"regex,omitempty"`
}

// String renders the rule for people: "header X-Country = de", "param
// region starts with eu", "header X-Device ~ ^mob".
func (r Rule) String() string {
	what := "header " + r.Header
	if r.Param != "" {
		what = "param " + r.Param
	}
	switch {
	case r.Exact != "":
		return what + " = " + r.Exact
	case r.Prefix != "":
		return what + " starts with " + r.Prefix
	}
	return what + " ~ " + r.Regex
}

// Mirror sends a shadow copy of a share of all requests to a version whose
// answer is recorded and compared but never returned.
type Mirror struct {
	Version string `json:"version"`
	// Percent is the mirrored share in basis points: 10000 mirrors every
	// request, 0 none (a paused mirror).
	Percent int `json:"percent"`
}

// Versions returns every version the policy names, in the order they first
// appear (splits, then segments, then mirrors), each once. Versions at
// weight 0 and mirrors at 0% are included: the controller placed them to
// receive traffic soon, so the gateway should keep them loaded.
func (p Policy) Versions() []string {
	var out []string
	seen := make(map[string]bool)
	add := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	for _, s := range p.Splits {
		add(s.Version)
	}
	for _, seg := range p.Segments {
		add(seg.Version)
		for _, s := range seg.Splits {
			add(s.Version)
		}
	}
	for _, m := range p.Mirrors {
		add(m.Version)
	}
	return out
}
