// Command hatchet-embedded-sidecar runs a real Hatchet engine (engine + REST API
// from the github.com/hatchet-dev/hatchet module) in one process and speaks the
// command-line contract of the official hatchet-embedded sidecar, so that
// HatchetEmbeddedClient.init({ binaryPath }) from the TypeScript SDK can start it.
//
// Why it exists: the official sidecar is downloaded from GitHub releases, and its
// Go module is not served by the module proxy these machines reach. The engine
// module is, so this launcher is built from it with `npm run engine:build`.
//
// It must never pretend to be an engine: everything it serves comes from Hatchet's
// own engine and API packages. It shuts down when its stdin closes (the SDK holds
// a pipe open for the life of the parent) or on SIGINT/SIGTERM, and stops the
// private Postgres it started, so no process outlives the parent.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

// enginePatches names the patches of engine/patches/ this binary was built
// with, comma-separated; set by scripts/engine-build.sh with -ldflags -X. Empty
// for a build of the unpatched engine module.
var enginePatches = ""

type options struct {
	printPatches    bool
	handshakeFile   string
	databaseURL     string
	rabbitMQURL     string
	postgresDataDir string
	grpcPort        int
	apiPort         int
	noAPI           bool
	noMigrations    bool
	logLevel        string
}

func parseFlags() options {
	var o options
	flag.BoolVar(&o.printPatches, "patches", false, "print the engine patches of this build as a JSON array, and exit")
	flag.StringVar(&o.handshakeFile, "handshake-file", "", "where to write {token, tenant_id, grpc_address, api_url} once ready (required)")
	flag.StringVar(&o.databaseURL, "database-url", "", "Postgres URL; empty starts a private Postgres from the system's binaries")
	flag.StringVar(&o.rabbitMQURL, "rabbitmq-url", "", "RabbitMQ URL; empty uses the Postgres message queue")
	flag.StringVar(&o.postgresDataDir, "postgres-data-dir", "", "data folder of the private Postgres")
	flag.IntVar(&o.grpcPort, "grpc-port", 0, "gRPC port (0: a free port)")
	flag.IntVar(&o.apiPort, "api-port", 0, "REST API port (0: 28243 when free, else a free port)")
	flag.BoolVar(&o.noAPI, "no-api", false, "do not start the REST API")
	flag.BoolVar(&o.noMigrations, "no-migrations", false, "do not run database migrations")
	flag.StringVar(&o.logLevel, "log-level", "", "engine log level (debug, info, warn, error)")
	flag.Parse()
	return o
}

func main() {
	o := parseFlags()
	if o.printPatches {
		fmt.Println(patchesJSON())
		return
	}
	if o.handshakeFile == "" {
		fmt.Fprintln(os.Stderr, "hatchet-embedded-sidecar: -handshake-file is required")
		os.Exit(2)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go cancelOnShutdownRequest(cancel)

	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "hatchet-embedded-sidecar: %v\n", err)
		os.Exit(1)
	}
}

// cancelOnShutdownRequest cancels on SIGINT/SIGTERM or when stdin reaches EOF:
// the parent holds our stdin open, so EOF means the parent is gone.
func cancelOnShutdownRequest(cancel context.CancelFunc) {
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	select {
	case <-signals:
		// a second Ctrl-C must kill us if the graceful shutdown hangs: restore
		// the default signal behaviour instead of swallowing it
		signal.Stop(signals)
	case <-stdinClosed:
	}
	cancel()
}

func run(ctx context.Context, o options) error {
	version, err := engineVersion()
	if err != nil {
		return err
	}

	databaseURL := o.databaseURL
	if databaseURL == "" {
		pg, err := startPrivatePostgres(ctx, o.postgresDataDir)
		if err != nil {
			return err
		}
		defer pg.stop()
		databaseURL = pg.url
	}

	eng, err := startEngine(ctx, engineOptions{
		version:      version,
		databaseURL:  databaseURL,
		rabbitMQURL:  o.rabbitMQURL,
		grpcPort:     o.grpcPort,
		apiPort:      o.apiPort,
		startAPI:     !o.noAPI,
		runMigration: !o.noMigrations,
		logLevel:     o.logLevel,
	})
	if err != nil {
		return err
	}

	if err := writeHandshake(o.handshakeFile, eng.handshake); err != nil {
		eng.stop(20 * time.Second)
		return err
	}
	fmt.Fprintf(os.Stderr, "hatchet-embedded-sidecar: engine %s ready: grpc=%s api=%s patches=%s\n", version, eng.handshake.GRPCAddress, eng.handshake.APIURL, patchesJSON())

	// eng.done() closes on a shutdown request (ctx is its parent) and also when
	// the engine or API dies: then stop the rest and exit 1 rather than stay up
	// half-dead with a handshake that promises a working engine.
	<-eng.done()
	failure := eng.failure()
	eng.stop(20 * time.Second)
	if failure != nil {
		return fmt.Errorf("shutting down: %w", failure)
	}
	return nil
}

// engineVersion reads the engine module's version from the build info, so the
// SDK sees the real engine version without -ldflags.
func engineVersion() (string, error) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "", fmt.Errorf("no build info: build with module support")
	}
	for _, dep := range info.Deps {
		if dep.Path == "github.com/hatchet-dev/hatchet" {
			return dep.Version, nil
		}
	}
	return "", fmt.Errorf("github.com/hatchet-dev/hatchet is not a dependency of this build")
}

// patchesJSON is enginePatches as a JSON array of names.
func patchesJSON() string {
	names := []string{}
	for _, name := range strings.Split(enginePatches, ",") {
		if name != "" {
			names = append(names, name)
		}
	}
	out, _ := json.Marshal(names)
	return string(out)
}
