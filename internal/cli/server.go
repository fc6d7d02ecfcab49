package cli

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-ml/slipway/internal/server"
)

func (a *app) serverCmd() *cobra.Command {
	var cfg server.Config
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the registry, gateway and controller",
		Long: `Run slipway. With no flags it keeps everything under ./slipway-data
(SQLite and content-addressed blobs) and listens on :8080. SIGINT or
SIGTERM stops it gracefully: in-flight requests finish, stores close.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			cfg.BuildVersion = a.version
			// Fault injection for the crash tests; see server.Config.
			cfg.CrashAfter = os.Getenv("SLIPWAY_CRASH_AFTER")
			srv, err := server.Open(ctx, cfg)
			if err != nil {
				return err
			}
			return srv.Serve(ctx, nil)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.DataDir, "data", "./slipway-data", "data directory (SQLite database and blobs)")
	fl.StringVar(&cfg.HTTPAddr, "http", ":8080", "HTTP listen address")
	fl.StringVar(&cfg.GRPCAddr, "grpc", ":8081", "Open Inference Protocol gRPC listen address (empty: no gRPC)")
	fl.StringVar(&cfg.DebugAddr, "debug-http", "", "listen address for Go's profiles and execution trace, /debug/pprof/ (empty: none; keep it on loopback)")
	fl.StringVar(&cfg.Store, "store", "", "metadata store: empty for SQLite in --data, sqlite:PATH, or postgres://user@host:5432/db")
	fl.IntVar(&cfg.Telemetry.JoinSize, "feedback-join-size", 100_000, "predictions kept waiting for their feedback")
	fl.DurationVar(&cfg.Telemetry.JoinTTL, "feedback-ttl", time.Hour, "how long a prediction waits for its feedback")
	fl.DurationVar(&cfg.Telemetry.Retention, "telemetry-retention", time.Hour, "how much telemetry history is kept in memory")
	fl.IntVar(&cfg.MirrorQueue, "mirror-queue", 128, "shadow copies waiting to run; more are dropped and counted")
	fl.IntVar(&cfg.MirrorWorkers, "mirror-workers", 2, "shadow copies run at once")
	fl.DurationVar(&cfg.ControllerTick, "controller-tick", time.Second, "how often the rollout controller advances every rollout")
	fl.DurationVar(&cfg.TelemetrySave, "telemetry-save", time.Minute, "how often telemetry is saved to --data, to be restored at the next start (negative: never)")
	fl.DurationVar(&cfg.Telemetry.Bucket, "telemetry-bucket", 10*time.Second, "width of a telemetry time bucket: the resolution of every analysis window")
	fl.StringVar(&cfg.Blobs, "blobs", "", "artifact store: empty for --data/blobs, or a bucket URL such as s3://bucket?region=eu-west-1")
	return cmd
}
