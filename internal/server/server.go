// Package server assembles a running slipway: it opens the metadata store
// and the artifact store, builds the registry and the HTTP handlers, and
// owns the listeners from start to a graceful stop.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	"github.com/slipway-ml/slipway/internal/analysis"
	"github.com/slipway-ml/slipway/internal/api"
	"github.com/slipway-ml/slipway/internal/blob"
	"github.com/slipway-ml/slipway/internal/h1"
	"github.com/slipway-ml/slipway/internal/notify"
	"github.com/slipway-ml/slipway/internal/registry"
	"github.com/slipway-ml/slipway/internal/rollout"
	"github.com/slipway-ml/slipway/internal/serving"
	"github.com/slipway-ml/slipway/internal/serving/oipgrpc"
	"github.com/slipway-ml/slipway/internal/store"
	"github.com/slipway-ml/slipway/internal/store/postgres"
	"github.com/slipway-ml/slipway/internal/store/sqlite"
	"github.com/slipway-ml/slipway/internal/store/sqlstore"
	"github.com/slipway-ml/slipway/internal/telemetry"

	// The runtimes register themselves by format.
	_ "github.com/slipway-ml/slipway/internal/runtime/lightgbm"
	_ "github.com/slipway-ml/slipway/internal/runtime/onnx"
	_ "github.com/slipway-ml/slipway/internal/runtime/remote"
	_ "github.com/slipway-ml/slipway/internal/runtime/xgboost"
)

// Config says where a server keeps its state and where it listens. The zero
// value of every field has a working default.
type Config struct {
	// DataDir holds the SQLite database and the file blobs; "" means
	// ./slipway-data.
	DataDir string
	// HTTPAddr is the HTTP listen address; "" means :8080.
	HTTPAddr string
	// GRPCAddr is the Open Inference Protocol gRPC listen address; ""
	// serves no gRPC (the CLI's default is :8081).
	GRPCAddr string
	// DebugAddr, when not "", is where Go's profiles and execution trace
	// are served (/debug/pprof/), apart from the API.
	DebugAddr string
	// Store is "" (SQLite in DataDir), sqlite:PATH, or a postgres:// URL.
	Store string
	// Blobs is "" (DataDir/blobs) or a gocloud.dev bucket URL (s3://…).
	Blobs string
	// BuildVersion is reported by the API.
	BuildVersion string
	// ShutdownTimeout bounds how long in-flight requests may take to
	// finish after a stop is requested; zero means 15 s.
	ShutdownTimeout time.Duration
	// Logger receives operational logs; nil means slog.Default().
	Logger *slog.Logger
	// Telemetry sizes the live measurements (bucket width, retention,
	// feedback join window); the zero value has working defaults.
	Telemetry telemetry.Config
	// MirrorQueue bounds the shadow copies waiting to run (0 means 128);
	// MirrorWorkers is how many run at once (0 means 2).
	MirrorQueue, MirrorWorkers int
	// IdleUnload is how long a version that serves no unpinned traffic
	// stays loaded after its last request; zero means 10 minutes.
	IdleUnload time.Duration
	// ControllerTick is how often the rollout controller advances every
	// rollout; zero means 1 s.
	ControllerTick time.Duration
	// TelemetrySave is how often the measurements are saved to the data
	// directory, to be restored at the next start (they are saved at a
	// graceful stop too); zero means 1 minute, and a negative period
	// neither saves nor restores them.
	TelemetrySave time.Duration
	// CrashAfter is fault injection for the crash tests: "KIND" or
	// "KIND:N" kills the process with SIGKILL right after the Nth (default
	// first) rollout transition of that kind is persisted, before its
	// effect. Empty (always, outside tests) does nothing.
	CrashAfter string
}

func (c Config) dataDir() string {
	if c.DataDir == "" {
		return "slipway-data"
	}
	return c.DataDir
}

// Server is an assembled slipway, ready to serve.
type Server struct {
	cfg      Config
	log      *slog.Logger
	store    store.Store
	blobs    *blob.Store
	Registry *registry.Registry
	Gateway  *serving.Gateway
	// Rollouts is the rollout controller; Serve runs its loop.
	Rollouts *rollout.Controller
	notifier *notify.Notifier
	rec      *telemetry.Recorder
	handler  http.Handler
	infer    http.Handler // the inference calls alone, a part of handler

	mu       sync.Mutex // guards the listeners, set once Serve starts
	listener net.Listener
	grpcLn   net.Listener
	debugLn  net.Listener
}

