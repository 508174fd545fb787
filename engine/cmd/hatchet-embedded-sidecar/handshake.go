package main

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// handshake is what the TypeScript SDK's embedded client waits for.
type handshake struct {
	Token       string `json:"token"`
	TenantID    string `json:"tenant_id"`
	GRPCAddress string `json:"grpc_address"`
	APIURL      string `json:"api_url,omitempty"`
}

// writeHandshake writes atomically: the SDK polls the file and must never read
// half of it.
func writeHandshake(path string, h handshake) error {
	data, err := json.Marshal(h)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".handshake-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
