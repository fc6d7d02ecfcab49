package oip

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// JSON text primitives for the JSON codec (jsoncodec.go): a strict scanner
// over a body and appenders for the bodies written. The scanner accepts
// exactly what encoding/json accepts as valid JSON (json.Valid), including
// its nesting limit, and allocates nothing except to report an error.

// MaxJSONDepth bounds how deeply arrays and objects nest, as
// encoding/json's does: a body nested deeper is not valid JSON to
// encoding/json either.
const MaxJSONDepth = 10000

const maxDepth = MaxJSONDepth

// scanner reads JSON text from buf.
type scanner struct {
	buf   []byte
	pos   int // the next byte to read
	depth int // arrays and objects open at pos
}

// syntaxError says where a body stops being JSON.
type syntaxError struct {
	msg    string
	offset int
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s at offset %d", e.msg, e.offset) }

// IsJSONSyntaxError reports whether err comes from a body that is not JSON
// at all, as opposed to JSON that is not what the protocol says.
func IsJSONSyntaxError(err error) bool {
	var se *syntaxError
	return errors.As(err, &se)
}

// fail reports the byte at pos, or the end of input, as unexpected.
func (s *scanner) fail() error {
	if s.pos >= len(s.buf) {
		return &syntaxError{"unexpected end of JSON input", s.pos}
	}
	c := s.buf[s.pos]
	if c < utf8.RuneSelf {
		return &syntaxError{"invalid character " + strconv.QuoteRune(rune(c)), s.pos}
	}
	return &syntaxError{fmt.Sprintf("invalid byte %#02x", c), s.pos}
}

// next skips whitespace and returns the byte at pos without consuming it,
// or 0 at the end of input (a NUL byte is never valid there either).
func (s *scanner) next() byte {
	for s.pos < len(s.buf) {
		switch c := s.buf[s.pos]; c {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return c
		}
	}
	return 0
}

// atEnd reports whether only whitespace is left.
func (s *scanner) atEnd() bool {
	s.next()
	return s.pos == len(s.buf)
}

// open consumes the '{' or '[' at pos.
func (s *scanner) open() error {
	if s.depth == maxDepth {
		return &syntaxError{"exceeded max depth", s.pos}
	}
	s.pos++
	s.depth++
	return nil
}

// close consumes the '}' or ']' at pos.
func (s *scanner) close() {
	s.pos++
	s.depth--
}

// member moves to the next member of the object being read, after its key
// and colon, and returns the key's raw contents (see str). first says no
// member has been read yet. At the closing brace it returns ok false.
func (s *scanner) member(first bool) (key []byte, plain, ok bool, err error) {
	c := s.next()
	switch {
	case c == '}':
		s.close()
		return nil, false, false, nil
	case first:
	case c == ',':
		s.pos++
		c = s.next()
	default:
		return nil, false, false, s.fail()
	}
	if c != '"' {
		return nil, false, false, s.fail()
	}
	if key, plain, err = s.str(); err != nil {
		return nil, false, false, err
	}
	if s.next() != ':' {
		return nil, false, false, s.fail()
	}
	s.pos++
	return key, plain, true, nil
}

// element moves to the next element of the array being read and reports
// whether there is one; at the closing bracket it consumes it. first says
// no element has been read yet. When it returns true, pos is at a byte.
func (s *scanner) element(first bool) (bool, error) {
	c := s.next()
	switch {
	case c == ']':
		s.close()
		return false, nil
	case first:
	case c == ',':
		s.pos++
		s.next()
	default:
		return false, s.fail()
	}
	if s.pos == len(s.buf) {
		return false, s.fail()
	}
	return true, nil
}

// matchKey returns which of keys the object key is (raw contents, plain
// as str says), "" for none, and marks it in seen, one bit per entry of
// keys, refusing a key seen before. Like encoding/json, it matches the
// key's value exactly, or else case-insensitively (with Unicode case
// folding).
func matchKey(key []byte, plain bool, keys []string, seen *uint8) (string, error) {
	k := -1
	if plain {
		for i, name := range keys {
			if string(key) == name {
				k = i
				break
			}
		}
	}
	if k < 0 {
		if !plain {
			key = appendUnquoted(nil, key)
		}
		for i, name := range keys {
			if bytes.EqualFold(key, []byte(name)) {
				k = i
				break
			}
		}
	}
	if k < 0 {
		return "", nil
	}
	if *seen&(1<<k) != 0 {
		return "", fmt.Errorf("duplicate key %q", keys[k])
	}
	*seen |= 1 << k
	return keys[k], nil
}

// elementWalker moves through a data array's elements in row-major
// order. When the first element is an array, arrays nest to any depth and
// are flattened, ragged ones too, as the encoding/json-based decoder did;
// otherwise the array is flat and an array among its elements is the
// element reader's to refuse.
type elementWalker struct {
	open    int  // arrays open within the data value
	nested  bool // the first element is an array
	started bool
}

// next moves to the next element and reports whether there is one. The
// scanner is at the data's '[' on the first call, and after the previous
// element on the others.
func (w *elementWalker) next(s *scanner) (bool, error) {
	due, empty := false, false // an element is due; an array was just opened
	if !w.started {
		if err := s.open(); err != nil {
			return false, err
		}
		w.started, w.open = true, 1
		w.nested = s.next() == '['
		due, empty = true, true
	}
	for {
		c := s.next()
		switch {
		case c == ']' && (empty || !due): // not after a comma
			s.close()
			if w.open--; w.open == 0 {
				return false, nil
			}
			due = false
		case due && c == '[' && w.nested:
			if err := s.open(); err != nil {
				return false, err
			}
			w.open++
			empty = true
		case due:
			if s.pos == len(s.buf) {
				return false, s.fail()
			}
			return true, nil
		case c == ',':
			s.pos++
			due, empty = true, false
		default:
			return false, s.fail()
		}
	}
}

// strSpecial marks the bytes that end a string's plain run: the quote, a
// backslash, control characters (invalid unescaped) and non-ASCII bytes.
var strSpecial = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '"' || c == '\\' || c < ' ' || c >= utf8.RuneSelf
	}
	return t
}()

