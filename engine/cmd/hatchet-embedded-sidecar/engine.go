package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"

	adminseed "github.com/hatchet-dev/hatchet/cmd/hatchet-admin/cli/seed"
	"github.com/hatchet-dev/hatchet/cmd/hatchet-api/api"
	"github.com/hatchet-dev/hatchet/cmd/hatchet-engine/engine"
	"github.com/hatchet-dev/hatchet/cmd/hatchet-migrate/migrate"
	"github.com/hatchet-dev/hatchet/pkg/config/loader"
	"github.com/hatchet-dev/hatchet/pkg/config/server"
)

// defaultAPIPort is the official sidecar's REST port when free, so tools that
// look for an embedded engine there find this one too.
const defaultAPIPort = 28243

// defaultGRPCRateLimit is the embedded engine's gRPC rate limit per second and
// API token (Events and Workflow services; Dispatcher 10x), unless
// SERVER_GRPC_RATE_LIMIT says otherwise. Hatchet's default (1000) is meant for
// a shared server: one embedded engine serves one app whose worker and gateway
// share one token, and `ctx.putStream` drops a chunk refused 8 times in a row.
const defaultGRPCRateLimit = 20000

type engineOptions struct {
	version      string
	databaseURL  string
	rabbitMQURL  string
	grpcPort     int
	apiPort      int
	startAPI     bool
	runMigration bool
	logLevel     string
}

type runningEngine struct {
	handshake handshake
	// ctx is cancelled by stop, by the caller's context, or, with the error as
	// its cause, when engine.Run or api.Start returns on its own: a sidecar
	// whose engine or API died must not keep answering as if it were healthy.
	ctx         context.Context
	cancel      context.CancelCauseFunc
	interruptCh chan interface{}
	wg          sync.WaitGroup
	once        sync.Once
}

// errStopped is the cause of a deliberate stop, to tell it apart from a failure.
var errStopped = errors.New("engine stopped")

// done is closed on a shutdown request (the caller's context), on stop, or when
// the engine or API failed; failure tells which.
func (e *runningEngine) done() <-chan struct{} { return e.ctx.Done() }

// failure is the error of engine.Run or api.Start when one of them returned by
// itself, nil after a deliberate stop or a cancelled caller's context.
func (e *runningEngine) failure() error {
	cause := context.Cause(e.ctx)
	// context.Canceled itself (not wrapped) is the parent's shutdown request
	if cause == nil || cause == errStopped || cause == context.Canceled {
		return nil
	}
	return cause
}

// exited is called when engine.Run or api.Start returns. Before a stop, any
// return (even without an error) means that part is gone: it cancels the
// engine's context with the reason, which ends waitForListeners and run().
// After a stop the cancel is a no-op (a context keeps its first cause).
func (e *runningEngine) exited(what string, err error) {
	if err == nil && e.ctx.Err() == nil {
		err = errors.New("returned unexpectedly")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "hatchet-embedded-sidecar: %s exited: %v\n", what, err)
		e.cancel(fmt.Errorf("%s exited: %w", what, err))
	}
}

