package traffic_test

import (
	"fmt"
	"net/http"

	"github.com/slipway-ml/slipway/internal/traffic"
)

// A canary at 10%, sticky by user, with the ML team always on the
// candidate and every request mirrored to a shadow.
func Example() {
	p := traffic.Policy{
		// The candidate first, so that raising its weight moves users
		// only from the baseline to it.
		Splits: []traffic.Split{{Version: "2.1.0", Weight: 1000}, {Version: "2.0.3", Weight: 9000}},
		Sticky: "header:X-User-Id",
		Salt:   "fraud-detector/rollout-7",
		Segments: []traffic.Segment{
			{Name: "internal", Match: []traffic.Rule{{Header: "X-Team", Exact: "ml"}}, Version: "2.1.0"},
		},
		Mirrors: []traffic.Mirror{{Version: "2.2.0-rc1", Percent: 10000}},
	}
	tab, err := traffic.Compile(p)
	if err != nil {
		fmt.Println(err)
		return
	}
	r := traffic.NewRouter()
	r.Set("fraud-detector", tab)

	h := http.Header{}
	h.Set("X-Team", "ml")
	d, _ := r.Route("fraud-detector", traffic.Attrs{Header: h}, 0)
	fmt.Println(d.Version, d.Segment, d.Mirrors[:d.NMirrors])

	p.Splits[0].Weight = -5
	_, err = traffic.Compile(p)
	fmt.Println(err)
	// Output:
	// 2.1.0 internal [2.2.0-rc1]
	// splits[0].weight: -5 is negative; splits: weights sum to 8995 basis points, want 10000
}