// str consumes the string at pos and returns its raw contents between the
// quotes. plain says they are printable ASCII without escapes, the string's
// value as it is; otherwise appendUnquoted gives the value.
func (s *scanner) str() (raw []byte, plain bool, err error) {
	b := s.buf
	start := s.pos + 1
	plain = true
	for i := start; i < len(b); {
		c := b[i]
		if !strSpecial[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			s.pos = i + 1
			return b[start:i], plain, nil
		case c == '\\':
			plain = false
			n := escapeLen(b[i:])
			if n == 0 {
				s.pos = i
				return nil, false, &syntaxError{"invalid escape in string", i}
			}
			i += n
		case c < ' ':
			s.pos = i
			return nil, false, s.fail()
		default: // non-ASCII: invalid UTF-8 is valid JSON, replaced when unquoted
			plain = false
			i++
		}
	}
	s.pos = len(b)
	return nil, false, s.fail()
}

// escapeLen returns the length of the escape sequence b starts with, or 0
// when it is not one JSON allows.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if len(b) >= 6 && hex4(b[2:6]) >= 0 {
			return 6
		}
	}
	return 0
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// unescaped maps the letter of a two-byte escape to its byte.
var unescaped = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// appendUnquoted appends the value of a string whose raw contents str has
// checked, decoded as encoding/json decodes it: escapes resolved, and
// invalid UTF-8 and unpaired surrogates each replaced by U+FFFD.
func appendUnquoted(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		switch c := raw[i]; {
		case c == '\\' && raw[i+1] == 'u':
			r := hex4(raw[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if len(raw)-i >= 6 && raw[i] == '\\' && raw[i+1] == 'u' {
					r2 = hex4(raw[i+2:])
				}
				if r = utf16.DecodeRune(r, r2); r != utf8.RuneError {
					i += 6
				}
			}
			dst = utf8.AppendRune(dst, r)
		case c == '\\':
			dst = append(dst, unescaped[raw[i+1]])
			i += 2
		case c < utf8.RuneSelf:
			j := i + 1
			for j < len(raw) && raw[j] != '\\' && raw[j] < utf8.RuneSelf {
				j++
			}
			dst = append(dst, raw[i:j]...)
			i = j
		default:
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, raw[i:i+n]...)
			}
			i += n
		}
	}
	return dst
}

// number is a number's text, read by scanner.number.
type number struct {
	text    []byte
	integer bool // no fraction or exponent
	// When exact, the value is ±mant × 10^exp: at most 19 digits and a
	// small exponent.
	exact bool
	neg   bool
	mant  uint64
	exp   int
}

// number consumes the number at pos into n, checked against JSON's
// grammar -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? (strconv alone
// would also take "0x1p3", "Inf" or "1_000"), gathering its digits on the
// way. (n is an argument, not a result, to spare copying it on the hot
// path.)
func (s *scanner) number(n *number) error {
	b, i := s.buf, s.pos
	*n = number{integer: true}
	if i < len(b) && b[i] == '-' {
		n.neg = true
		i++
	}
	digits := 0 // digits in mant
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for ; i < len(b) && isDigit(b[i]); i++ {
			n.mant = n.mant*10 + uint64(b[i]-'0')
			digits++
		}
	default:
		s.pos = i
		return s.fail()
	}
	if i < len(b) && b[i] == '.' {
		n.integer = false
		if i++; i == len(b) || !isDigit(b[i]) {
			s.pos = i
			return s.fail()
		}
		for ; i < len(b) && isDigit(b[i]); i++ {
			n.mant = n.mant*10 + uint64(b[i]-'0')
			n.exp--
			digits++
		}
	}
	n.exact = digits <= 19
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		n.integer = false
		i++
		neg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			neg = b[i] == '-'
			i++
		}
		if i == len(b) || !isDigit(b[i]) {
			s.pos = i
			return s.fail()
		}
		e := 0
		for ; i < len(b) && isDigit(b[i]); i++ {
			if e < 10000 {
				e = e*10 + int(b[i]-'0')
			}
		}
		if e >= 10000 {
			n.exact = false
		}
		if neg {
			e = -e
		}
		n.exp += e
	}
	n.text = b[s.pos:i]
	s.pos = i
	return nil
}

