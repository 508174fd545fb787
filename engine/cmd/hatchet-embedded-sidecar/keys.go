package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hatchet-dev/hatchet/pkg/encryption"
)

type keysets struct {
	master     string
	privateJWT string
	publicJWT  string
}

// loadOrCreateKeys keeps the engine's keysets in its own database, so a
// restarted engine can still read what it encrypted and verify tokens it
// minted. The keys sit beside the data they protect: fine for a local engine,
// not a production key management scheme (use a real Hatchet deployment).
func loadOrCreateKeys(ctx context.Context, databaseURL string) (keysets, error) {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return keysets{}, err
	}
	defer conn.Close(ctx)

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS gateway_sidecar_keysets (
		id int PRIMARY KEY CHECK (id = 1),
		master text NOT NULL,
		private_jwt text NOT NULL,
		public_jwt text NOT NULL
	)`); err != nil {
		return keysets{}, fmt.Errorf("keysets table: %w", err)
	}

	master, private, public, _, err := encryption.GenerateLocalKeys()
	if err != nil {
		return keysets{}, err
	}
	// first writer wins; every later start reads the stored keys back
	if _, err := conn.Exec(ctx, `INSERT INTO gateway_sidecar_keysets (id, master, private_jwt, public_jwt)
		VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING`, string(master), string(private), string(public)); err != nil {
		return keysets{}, err
	}
	var k keysets
	err = conn.QueryRow(ctx, `SELECT master, private_jwt, public_jwt FROM gateway_sidecar_keysets WHERE id = 1`).
		Scan(&k.master, &k.privateJWT, &k.publicJWT)
	return k, err
}
