package dataset_test

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/csvtest"
	"github.com/slipway-ml/slipway/internal/dataset"
)

const examples = "../../examples/"

func signature(t testing.TB, dir string) slipway.Signature {
	t.Helper()
	b, err := os.ReadFile(examples + dir + "/signature.json")
	if err != nil {
		t.Fatal(err)
	}
	var sig slipway.Signature
	if err := json.Unmarshal(b, &sig); err != nil {
		t.Fatal(err)
	}
	return sig
}

// table reads a CSV file independently of the package under test.
func table(t testing.TB, path string) ([]string, [][]string) {
	t.Helper()
	all := csvtest.Read(t, path)
	return all[0], all[1:]
}

func readAll(t testing.TB, r *dataset.Reader) []*dataset.Batch {
	t.Helper()
	var out []*dataset.Batch
	for {
		b, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
}

func f32(t testing.TB, s string) float32 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		t.Fatal(err)
	}
	return float32(v)
}

func same(a, b float32) bool { return a == b || (a != a && b != b) }

func TestFraudHoldoutPerFeature(t *testing.T) {
	sig := signature(t, "fraud/v1")
	r, err := dataset.Open(examples+"fraud/holdout.csv", sig, dataset.Options{
		Label: "label", LabelKind: dataset.LabelKind{Task: dataset.Binary}, Group: "region", BatchSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Format() != dataset.CSV {
		t.Errorf("format %v", r.Format())
	}
	header, rows := table(t, examples+"fraud/holdout.csv")
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	batches := readAll(t, r)
	n, nan := 0, 0
	for bi, b := range batches {
		if b.First != int64(n) || len(b.Inputs) != len(sig.Inputs) || len(b.Labels) != b.Rows || len(b.Groups) != b.Rows || b.IDs != nil {
			t.Fatalf("batch %d: first %d rows %d inputs %d labels %d", bi, b.First, b.Rows, len(b.Inputs), len(b.Labels))
		}
		for j, in := range sig.Inputs {
			tt := b.Inputs[j]
			if tt.Name != in.Name || tt.Datatype != "FP32" || len(tt.Shape) != 1 || tt.Shape[0] != int64(b.Rows) {
				t.Fatalf("tensor %d: %s %s %v", j, tt.Name, tt.Datatype, tt.Shape)
			}
			data := tt.Data.([]float32)
			for i := range b.Rows {
				want := f32(t, rows[n+i][col[in.Name]])
				if !same(data[i], want) {
					t.Fatalf("row %d %s: got %v want %v", n+i, in.Name, data[i], want)
				}
				if want != want {
					nan++
				}
			}
		}
		for i := range b.Rows {
			if b.Lines[i] != n+i+2 || b.Groups[i] != rows[n+i][col["region"]] || strconv.Itoa(int(b.Labels[i])) != rows[n+i][col["label"]] {
				t.Fatalf("row %d: line %d group %q label %v", n+i, b.Lines[i], b.Groups[i], b.Labels[i])
			}
		}
		n += b.Rows
	}
	if n != len(rows) || len(batches) != (len(rows)+299)/300 {
		t.Fatalf("read %d rows in %d batches, file has %d", n, len(batches), len(rows))
	}
	if nan == 0 {
		t.Error("holdout has NaN cells but none were read as NaN")
	}
}

func TestDigitsHoldoutMatrix(t *testing.T) {
	sig := signature(t, "digits/v1")
	r, err := dataset.Open(examples+"digits/holdout.csv", sig, dataset.Options{
		Label: "label", LabelKind: dataset.LabelKind{Task: dataset.Multiclass, Classes: 10}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, rows := table(t, examples+"digits/holdout.csv")
	batches := readAll(t, r)
	if len(batches) != 1 {
		t.Fatalf("%d batches", len(batches))
	}
	b := batches[0]
	in := b.Inputs[0]
	if b.Rows != len(rows) || in.Name != "input" || len(in.Shape) != 2 || in.Shape[0] != int64(len(rows)) || in.Shape[1] != 64 {
		t.Fatalf("rows %d, tensor %s %v", b.Rows, in.Name, in.Shape)
	}
	data := in.Data.([]float32)
	for i, row := range rows {
		for j := range 64 {
			if data[i*64+j] != f32(t, row[j]) {
				t.Fatalf("row %d pixel %d: %v vs %s", i, j, data[i*64+j], row[j])
			}
		}
		if strconv.Itoa(int(b.Labels[i])) != row[64] {
			t.Fatalf("row %d label %v vs %s", i, b.Labels[i], row[64])
		}
	}
}

// toJSONL rewrites a CSV file as JSON Lines, numbers as numbers and NaN
// as null, with keys in a different order than the CSV's columns.
func toJSONL(t testing.TB, src, dst string, arrayKey string, width int) {
	t.Helper()
	header, rows := table(t, src)
	var sb strings.Builder
	for _, row := range rows {
		var parts []string
		var arr []string
		for i := len(header) - 1; i >= 0; i-- {
			v := row[i]
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				v = strconv.Quote(v)
			} else if strings.EqualFold(v, "nan") {
				v = "null"
			}
			if arrayKey != "" && i < width {
				arr = append([]string{v}, arr...)
				continue
			}
			parts = append(parts, strconv.Quote(header[i])+":"+v)
		}
		if arrayKey != "" {
			parts = append(parts, strconv.Quote(arrayKey)+":["+strings.Join(arr, ",")+"]")
		}
		sb.WriteString("{" + strings.Join(parts, ", ") + "}\n")
	}
	if err := os.WriteFile(dst, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// JSON Lines and CSV of the same rows give the same batches.
func TestJSONLinesMatchesCSV(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		model, arrayKey string
		width           int
		opt             dataset.Options
	}{
		{"fraud/v1", "", 0, dataset.Options{Label: "label", Group: "region", BatchSize: 128}},
		{"digits/v1", "input", 64, dataset.Options{Label: "label", BatchSize: 128}},
		{"digits/v1", "", 0, dataset.Options{Label: "label", BatchSize: 128}},
	} {
		name := strings.Split(tc.model, "/")[0]
		jsonl := filepath.Join(dir, name+tc.arrayKey+".jsonl")
		toJSONL(t, examples+name+"/holdout.csv", jsonl, tc.arrayKey, tc.width)
		sig := signature(t, tc.model)
		cr, err := dataset.Open(examples+name+"/holdout.csv", sig, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		jr, err := dataset.Open(jsonl, sig, tc.opt)
		if err != nil {
			t.Fatalf("%s: %v", jsonl, err)
		}
		if jr.Format() != dataset.JSONL {
			t.Fatalf("format %v", jr.Format())
		}
		cb, jb := readAll(t, cr), readAll(t, jr)
		cr.Close()
		jr.Close()
		if len(cb) != len(jb) {
			t.Fatalf("%s: %d vs %d batches", jsonl, len(cb), len(jb))
		}
		if tc.arrayKey == "" && name == "digits" {
			// Keys were written in reverse, so the matrix columns are
			// reversed too: the file order is the contract.
			continue
		}
		for i := range cb {
			compareBatches(t, cb[i], jb[i])
		}
	}
}

func compareBatches(t *testing.T, a, b *dataset.Batch) {
	t.Helper()
	if a.Rows != b.Rows || a.First != b.First {
		t.Fatalf("rows %d/%d first %d/%d", a.Rows, b.Rows, a.First, b.First)
	}
	for k := range a.Inputs {
		x, y := a.Inputs[k].Data.([]float32), b.Inputs[k].Data.([]float32)
		for i := range x {
			if !same(x[i], y[i]) {
				t.Fatalf("tensor %s element %d: %v vs %v", a.Inputs[k].Name, i, x[i], y[i])
			}
		}
	}
	for i := range a.Labels {
		if a.Labels[i] != b.Labels[i] || (a.Groups != nil && a.Groups[i] != b.Groups[i]) {
			t.Fatalf("row %d extras differ", i)
		}
	}
}

// Reading from a batch's End continues exactly where the batch ended.
func TestResumeAtBatchEnd(t *testing.T) {
	sig := signature(t, "fraud/v1")
	opt := dataset.Options{Label: "label", Group: "region", BatchSize: 170}
	path := examples + "fraud/holdout.csv"
	r, err := dataset.Open(path, sig, opt)
	if err != nil {
		t.Fatal(err)
	}
	all := readAll(t, r)
	r.Close()
	for _, k := range []int{0, 3, len(all) - 1} {
		o := opt
		o.Resume = all[k].End
		r, err := dataset.Open(path, sig, o)
		if err != nil {
			t.Fatal(err)
		}
		rest := readAll(t, r)
		r.Close()
		if len(rest) != len(all)-k-1 {
			t.Fatalf("resume after batch %d: %d batches, want %d", k, len(rest), len(all)-k-1)
		}
		for i, b := range rest {
			compareBatches(t, all[k+1+i], b)
			if b.Lines[0] != all[k+1+i].Lines[0] || b.End != all[k+1+i].End {
				t.Fatalf("resume after batch %d: batch %d line %d end %+v, want line %d end %+v", k, i, b.Lines[0], b.End, all[k+1+i].Lines[0], all[k+1+i].End)
			}
		}
		// The same through a stream that cannot seek.
		f, _ := os.Open(path)
		sr, err := dataset.NewReader(io.MultiReader(f), "holdout.csv", sig, o)
		if err != nil {
			t.Fatal(err)
		}
		if srest := readAll(t, sr); len(srest) != len(rest) || (len(rest) > 0 && srest[0].First != rest[0].First) {
			t.Fatalf("stream resume: %d batches", len(srest))
		}
		f.Close()
	}
}

func fraudSig(t testing.TB) slipway.Signature { return signature(t, "fraud/v1") }

const fraudHeader = "amount,hour,merchant_risk,distance_from_home,tx_count_24h,is_foreign,card_age_days,region,label\n"

// Bad files are refused with the file, line and column.
func TestBadFiles(t *testing.T) {
	good := "12.5,3,0.1,4,1,0,300,eu,1\n"
	binary := dataset.LabelKind{Task: dataset.Binary}
	fraudOpt := dataset.Options{Label: "label", LabelKind: binary, Group: "region"}
	for _, tc := range []struct {
		name, file, body string
		opt              dataset.Options
		want             string
	}{
		{"empty", "empty.csv", "", fraudOpt, "empty.csv: empty file"},
		{"blank", "blank.csv", "\n\n", fraudOpt, "blank.csv: empty file"},
		{"header only", "h.csv", fraudHeader, fraudOpt, "h.csv: no rows after the header"},
		{"not a number", "holdout.csv", fraudHeader + strings.Repeat(good, 15) + "abc,3,0.1,4,1,0,300,eu,1\n", fraudOpt,
			`holdout.csv:17: column amount: "abc" is not a number`},
		{"missing inputs", "m.csv", "amount,merchant_risk,region,label\n1,2,eu,0\n", fraudOpt,
			"m.csv:1: missing input columns: hour, distance_from_home, tx_count_24h, is_foreign, card_age_days"},
		{"unexpected columns", "u.csv", strings.TrimSuffix(fraudHeader, "\n") + ",zip,note\n" + strings.TrimSuffix(good, "\n") + ",1,x\n", fraudOpt,
			"u.csv:1: unexpected columns: zip, note"},
		{"region not named", "r.csv", fraudHeader + good, dataset.Options{Label: "label"}, "r.csv:1: unexpected columns: region"},
		{"no label column", "l.csv", fraudHeader + good, dataset.Options{Label: "target", Group: "region"}, `l.csv:1: no label column "target"`},
		{"yes as binary label", "y.csv", fraudHeader + good + "12.5,3,0.1,4,1,0,300,eu,yes\n", fraudOpt,
			`y.csv:3: column label: "yes" is not a binary label (want 0 or 1)`},
		{"two as binary label", "y.csv", fraudHeader + "12.5,3,0.1,4,1,0,300,eu,2\n", fraudOpt,
			`y.csv:2: column label: "2" is not a binary label`},
		{"missing label", "y.csv", fraudHeader + "12.5,3,0.1,4,1,0,300,eu,\n", fraudOpt, `y.csv:2: column label: label is missing`},
		{"short row", "s.csv", fraudHeader + good + "1,2,3\n", fraudOpt, "s.csv:3: 3 fields, but the header has 9 columns"},
		{"unclosed quote", "q.csv", fraudHeader + good + "1,2,3,4,5,6,7,\"eu,1\n", fraudOpt, "q.csv:3: quoted field is not closed"},
		{"duplicate column", "d.csv", "amount,amount\n1,2\n", fraudOpt, "d.csv:1: column amount: appears twice"},
		{"jsonl bad json", "b.jsonl", `{"amount":1}` + "\n" + `{"amount":` + "\n", dataset.Options{Ignore: []string{"hour"}}, "b.jsonl:"},
		{"jsonl not a number", "n.jsonl", jsonRow("1") + jsonRow(`"abc"`), fraudOpt, `n.jsonl:2: column amount: "abc" is not a number`},
		{"jsonl unexpected key", "k.jsonl", jsonRow("1") + strings.Replace(jsonRow("1"), "{", `{"zip":"x",`, 1), fraudOpt, `k.jsonl:2: column zip: unexpected`},
		{"jsonl bool label", "t.jsonl", strings.Replace(jsonRow("1"), `"label":1`, `"label":"yes"`, 1), fraudOpt, `t.jsonl:1: column label: "yes" is not a binary label`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			err := readFile(path, fraudSig(t), tc.opt)
			if err == nil || !strings.Contains(err.Error(), filepath.Dir(path)+"/"+tc.want) || !errors.Is(err, slipway.ErrInvalid) {
				t.Fatalf("got %v\nwant %q", err, tc.want)
			}
		})
	}
}

func jsonRow(amount string) string {
	return `{"amount":` + amount + `,"hour":3,"merchant_risk":0.1,"distance_from_home":null,"tx_count_24h":1,"is_foreign":false,"card_age_days":300,"region":"eu","label":1}` + "\n"
}

func readFile(path string, sig slipway.Signature, opt dataset.Options) error {
	r, err := dataset.Open(path, sig, opt)
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		if _, err := r.Next(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

func TestDigitsWidthMismatch(t *testing.T) {
	sig := signature(t, "digits/v1")
	err := readFile(examples+"digits/holdout.csv", sig, dataset.Options{})
	if err == nil || !strings.Contains(err.Error(), `holdout.csv:1: 65 columns left for input "input", which takes 64 values per row`) {
		t.Fatalf("got %v", err)
	}
	path := filepath.Join(t.TempDir(), "d.jsonl")
	os.WriteFile(path, []byte(`{"input":[1,2,3],"label":1}`+"\n"), 0o644)
	err = readFile(path, sig, dataset.Options{Label: "label"})
	if err == nil || !strings.Contains(err.Error(), `d.jsonl:1: column input: array has 3 values, input "input" takes 64`) {
		t.Fatalf("got %v", err)
	}
}

// Quoted fields may hold commas and newlines; line numbers count the
// file's lines, so the row after a two-line record is reported right.
func TestQuotedFieldsAndLines(t *testing.T) {
	body := "id," + strings.TrimPrefix(fraudHeader, "") +
		"\"a,1\",1,2,0.5,,4,1,30,\"e\nu\",0\r\n" +
		"\n" +
		"b,NaN,2,0.5,7,4,1,30,us,1\r\n" +
		"c,x,2,0.5,7,4,1,30,us,1\r\n"
	path := filepath.Join(t.TempDir(), "quoted.csv")
	os.WriteFile(path, []byte(body), 0o644)
	r, err := dataset.Open(path, fraudSig(t), dataset.Options{ID: "id", Label: "label", Group: "region", BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if b.IDs[0] != "a,1" || b.Groups[0] != "e\nu" || b.Lines[0] != 2 || b.Lines[1] != 5 || b.IDs[1] != "b" {
		t.Fatalf("ids %q groups %q lines %v", b.IDs, b.Groups, b.Lines)
	}
	amount, dist := b.Inputs[0].Data.([]float32), b.Inputs[3].Data.([]float32)
	if amount[0] != 1 || !math.IsNaN(float64(dist[0])) || !math.IsNaN(float64(amount[1])) {
		t.Fatalf("amount %v distance %v", amount, dist)
	}
	if _, err := r.Next(); err == nil || !strings.Contains(err.Error(), `quoted.csv:6: column amount: "x" is not a number`) {
		t.Fatalf("got %v", err)
	}
}

func TestParseLabel(t *testing.T) {
	bin, multi, reg := dataset.LabelKind{Task: dataset.Binary}, dataset.LabelKind{Task: dataset.Multiclass, Classes: 3}, dataset.LabelKind{Task: dataset.Regression}
	for _, tc := range []struct {
		kind dataset.LabelKind
		in   string
		want float64
		err  string
	}{
		{bin, "1", 1, ""}, {bin, "0.0", 0, ""}, {bin, "true", 1, ""}, {bin, "FALSE", 0, ""},
		{bin, "yes", 0, `"yes" is not a binary label (want 0 or 1)`}, {bin, "0.5", 0, "not a binary label"}, {bin, "", 0, "label is missing"},
		{multi, "2", 2, ""}, {multi, "3", 0, `"3" is not a class id (want an integer from 0 to 2)`}, {multi, "1.5", 0, "not a class id"},
		{multi, "-1", 0, "not a class id"}, {multi, "true", 0, "not a multiclass label"},
		{reg, "-2.5e3", -2500, ""}, {reg, "inf", 0, "not a regression label"}, {reg, "NaN", 0, "label is missing"},
		{dataset.LabelKind{}, "7.25", 7.25, ""},
	} {
		got, err := tc.kind.ParseLabel(tc.in)
		if tc.err == "" && (err != nil || got != tc.want) {
			t.Errorf("%v %q = %v, %v; want %v", tc.kind, tc.in, got, err, tc.want)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%v %q: error %v, want %q", tc.kind, tc.in, err, tc.err)
		}
	}
	if err := (dataset.LabelKind{Task: dataset.Multiclass, Classes: 1}).Validate(); err == nil {
		t.Error("multiclass with one class validated")
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name, head string
		want       dataset.Format
	}{
		{"a.csv", "{", dataset.CSV}, {"a.jsonl", "x", dataset.JSONL}, {"a.ndjson", "", dataset.JSONL},
		{"data", "  {\"a\":1}", dataset.JSONL}, {"data", "a,b\n", dataset.CSV},
	} {
		if got := dataset.Detect(tc.name, []byte(tc.head)); got != tc.want {
			t.Errorf("Detect(%q, %q) = %v, want %v", tc.name, tc.head, got, tc.want)
		}
	}
}
