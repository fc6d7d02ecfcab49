package traffic

import (
	"math/bits"
	"regexp"
	"slices"
	"strings"
)

// Decision is where one request goes.
type Decision struct {
	// Version is the version that answers the request.
	Version string
	// Segment is the name of the segment that took the request; "" means
	// the default split did.
	Segment string
	// Measured says the segment keeps its own telemetry (Segment.Measure).
	Measured bool
	// Sticky reports whether the request's sticky key chose Version among
	// several; false when the key was absent (a random choice) or when
	// only one version could answer.
	Sticky bool
	// Mirrors[:NMirrors] are the versions that get a shadow copy, in the
	// policy's order. A fixed-size array keeps routing free of allocations.
	Mirrors  [MaxMirrors]string
	NMirrors int
}

// Table is a compiled Policy: regular expressions compiled, header names
// canonicalised, cumulative weights and hash seeds precomputed. It is
// immutable, so any number of goroutines may route with it at once.
type Table struct {
	sticky   attr // kind 0 when the policy is not sticky
	segments []segment
	split    split // the default split
	mirrors  []mirror
	versions []string
}

// split is a compiled list of weights: versions[i] owns the buckets below
// upper[i] and at or above upper[i-1]. Weight-0 entries are dropped, as
// they own no bucket.
type split struct {
	versions []string
	upper    []uint32
	seed     uint64 // the sticky hash state after Salt and the segment name
}

type segment struct {
	name    string
	rules   []rule
	split   split
	measure bool
}

type op uint8

const (
	opExact op = iota
	opPrefix
	opRegex
)

type rule struct {
	attr attr
	op   op
	arg  string // the exact value or the prefix
	re   *regexp.Regexp
}

type mirror struct {
	version string
	percent uint32
}

// Compile validates p and compiles it into a Table. Its error is
// p.Validate's.
func Compile(p Policy) (*Table, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	t := &Table{versions: p.Versions()}
	if kind, name, ok := strings.Cut(p.Sticky, ":"); ok {
		if kind == "header" {
			t.sticky = headerAttr(name)
		} else {
			t.sticky = paramAttr(name)
		}
	}
	t.split = compileSplit(p.Splits, p.Salt, "")
	for _, seg := range p.Segments {
		s := segment{name: seg.Name, measure: seg.Measure}
		for _, r := range seg.Match {
			s.rules = append(s.rules, compileRule(r))
		}
		splits := seg.Splits
		if seg.Version != "" {
			splits = []Split{{Version: seg.Version, Weight: Total}}
		}
		s.split = compileSplit(splits, p.Salt, seg.Name)
		t.segments = append(t.segments, s)
	}
	for _, m := range p.Mirrors {
		t.mirrors = append(t.mirrors, mirror{version: m.Version, percent: uint32(m.Percent)})
	}
	return t, nil
}

func compileSplit(splits []Split, salt, segment string) split {
	s := split{seed: stickySeed(salt, segment)}
	var upper uint32
	for _, e := range splits {
		if e.Weight == 0 {
			continue
		}
		upper += uint32(e.Weight)
		s.versions = append(s.versions, e.Version)
		s.upper = append(s.upper, upper)
	}
	return s
}

func compileRule(r Rule) rule {
	c := rule{attr: paramAttr(r.Param)}
	if r.Header != "" {
		c.attr = headerAttr(r.Header)
	}
	switch {
	case r.Exact != "":
		c.op, c.arg = opExact, r.Exact
	case r.Prefix != "":
		c.op, c.arg = opPrefix, r.Prefix
	default:
		c.op, c.re = opRegex, regexp.MustCompile(r.Regex) // Validate compiled it once already
	}
	return c
}

// Versions returns every version the table's policy names, as
// Policy.Versions does.
func (t *Table) Versions() []string { return slices.Clone(t.versions) }

