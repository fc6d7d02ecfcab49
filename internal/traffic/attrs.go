package traffic

import (
	"encoding/json"
	"math"
	"net/textproto"
	"strconv"
	"strings"
)

// Attrs is what a routing decision reads from a request. It holds the
// request's own maps, so filling it copies two pointers and allocates
// nothing. The zero value is a request without headers or parameters.
type Attrs struct {
	// Header holds the request headers; only a header's first value is
	// read. An http.Header (canonical keys, "X-User-Id") and gRPC metadata
	// (lower-case keys, "x-user-id") can both be assigned as they are. Nil
	// means no headers.
	Header map[string][]string
	// Params holds the request's OIP parameters as decoded: string, bool,
	// an integer or float type, or json.Number. Nil means no parameters.
	Params map[string]any
}

// attrKind says where an attribute comes from.
type attrKind uint8

const (
	fromHeader attrKind = iota + 1
	fromParam
)

// attr is a compiled reference to one request attribute. A header name is
// kept in both of the forms requests carry it in, so that a lookup needs no
// case folding.
type attr struct {
	kind  attrKind
	name  string // a parameter's name, or a header's canonical name
	lower string // a header's lower-case name (gRPC metadata)
}

func headerAttr(name string) attr {
	return attr{kind: fromHeader, name: textproto.CanonicalMIMEHeaderKey(name), lower: strings.ToLower(name)}
}

func paramAttr(name string) attr { return attr{kind: fromParam, name: name} }

// text returns the attribute's value as text: in s when the request holds
// it as a string, in b (appended to buf) when it had to be rendered from a
// number. ok is false when the attribute is absent, empty or of a type
// rules do not read. Rendering into the caller's buffer, rather than into a
// new string, is what keeps routing free of allocations.
func (k attr) text(a *Attrs, buf []byte) (s string, b []byte, ok bool) {
	if k.kind == fromHeader {
		v := a.Header[k.name]
		if len(v) == 0 && k.lower != k.name {
			v = a.Header[k.lower]
		}
		if len(v) == 0 || v[0] == "" {
			return "", nil, false
		}
		return v[0], nil, true
	}
	v, found := a.Params[k.name]
	if !found {
		return "", nil, false
	}
	switch v := v.(type) {
	case string:
		return v, nil, v != ""
	case json.Number:
		return string(v), nil, v != ""
	case bool:
		return strconv.FormatBool(v), nil, true
	case int:
		return "", strconv.AppendInt(buf, int64(v), 10), true
	case int32:
		return "", strconv.AppendInt(buf, int64(v), 10), true
	case int64:
		return "", strconv.AppendInt(buf, v, 10), true
	case uint:
		return "", strconv.AppendUint(buf, uint64(v), 10), true
	case uint32:
		return "", strconv.AppendUint(buf, uint64(v), 10), true
	case uint64:
		return "", strconv.AppendUint(buf, v, 10), true
	case float32:
		return "", appendFloat(buf, float64(v), 32), true
	case float64:
		return "", appendFloat(buf, v, 64), true
	}
	return "", nil, false
}

// appendFloat renders a whole number as an integer, so that the 42.0 a JSON
// body decodes to reads "42", and any other number in Go's shortest form.
func appendFloat(buf []byte, v float64, bitSize int) []byte {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.AppendInt(buf, int64(v), 10)
	}
	return strconv.AppendFloat(buf, v, 'g', -1, bitSize)
}