func startEngine(ctx context.Context, o engineOptions) (*runningEngine, error) {
	// Hatchet's config loader reads the database from the environment.
	if err := os.Setenv("DATABASE_URL", o.databaseURL); err != nil {
		return nil, err
	}
	if o.logLevel != "" {
		_ = os.Setenv("SERVER_LOGGER_LEVEL", o.logLevel)
		_ = os.Setenv("DATABASE_LOGGER_LEVEL", o.logLevel)
	}

	if o.runMigration {
		if err := migrate.RunMigrations(ctx); err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
	}

	keys, err := loadOrCreateKeys(ctx, o.databaseURL)
	if err != nil {
		return nil, err
	}

	grpcPort := o.grpcPort
	if grpcPort == 0 {
		if grpcPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	apiPort := 0
	if o.startAPI {
		if apiPort, err = resolveAPIPort(o.apiPort); err != nil {
			return nil, err
		}
	}
	grpcAddress := fmt.Sprintf("127.0.0.1:%d", grpcPort)
	apiURL := fmt.Sprintf("http://localhost:%d", apiPort)
	cookieSecrets, err := cookieSecrets()
	if err != nil {
		return nil, err
	}

	override := func(scf *server.ServerConfigFile) {
		scf.Auth.Cookie.Domain = "localhost"
		scf.Auth.Cookie.Insecure = true
		scf.Auth.Cookie.Secrets = cookieSecrets
		scf.Runtime.Port = apiPort
		scf.Runtime.ServerURL = apiURL
		scf.Runtime.GRPCPort = grpcPort
		scf.Runtime.GRPCBindAddress = "127.0.0.1"
		scf.Runtime.GRPCBroadcastAddress = grpcAddress
		scf.Runtime.GRPCInsecure = true
		scf.Runtime.Healthcheck = false
		scf.Runtime.Embedded = true
		scf.SecurityCheck.Enabled = false
		if os.Getenv("SERVER_GRPC_RATE_LIMIT") == "" {
			scf.Runtime.GRPCRateLimit = defaultGRPCRateLimit
		}
		if o.rabbitMQURL == "" {
			scf.MessageQueue.Kind = "postgres"
		} else {
			scf.MessageQueue.Kind = "rabbitmq"
			scf.MessageQueue.RabbitMQ.URL = o.rabbitMQURL
		}
		scf.Encryption.MasterKeyset = keys.master
		scf.Encryption.JWT.PrivateJWTKeyset = keys.privateJWT
		scf.Encryption.JWT.PublicJWTKeyset = keys.publicJWT
	}

	cf := loader.NewConfigLoader("")
	tenantID, token, err := seedAndMintToken(ctx, cf, o.version, override)
	if err != nil {
		return nil, err
	}

	engineCtx, cancel := context.WithCancelCause(ctx)
	e := &runningEngine{
		handshake:   handshake{Token: token, TenantID: tenantID, GRPCAddress: grpcAddress},
		ctx:         engineCtx,
		cancel:      cancel,
		interruptCh: make(chan interface{}),
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.exited("engine", engine.Run(engineCtx, cf, o.version, override))
	}()
	targets := []string{grpcAddress}
	if o.startAPI {
		e.handshake.APIURL = apiURL
		targets = append(targets, fmt.Sprintf("127.0.0.1:%d", apiPort))
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.exited("api", api.Start(cf, e.interruptCh, o.version, override))
		}()
	}
	// waiting on the engine's own context: a failed engine or API cancels it,
	// so the wait ends at once with that error instead of timing out
	if err := waitForListeners(engineCtx, targets, 60*time.Second); err != nil {
		e.stop(10 * time.Second)
		return nil, fmt.Errorf("engine not ready: %w", err)
	}
	return e, nil
}

// seedAndMintToken seeds the default tenant and mints a fresh 90-day token
// for it, as the official sidecar does on every start.
func seedAndMintToken(ctx context.Context, cf *loader.ConfigLoader, version string, override loader.ServerConfigFileOverride) (string, string, error) {
	dc, err := cf.InitDataLayer()
	if err != nil {
		return "", "", fmt.Errorf("data layer: %w", err)
	}
	defer func() { _ = dc.Disconnect() }()
	if err := adminseed.SeedDatabase(dc); err != nil {
		return "", "", fmt.Errorf("seed: %w", err)
	}
	tenantID := dc.Seed.DefaultTenantID

	cleanup, sc, err := cf.CreateServerFromConfig(version, override)
	if err != nil {
		return "", "", fmt.Errorf("server config: %w", err)
	}
	defer func() {
		_ = cleanup()
		_ = sc.Disconnect()
	}()
	tenantUUID, err := uuid.Parse(tenantID)
	if err != nil {
		return "", "", err
	}
	expires := time.Now().UTC().Add(90 * 24 * time.Hour)
	tok, err := sc.Auth.JWTManager.GenerateTenantToken(ctx, tenantUUID, "embedded", false, &expires)
	if err != nil {
		return "", "", fmt.Errorf("mint token: %w", err)
	}
	return tenantID, tok.Token, nil
}

func (e *runningEngine) stop(timeout time.Duration) {
	e.once.Do(func() {
		e.cancel(errStopped)
		close(e.interruptCh)
	})
	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		fmt.Fprintf(os.Stderr, "hatchet-embedded-sidecar: engine did not stop within %s\n", timeout)
	}
}

func resolveAPIPort(explicit int) (int, error) {
	if explicit != 0 {
		return explicit, nil
	}
	if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", defaultAPIPort)); err == nil {
		_ = l.Close()
		return defaultAPIPort, nil
	}
	return freePort()
}

func cookieSecrets() (string, error) {
	hash := make([]byte, 32)
	block := make([]byte, 16)
	if _, err := rand.Read(hash); err != nil {
		return "", err
	}
	if _, err := rand.Read(block); err != nil {
		return "", err
	}
	return hex.EncodeToString(hash)[:32] + " " + hex.EncodeToString(block)[:16], nil
}

func waitForListeners(ctx context.Context, addresses []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, addr := range addresses {
		for {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				_ = conn.Close()
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not listening after %s: %w", addr, timeout, err)
			}
			select {
			case <-ctx.Done():
				// the cause says why: a failed engine/API, or a shutdown request
				return context.Cause(ctx)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}