// exactPow10 holds the powers of ten a float64 represents exactly.
var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// float returns the number's value, as strconv.ParseFloat(text, 64) does.
// When the digits and the power of ten are both exact float64s, one
// correctly rounded multiplication or division gives it (strconv's own
// first step); otherwise strconv does.
func (n *number) float() (float64, error) {
	if n.exact && n.mant < 1<<53 && -22 <= n.exp && n.exp <= 22 {
		f := float64(n.mant)
		if n.exp < 0 {
			f /= exactPow10[-n.exp]
		} else {
			f *= exactPow10[n.exp]
		}
		if n.neg {
			f = -f
		}
		return f, nil
	}
	return strconv.ParseFloat(bytesString(n.text), 64)
}

// int returns the number's value as an integer of bits bits (32 or 64);
// ok is false when it is not an integer or out of range.
func (n *number) int(bits int) (v int64, ok bool) {
	switch {
	case !n.integer:
		return 0, false
	case n.exact && n.mant < 1<<62:
		v = int64(n.mant)
		if n.neg {
			v = -v
		}
		return v, bits == 64 || v == int64(int32(v))
	}
	v, err := strconv.ParseInt(bytesString(n.text), 10, bits)
	return v, err == nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// literal consumes word (true, false or null), which must be at pos.
func (s *scanner) literal(word string) error {
	for i := 0; i < len(word); i++ {
		if s.pos == len(s.buf) || s.buf[s.pos] != word[i] {
			return s.fail()
		}
		s.pos++
	}
	return nil
}

// skip consumes one value of any kind, checking it.
func (s *scanner) skip() error {
	switch c := s.next(); {
	case c == '{':
		if err := s.open(); err != nil {
			return err
		}
		for first := true; ; first = false {
			_, _, ok, err := s.member(first)
			if err != nil || !ok {
				return err
			}
			if err := s.skip(); err != nil {
				return err
			}
		}
	case c == '[':
		if err := s.open(); err != nil {
			return err
		}
		for first := true; ; first = false {
			more, err := s.element(first)
			if err != nil || !more {
				return err
			}
			if err := s.skip(); err != nil {
				return err
			}
		}
	case c == '"':
		_, _, err := s.str()
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || isDigit(c):
		var n number
		return s.number(&n)
	}
	return s.fail()
}

// kindOf names the kind of value starting with c, for type errors.
func kindOf(c byte) string {
	switch {
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '[':
		return "an array"
	case c == '{':
		return "an object"
	case c == '-' || isDigit(c):
		return "a number"
	}
	return "not a value"
}

// bytesString views b as a string without copying it, for strconv's
// parsers. That is safe because they only read the string during the call
// and keep no reference to it (their errors hold a copy), and nothing
// writes to b meanwhile.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// htmlSafe marks the ASCII bytes a JSON string carries as they are,
// as encoding/json's default encoding does: not the quote, the backslash,
// control characters, or <, > and & (which it escapes so that JSON is safe
// to embed in HTML).
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string, byte for byte as encoding/json
// encodes it by default: \b \f \n \r \t and \" \\ escaped short, other
// control characters and <, > and & as \u00XX, U+2028 and U+2029 escaped,
// and invalid UTF-8 replaced by \ufffd.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if htmlSafe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += n
			continue
		}
		i += n
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendFloat appends f, a float32 when bits is 32, as encoding/json
// formats numbers (the shortest text that reads back as f, in exponent
// form below 1e-6 and from 1e21), and NaN and infinities, which JSON
// cannot carry, as null.
func appendFloat(dst []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		// float32 comparisons for a float32, to get the cutoffs exactly.
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if n := len(dst); format == 'e' && n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
		dst[n-2] = dst[n-1] // e-07 becomes e-7
		dst = dst[:n-1]
	}
	return dst
}

// appendArray appends d as a JSON array of elements appended by appendOne,
// or null for a nil slice, as encoding/json renders one.
func appendArray[T any](dst []byte, d []T, appendOne func([]byte, T) []byte) []byte {
	if d == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, v := range d {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendOne(dst, v)
	}
	return append(dst, ']')
}
