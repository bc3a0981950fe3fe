package command

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// KeyID names a public key: the first 8 bytes, in hex, of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// GenerateKeyFiles makes an Ed25519 key pair from rand (crypto/rand if nil)
// and writes prefix.key (the seed, mode 0600) and prefix.pub (the public
// key), each one line of base64. It refuses to overwrite an existing
// prefix.key.
func GenerateKeyFiles(prefix string, rnd io.Reader) (ed25519.PublicKey, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	pub, priv, err := ed25519.GenerateKey(rnd)
	if err != nil {
		return nil, fmt.Errorf("command: generate key: %w", err)
	}
	keyFile, pubFile := prefix+".key", prefix+".pub"
	f, err := os.OpenFile(keyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("command: private key %s: %w", keyFile, err)
	}
	_, werr := fmt.Fprintln(f, base64.StdEncoding.EncodeToString(priv.Seed()))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("command: private key %s: %w", keyFile, werr)
	}
	if err := os.WriteFile(pubFile, []byte(base64.StdEncoding.EncodeToString(pub)+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("command: public key %s: %w", pubFile, err)
	}
	return pub, nil
}

// LoadPrivateKey reads a private key file: base64 of the 32-byte seed (or
// of the 64-byte private key). It refuses a file that others can read.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("command: private key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("command: private key %s: mode %v lets others read it; chmod 600", path, st.Mode().Perm())
	}
	raw, err := readBase64(path)
	if err != nil {
		return nil, err
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		return ed25519.PrivateKey(raw), nil
	}
	return nil, fmt.Errorf("command: private key %s: %d bytes, want %d", path, len(raw), ed25519.SeedSize)
}

// LoadPublicKey reads a public key file: base64 of the 32-byte key.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	raw, err := readBase64(path)
	if err != nil {
		return nil, err
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("command: public key %s: %d bytes, want %d", path, len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

// ParsePublicKey decodes a base64 public key.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("command: public key: %w", err)
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("command: public key: %d bytes, want %d", len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

func readBase64(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("command: key: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil, fmt.Errorf("command: key %s: %w", path, errors.New("empty file"))
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("command: key %s: %w", path, err)
	}
	return raw, nil
}
