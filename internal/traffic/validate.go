package traffic

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/slipway-ml/slipway"
)

// FieldError is one problem with a policy, at the path of the field that
// has it, such as "segments[0].match[1].regex".
type FieldError struct {
	Field string
	Msg   string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Msg }

// PolicyError lists every problem Validate found, in the order of the
// policy's fields. It matches slipway.ErrInvalid, so the control API
// answers 400.
type PolicyError struct {
	Problems []FieldError
}

func (e *PolicyError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "; ")
}

// Is makes a *PolicyError match slipway.ErrInvalid.
func (e *PolicyError) Is(target error) bool { return target == slipway.ErrInvalid }

// Validate reports every problem with p at once, as a *PolicyError, or
// nil when p can be compiled.
func (p Policy) Validate() error {
	c := &checker{primary: make(map[string]string)}
	c.splits("splits", p.Splits)
	c.sticky(p.Sticky)
	names := make(map[string]string)
	for i, seg := range p.Segments {
		path := fmt.Sprintf("segments[%d]", i)
		if seg.Name == "" {
			c.addf(path+".name", "empty")
		} else if first, dup := names[seg.Name]; dup {
			c.addf(path+".name", "%q is used twice (also %s)", seg.Name, first)
		} else {
			names[seg.Name] = path
		}
		c.segment(path, seg)
	}
	c.mirrors(p.Mirrors)
	if len(c.problems) > 0 {
		return &PolicyError{Problems: c.problems}
	}
	return nil
}

// checker collects problems as it walks a policy.
type checker struct {
	problems []FieldError
	// primary maps each version that answers requests to the first field
	// that makes it answer, to tell a shadow it must not be a primary.
	primary map[string]string
}

func (c *checker) addf(field, format string, args ...any) {
	c.problems = append(c.problems, FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) answers(version, path string) {
	if _, ok := c.primary[version]; !ok && version != "" {
		c.primary[version] = path
	}
}

func (c *checker) version(path, v string) {
	if v == "" {
		c.addf(path, "empty")
	} else if err := slipway.ValidName("version", v); err != nil {
		c.addf(path, "%v", err)
	}
}

func (c *checker) splits(path string, splits []Split) {
	if len(splits) == 0 {
		c.addf(path, "empty; list at least one version")
		return
	}
	seen := make(map[string]int)
	sum := 0
	for i, s := range splits {
		at := fmt.Sprintf("%s[%d]", path, i)
		c.version(at+".version", s.Version)
		if j, dup := seen[s.Version]; dup && s.Version != "" {
			c.addf(at+".version", "%q is listed twice (also %s[%d])", s.Version, path, j)
		} else {
			seen[s.Version] = i
		}
		switch {
		case s.Weight < 0:
			c.addf(at+".weight", "%d is negative", s.Weight)
		case s.Weight > Total:
			c.addf(at+".weight", "%d is more than %d", s.Weight, Total)
		case s.Weight > 0:
			c.answers(s.Version, at)
		}
		sum += s.Weight
	}
	if sum != Total {
		c.addf(path, "weights sum to %d basis points, want %d", sum, Total)
	}
}

func (c *checker) sticky(s string) {
	if err := CheckSticky(s); err != nil {
		c.addf("sticky", "%s", err.Error())
	}
}

// CheckSticky reports whether s names a sticky key as Policy.Sticky
// takes it: "header:NAME", "param:NAME", or empty for none.
func CheckSticky(s string) error {
	if s == "" {
		return nil
	}
	kind, name, ok := strings.Cut(s, ":")
	switch {
	case !ok || name == "" || (kind != "header" && kind != "param"):
		return fmt.Errorf("%q is not header:NAME or param:NAME", s)
	case kind == "header" && !validHeaderName(name):
		return fmt.Errorf("%q is not a valid HTTP header name", name)
	}
	return nil
}

func (c *checker) segment(path string, seg Segment) {
	if len(seg.Match) == 0 {
		c.addf(path+".match", "empty; a segment needs at least one rule")
	}
	for j, r := range seg.Match {
		c.rule(fmt.Sprintf("%s.match[%d]", path, j), r)
	}
	switch {
	case seg.Version != "" && len(seg.Splits) > 0:
		c.addf(path, "give version or splits, not both")
	case seg.Version != "":
		c.version(path+".version", seg.Version)
		c.answers(seg.Version, path+".version")
	case len(seg.Splits) > 0:
		c.splits(path+".splits", seg.Splits)
	default:
		c.addf(path, "give version or splits")
	}
}

func (c *checker) rule(path string, r Rule) {
	switch {
	case r.Header != "" && r.Param != "":
		c.addf(path, "give header or param, not both")
	case r.Header == "" && r.Param == "":
		c.addf(path, "give header or param")
	case r.Header != "" && !validHeaderName(r.Header):
		c.addf(path+".header", "%q is not a valid HTTP header name", r.Header)
	}
	n := 0
	for _, s := range []string{r.Exact, r.Prefix, r.Regex} {
		if s != "" {
			n++
		}
	}
	switch {
	case n == 0:
		c.addf(path, "give one of exact, prefix, regex")
	case n > 1:
		c.addf(path, "give one of exact, prefix, regex, not several")
	case r.Regex != "":
		if _, err := regexp.Compile(r.Regex); err != nil {
			c.addf(path+".regex", "%v", err)
		}
	}
}

func (c *checker) mirrors(mirrors []Mirror) {
	if len(mirrors) > MaxMirrors {
		c.addf("mirrors", "%d mirrors, at most %d", len(mirrors), MaxMirrors)
	}
	seen := make(map[string]int)
	for i, m := range mirrors {
		at := fmt.Sprintf("mirrors[%d]", i)
		c.version(at+".version", m.Version)
		if j, dup := seen[m.Version]; dup && m.Version != "" {
			c.addf(at+".version", "%q is listed twice (also mirrors[%d])", m.Version, j)
		} else {
			seen[m.Version] = i
		}
		if where, ok := c.primary[m.Version]; ok {
			c.addf(at+".version", "%q also answers requests (%s); a shadow must not be a primary", m.Version, where)
		}
		if m.Percent < 0 || m.Percent > Total {
			c.addf(at+".percent", "%d is outside 0..%d", m.Percent, Total)
		}
	}
}

// validHeaderName reports whether s is an HTTP field name: a token of
// RFC 9110 (letters, digits and !#$%&'*+-.^_`|~).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		ok := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
		if !ok {
			return false
		}
	}
	return true
}
