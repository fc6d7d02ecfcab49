// Command slipway is the single binary: server, demo and CLI.
package main

import (
	"context"
	"os"

	"github.com/slipway-ml/slipway/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(cli.Execute(context.Background(), version, os.Args[1:], os.Stdout, os.Stderr))
}
