package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
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
	// absolute: the data folder is also the socket folder named in the URL
	if dataDir, err = filepath.Abs(dataDir); err != nil {
		return nil, err
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	// parents stay traversable for the postgres user; the cluster folder is its own
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o755); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := initCluster(ctx, binDir, dataDir, cred); err != nil {
			return nil, err
		}
	}

	// No TCP at all (listen_addresses=''): with --auth=trust any local user
	// could otherwise connect as superuser over 127.0.0.1 and read the engine's
	// keys (keys.go). The unix socket lives in the data folder, which is 0700
	// and owned by the postgres user, so only that user and root reach it.
	// The port only names the socket file (.s.PGSQL.<port>); a fresh one per
	// run keeps the name unique.
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// the kernel limits unix socket paths to 107 bytes; say so up front rather
	// than let Postgres fail with it in its log
	if socket := filepath.Join(dataDir, fmt.Sprintf(".s.PGSQL.%d", port)); len(socket) > 107 {
		return nil, fmt.Errorf("postgres data folder path too long for its unix socket %s (max 107 bytes): use a shorter -postgres-data-dir", socket)
	}
	cmd := exec.Command(filepath.Join(binDir, "postgres"),
		"-D", dataDir,
		"-p", strconv.Itoa(port),
		"-k", dataDir,
		"-c", "listen_addresses=",
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
	pg := &privatePostgres{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the OS *thread* that started the child exits,
		// not the process, and Go may retire an idle thread at any time. So
		// start Postgres from a goroutine locked to its thread, and keep that
		// goroutine parked in Wait until Postgres has exited: the thread (and
		// with it the death signal) then only goes away with this process.
		// It never unlocks: a goroutine that ends locked takes its thread down,
		// which is harmless once the child is gone.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(pg.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start postgres (log: %s): %w", logPath, err)
	}

	admin := socketURL(dataDir, port, "postgres")
	if err := pg.waitReady(ctx, admin, 60*time.Second); err != nil {
		pg.stop()
		return nil, err
	}
	if err := ensureDatabase(ctx, admin, "hatchet"); err != nil {
		pg.stop()
		return nil, err
	}
	pg.url = socketURL(dataDir, port, "hatchet")
	fmt.Fprintf(os.Stderr, "hatchet-embedded-sidecar: private Postgres on unix socket %s (port %d, no TCP), data in %s\n", dataDir, port, dataDir)
	return pg, nil
}

// socketURL is a pgx URL for the unix socket in socketDir: an empty host in
// the authority and the socket folder as the host parameter, e.g.
// postgres://postgres@/hatchet?host=%2Fvar%2Ftmp%2F...&port=5432&sslmode=disable
func socketURL(socketDir string, port int, database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Path:     "/" + database,
		RawQuery: url.Values{"host": {socketDir}, "port": {strconv.Itoa(port)}, "sslmode": {"disable"}}.Encode(),
	}
	return u.String()
}

// initCluster runs initdb into a temporary sibling folder and renames it to
// dataDir only on success: an initdb interrupted on the first start (Ctrl-C,
// a killed parent) would otherwise leave a half-made cluster that every later
// start trips over. A leftover temporary folder is harmless.
func initCluster(ctx context.Context, binDir, dataDir string, cred *syscall.Credential) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dataDir), "."+filepath.Base(dataDir)+".initdb-*") // 0700
	if err != nil {
		return err
	}
	// the cluster belongs to the user Postgres runs as; the rename keeps that
	if cred != nil {
		if err := os.Chown(tmp, int(cred.Uid), int(cred.Gid)); err != nil {
			_ = os.RemoveAll(tmp)
			return err
		}
	}
	initdb := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"), "-D", tmp, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("initdb %s: %w\n%s", dataDir, err, out)
	}
	// an empty dataDir (made by hand, or by older versions of this launcher)
	// may stand in the way; Remove only removes it when empty
	_ = os.Remove(dataDir)
	if err := os.Rename(tmp, dataDir); err != nil {
		_ = os.RemoveAll(tmp)
		if _, statErr := os.Stat(filepath.Join(dataDir, "PG_VERSION")); statErr == nil {
			return nil // another sidecar initialised the same folder meanwhile
		}
		return fmt.Errorf("%s is not a Postgres cluster (no PG_VERSION) and cannot be replaced; remove it: %w", dataDir, err)
	}
	return nil
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