// Open creates the data directory, opens both stores (failing fast with the
// address when a store is unreachable) and assembles the handlers.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	dir := cfg.dataDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	st, err := OpenStore(ctx, cfg.Store, dir)
	if err != nil {
		return nil, err
	}
	blobs, err := openBlobs(ctx, cfg.Blobs, dir)
	if err != nil {
		st.Close()
		return nil, err
	}
	stage := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(stage, 0o755); err != nil {
		st.Close()
		blobs.Close()
		return nil, fmt.Errorf("create staging directory: %w", err)
	}
	reg := registry.New(st, blobs)
	reg.StageDir = stage
	gw := serving.NewGateway(reg)
	reg.AliasMoved = gw.AliasMoved
	rec := telemetry.New(cfg.Telemetry)
	if cfg.TelemetrySave >= 0 {
		restoreTelemetry(rec, dir, log)
	}
	gw.SetObserver(rec)
	metrics := prometheus.NewRegistry()
	if err := rec.Register(metrics); err != nil {
		st.Close()
		blobs.Close()
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := gw.LoadRoutes(ctx); err != nil {
		// A bad stored policy must not keep the rest from serving.
		log.Error("some routes could not be loaded; their models answer from the production alias", "error", err)
	}
	gw.StartMirrors(cfg.MirrorQueue, cfg.MirrorWorkers)
	notifier := notify.New(notify.Config{Logger: log})
	crash, err := crashHook(cfg.CrashAfter)
	if err != nil {
		st.Close()
		blobs.Close()
		return nil, err
	}
	ctrl := rollout.New(rollout.Config{
		Store: st, Registry: reg, Router: gw, Judge: &analysis.Judge{Source: rec, External: &analysis.External{}},
		Notifier: notifier, Tick: cfg.ControllerTick, Logger: log, Crash: crash,
	})
	// Before any request: the routes of live rollouts are derived from
	// their stored state, which may be newer than the stored routes.
	if err := ctrl.Start(ctx); err != nil {
		log.Error("some rollouts could not be resumed", "error", err)
	}
	apiServer := api.NewServer(reg)
	apiServer.BuildVersion = cfg.BuildVersion
	apiServer.Routes = rollout.RouteGuard{Controller: ctrl, Router: gw}
	apiServer.Rollouts = ctrl
	apiServer.Stats = rec
	apiServer.Gates = st
	apiServer.RuntimeStatus = func(model, version string) api.RuntimeView {
		st := gw.Status(model, version)
		return api.RuntimeView{State: string(st.State), Error: st.Error}
	}
	inference := serving.NewHTTP(gw)
	inference.ServerVersion = cfg.BuildVersion
	inference.Feedback = rec
	mux := http.NewServeMux()
	mux.Handle("/api/", apiServer)
	mux.Handle("/v2", inference)
	mux.Handle("/v2/", inference)
	mux.Handle("/v1/", inference)
	mux.Handle("GET /metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	return &Server{cfg: cfg, log: log, store: st, blobs: blobs, Registry: reg, Gateway: gw, rec: rec,
		Rollouts: ctrl, notifier: notifier, handler: mux, infer: http.HandlerFunc(inference.ServeInfer)}, nil
}

// OpenStore opens the metadata store named by spec: "" for SQLite in dir,
// "sqlite:PATH", or a postgres:// or postgresql:// URL.
func OpenStore(ctx context.Context, spec, dir string) (store.Store, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var (
		db  *sqlstore.DB
		err error
	)
	switch {
	case spec == "":
		db, err = sqlite.Open(ctx, filepath.Join(dir, "slipway.db"))
	case strings.HasPrefix(spec, "sqlite:"):
		db, err = sqlite.Open(ctx, strings.TrimPrefix(strings.TrimPrefix(spec, "sqlite:"), "//"))
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		db, err = postgres.Open(ctx, spec)
	default:
		return nil, fmt.Errorf("store %q: want sqlite:PATH or postgres://…", spec)
	}
	if err != nil {
		// Return a nil interface, not an interface holding a nil *DB.
		return nil, err
	}
	return db, nil
}

func openBlobs(ctx context.Context, spec, dir string) (*blob.Store, error) {
	if spec == "" {
		return blob.OpenDir(filepath.Join(dir, "blobs"))
	}
	return blob.OpenURL(ctx, spec)
}

// Handler is the server's whole HTTP surface.
func (s *Server) Handler() http.Handler { return s.handler }

