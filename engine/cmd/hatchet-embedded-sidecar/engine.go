package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	handshake   handshake
	cancel      context.CancelFunc
	interruptCh chan interface{}
	wg          sync.WaitGroup
	once        sync.Once
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

	engineCtx, cancel := context.WithCancel(ctx)
	e := &runningEngine{
		handshake:   handshake{Token: token, TenantID: tenantID, GRPCAddress: grpcAddress},
		cancel:      cancel,
		interruptCh: make(chan interface{}),
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if err := engine.Run(engineCtx, cf, o.version, override); err != nil {
			fmt.Fprintf(os.Stderr, "hatchet-embedded-sidecar: engine exited: %v\n", err)
		}
	}()
	targets := []string{grpcAddress}
	if o.startAPI {
		e.handshake.APIURL = apiURL
		targets = append(targets, fmt.Sprintf("127.0.0.1:%d", apiPort))
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			if err := api.Start(cf, e.interruptCh, o.version, override); err != nil {
				fmt.Fprintf(os.Stderr, "hatchet-embedded-sidecar: api exited: %v\n", err)
			}
		}()
	}
	if err := waitForListeners(ctx, targets, 60*time.Second); err != nil {
		e.stop(10 * time.Second)
		return nil, err
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
		e.cancel()
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
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}
