package metricsource_test

import (
	"io"
	"net/http"
	"time"
)

// hang answers nothing until the client gives up. It reads the body
// first: only then does the server notice the client closing the
// connection and cancel the request's context. The bound keeps a broken
// client from holding httptest.Server.Close for good.
func hang(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}