// Addr is the address the HTTP listener is bound to, once serving.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// Serve listens and serves until ctx ends, then stops taking new requests,
// lets in-flight ones finish (within ShutdownTimeout) and closes the
// stores. ready, if not nil, is called once the listener is bound.
func (s *Server) Serve(ctx context.Context, ready func(addr string)) error {
	addr := s.cfg.HTTPAddr
	if addr == "" {
		addr = ":8080"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.close()
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	var gln net.Listener
	if s.cfg.GRPCAddr != "" {
		if gln, err = net.Listen("tcp", s.cfg.GRPCAddr); err != nil {
			ln.Close()
			s.close()
			return fmt.Errorf("listen on %s (gRPC): %w", s.cfg.GRPCAddr, err)
		}
	}
	var dln net.Listener
	if s.cfg.DebugAddr != "" {
		if dln, err = net.Listen("tcp", s.cfg.DebugAddr); err != nil {
			ln.Close()
			if gln != nil {
				gln.Close()
			}
			s.close()
			return fmt.Errorf("listen on %s (debug): %w", s.cfg.DebugAddr, err)
		}
		ds := &http.Server{Handler: debugHandler(), ReadHeaderTimeout: 10 * time.Second}
		go ds.Serve(dln)
		// A profile being taken is cut off at shutdown: nothing waits for it.
		defer ds.Close()
	}
	s.mu.Lock()
	s.listener, s.grpcLn, s.debugLn = ln, gln, dln
	s.mu.Unlock()
	// Inference requests are served on h1's own loop, the rest (and any
	// request h1 does not read itself) by net/http: the same handler.
	hs := &h1.Server{Handler: s.handler, Fast: isInference, FastHandler: s.infer, Logger: s.log,
		HTTP: &http.Server{ReadHeaderTimeout: 10 * time.Second}}
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	var gs *grpc.Server
	if gln != nil {
		gs = oipgrpc.NewServer(s.Gateway, oipgrpc.ServerVersion(s.cfg.BuildVersion)).GRPCServer()
		go func() { errc <- gs.Serve(gln) }()
	}
	loopCtx, stopLoops := context.WithCancel(ctx)
	var loops sync.WaitGroup
	loops.Go(func() { s.sweep(loopCtx) })
	loops.Go(func() { s.Rollouts.Run(loopCtx) })
	if s.cfg.TelemetrySave >= 0 {
		loops.Go(func() { s.keepTelemetry(loopCtx, cmp.Or(s.cfg.TelemetrySave, time.Minute)) })
	}
	defer func() { stopLoops(); loops.Wait() }()
	s.log.Info("slipway serving", "http", ln.Addr().String(), "grpc", s.GRPCAddr(), "debug", s.DebugAddr(), "data", s.cfg.dataDir())
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err := <-errc:
		s.close()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	timeout := s.cfg.ShutdownTimeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s.log.Info("slipway stopping: waiting for in-flight requests", "timeout", timeout)
	if gs != nil {
		stopGRPC(sctx, gs)
	}
	err = hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("in-flight requests still running after %s: %w", timeout, err)
	}
	if s.cfg.TelemetrySave >= 0 {
		if st, serr := saveTelemetry(s.rec, s.cfg.dataDir()); serr != nil {
			s.log.Error("telemetry not saved", "error", serr)
		} else {
			s.log.Info("telemetry saved", "series", st.Series, "buckets", st.Buckets)
		}
	}
	return errors.Join(err, s.close())
}

// isInference picks the Open Inference Protocol's infer calls, the
// requests served on the gateway's hot path.
func isInference(method, path string) bool {
	return method == http.MethodPost && strings.HasPrefix(path, "/v2/models/") && strings.HasSuffix(path, "/infer")
}

// stopGRPC lets in-flight calls finish, or cuts them off when ctx ends.
func stopGRPC(ctx context.Context, gs *grpc.Server) {
	done := make(chan struct{})
	go func() { gs.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		gs.Stop()
	}
}

// DebugAddr is the address the profiles' listener is bound to, once
// serving; "" when there is none.
func (s *Server) DebugAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.debugLn == nil {
		return ""
	}
	return s.debugLn.Addr().String()
}

// GRPCAddr is the address the gRPC listener is bound to, once serving.
func (s *Server) GRPCAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grpcLn == nil {
		return ""
	}
	return s.grpcLn.Addr().String()
}

// sweep unloads idle versions until ctx ends.
func (s *Server) sweep(ctx context.Context) {
	idle := s.cfg.IdleUnload
	if idle <= 0 {
		idle = 10 * time.Minute
	}
	every(ctx, max(idle/10, time.Second), func() {
		for _, v := range s.Gateway.Sweep(idle) {
			s.log.Info("unloaded idle version", "version", v, "idle", idle)
		}
	})
}

// every calls f each period until ctx ends.
func every(ctx context.Context, period time.Duration, f func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// Close releases the stores of a server that is not serving.
func (s *Server) Close() error { return s.close() }

func (s *Server) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(s.notifier.Close(ctx), s.Gateway.Close(), s.store.Close(), s.blobs.Close())
}

// crashHook parses Config.CrashAfter.
func crashHook(spec string) (func(kind string), error) {
	if spec == "" {
		return nil, nil
	}
	kind, nth, found := strings.Cut(spec, ":")
	n := 1
	if found {
		var err error
		if n, err = strconv.Atoi(nth); err != nil || n < 1 {
			return nil, fmt.Errorf("crash-after %q: want KIND or KIND:N with N ≥ 1", spec)
		}
	}
	var mu sync.Mutex
	return func(k string) {
		if k != kind {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if n--; n == 0 {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way; do nothing more
		}
	}, nil
}
