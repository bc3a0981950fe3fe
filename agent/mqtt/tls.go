package mqtt

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
)

// TLSFiles names the files of a TLS client configuration.
type TLSFiles struct {
	// CAFile is a PEM bundle of the CAs that sign the broker's
	// certificate; empty means the system roots.
	CAFile string
	// CertFile and KeyFile are the client certificate and key (PEM).
	CertFile, KeyFile string
	// ServerName overrides the name checked in the broker's certificate.
	ServerName string
	// InsecureSkipVerify turns certificate checks off.
	InsecureSkipVerify bool
}

// TLSConfig loads the files into a tls.Config (TLS 1.2 or later).
func TLSConfig(f TLSFiles) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.ServerName, InsecureSkipVerify: f.InsecureSkipVerify} //nolint:gosec // off unless configured
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt: tls ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt: tls ca_file %s: no PEM certificates", f.CAFile)
		}
		c.RootCAs = pool
	}
	if f.CertFile != "" || f.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			if strings.Contains(err.Error(), "does not match") {
				return nil, fmt.Errorf("mqtt: tls client certificate %s and key %s: %w: %v", f.CertFile, f.KeyFile, ErrClientKey, err)
			}
			return nil, fmt.Errorf("mqtt: tls client certificate %s: %w", f.CertFile, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
