package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// privatePostgres is a Postgres cluster owned by this process, started from the
// system's own binaries (Debian's postgresql package). The official sidecar
// downloads Postgres at run time instead; that download is not possible here,
// and Postgres refuses to run as root, so we run it as the `postgres` user.
type privatePostgres struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

func startPrivatePostgres(ctx context.Context, dataDir string) (*privatePostgres, error) {
	binDir, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	if dataDir == "" {
		dataDir, err = defaultDataDir()
		if err != nil {
			return nil, err
		}
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	// parents stay traversable for the postgres user; the cluster folder is its own
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dataDir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}

	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		initdb := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"), "-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions")
		initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := initdb.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("initdb %s: %w\n%s", dataDir, err, out)
		}
	}

	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(binDir, "postgres"),
		"-D", dataDir,
		"-p", strconv.Itoa(port),
		"-k", dataDir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "timezone=UTC",
		// the engine commits often; losing the last few ms of commits on a crash
		// is acceptable for a local engine, corruption is not (fsync stays on)
		"-c", "synchronous_commit=off",
		"-c", "max_connections=200",
	)
	// Postgres logs every connection ended at shutdown; keep that out of the
	// parent's stderr, in a file beside the data folder
	logPath := filepath.Join(filepath.Dir(dataDir), "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child keeps its own descriptor
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Pdeathsig: if this sidecar is killed outright, Postgres shuts down too
	// instead of lingering as an orphan.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres (log: %s): %w", logPath, err)
	}
	pg := &privatePostgres{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(pg.done)
	}()

	admin := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if err := pg.waitReady(ctx, admin, 60*time.Second); err != nil {
		pg.stop()
		return nil, err
	}
	if err := ensureDatabase(ctx, admin, "hatchet"); err != nil {
		pg.stop()
		return nil, err
	}
	pg.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/hatchet?sslmode=disable", port)
	fmt.Fprintf(os.Stderr, "hatchet-embedded-sidecar: private Postgres on port %d, data in %s\n", port, dataDir)
	return pg, nil
}

func (pg *privatePostgres) waitReady(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-pg.done:
			return fmt.Errorf("postgres exited before accepting connections (see postgres.log beside its data folder): %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %s: %w", timeout, err)
		}
	}
}

// stop asks for a fast shutdown (SIGINT) and waits for the postmaster to exit.
func (pg *privatePostgres) stop() {
	if pg.cmd.Process == nil {
		return
	}
	_ = pg.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-pg.done:
	case <-time.After(30 * time.Second):
		_ = pg.cmd.Process.Kill()
		<-pg.done
	}
}

func ensureDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return err
		}
	}
	// the engine checks that its database runs in UTC
	_, err = conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" SET TIMEZONE='UTC'")
	return err
}

// postgresBinDir finds the newest Postgres under Debian's layout, or the folder
// named by HATCHET_SIDECAR_POSTGRES_BIN.
func postgresBinDir() (string, error) {
	if dir := os.Getenv("HATCHET_SIDECAR_POSTGRES_BIN"); dir != "" {
		return dir, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(matches) == 0 {
		return "", errors.New("no Postgres server found under /usr/lib/postgresql: install Debian's postgresql package (apt-get install postgresql), set HATCHET_SIDECAR_POSTGRES_BIN, or pass -database-url")
	}
	sort.Slice(matches, func(i, j int) bool {
		return pgMajor(matches[i]) > pgMajor(matches[j])
	})
	return filepath.Dir(matches[0]), nil
}

func pgMajor(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

// postgresCredential returns the `postgres` user when we are root (Postgres
// refuses to run as root), nil otherwise.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a `postgres` user for the private Postgres (Debian's postgresql package creates it): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// defaultDataDir keys the data folder by the working directory, so two projects
// never share a cluster and restarts of one project keep their runs.
func defaultDataDir() (string, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(cwd))
	base := "/var/tmp"
	if os.Geteuid() != 0 {
		if home, err := os.UserHomeDir(); err == nil {
			base = home
		}
	}
	return filepath.Join(base, ".hatchet-embedded-sidecar", hex.EncodeToString(sum[:6]), "pgdata"), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
