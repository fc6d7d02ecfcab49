package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/slipway-ml/slipway/examples"
	"github.com/slipway-ml/slipway/internal/api"
	"github.com/slipway-ml/slipway/internal/traffic"
)

// demoTraffic splits fraud between 1.0.0 and 2.0.0 for sticky users,
// shadows 3.0.0, plays the holdout through the gateway with user ids,
// sends each answer's ground truth back, and shows the comparison.
func (a *app) demoTraffic(ctx context.Context, c *api.Client) error {
	policy := traffic.Policy{
		Splits:  []traffic.Split{{Version: "2.0.0", Weight: 2000}, {Version: "1.0.0", Weight: 8000}},
		Sticky:  "header:X-User-Id",
		Mirrors: []traffic.Mirror{{Version: "3.0.0", Percent: 10000}},
	}
	if _, err := c.SetRoute(ctx, "fraud", policy, "demo: 20% of users on 2.0.0, 3.0.0 in shadow"); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "\n$ slipway route set fraud --split 2.0.0=20 --split 1.0.0=80 --sticky header:X-User-Id --mirror 3.0.0=100")
	raw, err := examples.Holdout("fraud")
	if err != nil {
		return err
	}
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		return err
	}
	header, rows := rows[0], rows[1:]
	label := indexOf(header, "label")
	features := header[:7]
	byVersion := map[string]int{}
	for i, row := range rows {
		id := fmt.Sprintf("demo-%d", i)
		version, err := demoRequest(ctx, c.BaseURL, features, row, fmt.Sprintf("user-%d", i%400), id)
		if err != nil {
			return err
		}
		byVersion[version]++
		fb := fmt.Sprintf(`{"id": %q, "label": %s}`, id, row[label])
		resp, err := http.Post(c.BaseURL+"/v2/models/fraud/feedback", "application/json", strings.NewReader(fb))
		if err != nil {
			return err
		}
		resp.Body.Close()
	}
	fmt.Fprintf(a.stdout, "played %d holdout rows for 400 users with ground truth: %d answered by 1.0.0, %d by 2.0.0\n", len(rows), byVersion["1.0.0"], byVersion["2.0.0"])
	fmt.Fprintln(a.stdout, "\n$ slipway model stats fraud")
	return a.runWith(ctx, c, "model", "stats", "fraud")
}

func indexOf(xs []string, x string) int {
	for i, s := range xs {
		if s == x {
			return i
		}
	}
	return -1
}

// demoRequest sends one row as one tensor per feature and returns the
// version that answered.
func demoRequest(ctx context.Context, base string, features, row []string, user, id string) (string, error) {
	var b strings.Builder
	b.WriteString(`{"inputs":[`)
	for j, name := range features {
		v, err := strconv.ParseFloat(row[j], 64)
		val := "null"
		if err == nil && !math.IsNaN(v) {
			val = strconv.FormatFloat(v, 'g', -1, 64)
		}
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":%q,"datatype":"FP32","shape":[1],"data":[%s]}`, name, val)
	}
	b.WriteString("]}")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v2/models/fraud/infer", strings.NewReader(b.String()))
	if err != nil {
		return "", err
	}
	req.Header.Set("X-User-Id", user)
	req.Header.Set("X-Request-Id", id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("demo request %s: %s", id, resp.Status)
	}
	return resp.Header.Get("X-Slipway-Version"), nil
}