// Route decides where the request described by a goes. rnd is a random
// number from the caller, used for requests without a sticky key and to
// sample mirrors; passing it in keeps Route a pure function. Route does
// not allocate, except once for a request whose numeric parameter is
// tested by a regular expression.
func (t *Table) Route(a Attrs, rnd uint64) Decision {
	var d Decision
	sp := &t.split
	for i := range t.segments {
		if t.segments[i].holds(&a) {
			d.Segment, d.Measured = t.segments[i].name, t.segments[i].measure
			sp = &t.segments[i].split
			break
		}
	}
	d.Version, d.Sticky = t.pick(sp, &a, rnd)
	for i := range t.mirrors {
		m := &t.mirrors[i]
		if bucket(mix(rnd+uint64(i+1)*golden)) < m.percent {
			d.Mirrors[d.NMirrors] = m.version
			d.NMirrors++
		}
	}
	return d
}

// pick chooses a version of sp: by the sticky key's bucket when the
// request has the key, else by rnd's.
func (t *Table) pick(sp *split, a *Attrs, rnd uint64) (version string, sticky bool) {
	if len(sp.versions) == 1 {
		return sp.versions[0], false
	}
	var b uint32
	if t.sticky.kind != 0 {
		var buf [32]byte
		if s, bs, ok := t.sticky.text(a, buf[:0]); ok {
			h := sp.seed
			if bs != nil {
				h = hashBytes(h, bs)
			} else {
				h = hashString(h, s)
			}
			b, sticky = bucket(mix(h)), true
		}
	}
	if !sticky {
		b = bucket(mix(rnd))
	}
	for i, u := range sp.upper {
		if b < u {
			return sp.versions[i], sticky
		}
	}
	return sp.versions[len(sp.versions)-1], sticky // unreachable: the last upper is Total
}

func (s *segment) holds(a *Attrs) bool {
	for i := range s.rules {
		if !s.rules[i].holds(a) {
			return false
		}
	}
	return true
}

func (r *rule) holds(a *Attrs) bool {
	var buf [32]byte
	s, b, ok := r.attr.text(a, buf[:0])
	switch {
	case !ok:
		return false
	case b == nil:
		return r.holdsString(s)
	case r.op == opExact:
		return string(b) == r.arg
	case r.op == opPrefix:
		return len(b) >= len(r.arg) && string(b[:len(r.arg)]) == r.arg
	default:
		// The regexp keeps what it reads, so matching the buffer itself
		// would move buf to the heap on every call; copy only here.
		return r.re.MatchString(string(b))
	}
}

func (r *rule) holdsString(s string) bool {
	switch r.op {
	case opExact:
		return s == r.arg
	case opPrefix:
		return strings.HasPrefix(s, r.arg)
	default:
		return r.re.MatchString(s)
	}
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
	golden    = 0x9e3779b97f4a7c15 // 2^64 / φ: offsets for independent draws from one rnd
)

// stickySeed hashes the parts of a sticky hash that Compile knows: Salt
// and the segment name, each followed by 0xff, a byte UTF-8 never holds,
// so that ("ab", "c") and ("a", "bc") differ.
func stickySeed(salt, segment string) uint64 {
	h := hashString(fnvOffset, salt)
	h = hashString(h, "\xff")
	h = hashString(h, segment)
	return hashString(h, "\xff")
}

// hashString and hashBytes continue an FNV-1a 64 hash with s.
func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

func hashBytes(h uint64, s []byte) uint64 {
	for _, c := range s {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}

// mix is MurmurHash3's 64-bit finaliser: a bijection whose every output bit
// depends on every input bit, which FNV's high bits alone do not give.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb93fe53e3d4f
	h ^= h >> 33
	return h
}

// bucket maps a uniform 64-bit number to a uniform bucket in [0, Total):
// the high word of h × Total, which is fair to within 2^-50.
func bucket(h uint64) uint32 {
	hi, _ := bits.Mul64(h, Total)
	return uint32(hi)
}
