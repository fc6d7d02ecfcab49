package oip

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// jsonTexts are JSON texts, valid and not, that the scanner must judge as
// encoding/json does.
var jsonTexts = []string{
	``, ` `, `null`, `nul`, `nullx`, `true`, `tru`, `false`, `False`, `0`, `-0`, `-`, `01`, `1.`, `.5`, `1.5`,
	`1e5`, `1E+5`, `1e-05`, `1e`, `1e+`, `-1.5e-3`, `+1`, `0x10`, `1_000`, `Infinity`, `NaN`, `1 2`,
	`""`, `"a"`, `"\""`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\u00e9"`, `"\u00E9"`, `"\u00g9"`, `"\u00e"`, `"\x"`, `"\'"`,
	`"\ud800"`, `"\ud800\udc00"`, `"\udc00\ud800"`, "\"\x00\"", "\"\x1f\"", "\"\x7f\"", "\"\xff\"", "\"\xed\xa0\x80\"", `"abc`, `"\`,
	`[]`, `[ ]`, `[1]`, `[1,]`, `[,1]`, `[1 2]`, `[[]]`, `[[],[]]`, `[`, `]`, `[1,[2,[3]]]`,
	`{}`, `{ }`, `{"a":1}`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{a:1}`, `{'a':1}`, `{"a":1 "b":2}`, `{"a":1,"a":2}`, `{1:2}`, `{`, `}`,
	` {"a" : [ 1 , { "b" : null } ] } `, "\t\n\r[1]\r\n", "\u00a0[1]", "\xef\xbb\xbf[1]", "[1]\x00",
	strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
	strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth),
	strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1),
}

func TestScannerAcceptsWhatEncodingJSONDoes(t *testing.T) {
	for _, text := range jsonTexts {
		checkJSONText(t, []byte(text))
	}
}

func FuzzJSONText(f *testing.F) {
	for _, text := range jsonTexts {
		if len(text) < 100 {
			f.Add([]byte(text))
		}
	}
	f.Fuzz(func(t *testing.T, text []byte) { checkJSONText(t, text) })
}

// checkJSONText holds the scanner to encoding/json and strconv for one
// text: whether it is JSON, and, for a string or a number, its value; and
// AppendJSONString to encoding/json's encoding of the text as a string.
func checkJSONText(t *testing.T, text []byte) {
	t.Helper()
	s := scanner{buf: text}
	err := s.skip()
	if ok := err == nil && s.atEnd(); ok != json.Valid(text) {
		t.Fatalf("scanner says valid %v (%v), encoding/json %v: %q", ok, err, !ok, text)
	}
	if want, _ := json.Marshal(string(text)); !bytes.Equal(AppendJSONString(nil, string(text)), want) {
		t.Fatalf("AppendJSONString(%q) = %s, encoding/json %s", text, AppendJSONString(nil, string(text)), want)
	}
	if !json.Valid(text) {
		return
	}
	s = scanner{buf: text}
	switch c := s.next(); {
	case c == '"':
		raw, plain, _ := s.str()
		got := string(raw)
		if !plain {
			got = string(appendUnquoted(nil, raw))
		}
		var want string
		if err := json.Unmarshal(text, &want); err != nil || got != want {
			t.Fatalf("string %q reads as %q, encoding/json %q (%v)", text, got, want, err)
		}
	case c == '-' || isDigit(c):
		var n number
		s.number(&n)
		checkNumber(t, &n)
	}
}

// checkNumber holds number's value to strconv's.
func checkNumber(t *testing.T, n *number) {
	t.Helper()
	got, err := n.float()
	want, wantErr := strconv.ParseFloat(string(n.text), 64)
	if math.Float64bits(got) != math.Float64bits(want) || (err == nil) != (wantErr == nil) {
		t.Fatalf("%s reads as float %v (%v), strconv %v (%v)", n.text, got, err, want, wantErr)
	}
	for _, bits := range []int{32, 64} {
		got, ok := n.int(bits)
		want, err := strconv.ParseInt(string(n.text), 10, bits)
		if ok != (err == nil) || ok && got != want {
			t.Fatalf("%s reads as int%d %v (%v), strconv %v (%v)", n.text, bits, got, ok, want, err)
		}
	}
}

func TestNumberMatchesStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	texts := []string{"0", "-0", "0.0", "-0.0", "1", "9007199254740991", "9007199254740992", "9007199254740993",
		"1e22", "1e23", "1e-22", "1e-23", "123456789012345678", "1234567890123456789", "12345678901234567890",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
		"2147483647", "2147483648", "-2147483648", "-2147483649", "0.1", "0.2", "0.3", "26.75", "0.086",
		"1e308", "1.7976931348623157e308", "1.7976931348623159e308", "1e309", "1e-400", "4.9e-324", "2.4e-324",
		"1e99999", "1e-99999", "0e99999", "0.000000000000000000000000000001e30", "100000000000000000000000e-23"}
	for range 20000 {
		digits := strconv.FormatUint(rng.Uint64()>>rng.IntN(64), 10)
		switch rng.IntN(4) {
		case 0:
			texts = append(texts, digits)
		case 1:
			p := rng.IntN(len(digits))
			texts = append(texts, "0"+strings.TrimLeft(digits[:p], "0")+"."+digits[p:])
		case 2:
			texts = append(texts, fmt.Sprintf("%s.%se%d", digits[:1], digits[1:]+"0", rng.IntN(60)-30))
		default:
			texts = append(texts, strconv.FormatFloat(math.Float64frombits(rng.Uint64()), 'g', -1, 64))
		}
	}
	for _, text := range texts {
		for _, sign := range []string{"", "-"} {
			text := sign + strings.TrimPrefix(text, "-")
			if !json.Valid([]byte(text)) { // NaN, Inf
				continue
			}
			s := scanner{buf: []byte(text)}
			var n number
			if err := s.number(&n); err != nil || s.pos != len(text) {
				t.Fatalf("%s: %v at %d", text, err, s.pos)
			}
			checkNumber(t, &n)
		}
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	var texts []string
	for c := range 256 {
		texts = append(texts, string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+"b")
	}
	for r := rune(0); r < 0x3000; r++ {
		texts = append(texts, string(r))
	}
	texts = append(texts, "\U0001F600", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc3", "é\xc3", "<a href=\"x\">&amp;</a>")
	for _, s := range texts {
		want, _ := json.Marshal(s)
		if got := AppendJSONString([]byte("x"), s); !bytes.Equal(got[1:], want) {
			t.Fatalf("AppendJSONString(%q) = %s, encoding/json %s", s, got[1:], want)
		}
	}
}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	f64 := []float64{0, math.Copysign(0, -1), 1, -1, 1e-6, 9.999999e-7, 1e-7, 1e20, 1e21, 999999999999999999999, 123456789,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 0.1, 1.0 / 3}
	f32 := []float32{0, 1, 1e-6, 9.999999e-7, 1e-7, 1e20, 1e21, 123456789, math.MaxFloat32, math.SmallestNonzeroFloat32, 0.1, 26.75}
	for range 100000 {
		f64 = append(f64, math.Float64frombits(rng.Uint64()))
		f32 = append(f32, math.Float32frombits(rng.Uint32()))
	}
	for _, f := range f64 {
		checkFloat(t, float64(f), 64, f)
	}
	for _, f := range f32 {
		checkFloat(t, float64(f), 32, f)
	}
}

func checkFloat(t *testing.T, f float64, bits int, v any) {
	t.Helper()
	got := appendFloat(nil, f, bits)
	want, err := json.Marshal(v)
	if err != nil { // NaN or an infinity
		want = []byte("null")
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("appendFloat(%v, %d) = %s, encoding/json %s", f, bits, got, want)
	}
}

// TestAppendUnquotedRandom reads random strings, escaped at random, back
// as encoding/json does.
func TestAppendUnquotedRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var b strings.Builder
		b.WriteByte('"')
		for range rng.IntN(8) {
			switch k := rng.IntN(6); k {
			case 0:
				fmt.Fprintf(&b, `\u%04x`, rng.IntN(0x10000))
			case 1:
				fmt.Fprintf(&b, `\u%04X\u%04x`, 0xD800+rng.IntN(0x800), 0xD800+rng.IntN(0x800))
			case 2:
				b.WriteString([]string{`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`}[rng.IntN(8)])
			case 3:
				b.WriteByte(byte(0x80 + rng.IntN(0x80)))
			case 4:
				b.WriteRune(rune(rng.IntN(utf8.MaxRune)))
			default:
				b.WriteString("plain text")
			}
		}
		b.WriteByte('"')
		checkJSONText(t, []byte(b.String()))
	}
}
