package cli

import (
	"strings"
	"testing"
)

// pushFraud pushes versions of the fraud example (each "N.0.0" from
// examples/fraud/vN) to the server at url, with their signatures and
// training metrics, as a team would push them.
func pushFraud(t *testing.T, url string, versions ...string) {
	t.Helper()
	for _, v := range versions {
		major, _, _ := strings.Cut(v, ".")
		dir := ex + "fraud/v" + major + "/"
		mustRun(t, url, "model", "push", "fraud", dir+"model.json", "--version", v,
			"--signature", dir+"signature.json", "--metrics", dir+"metrics.json")
	}
}
