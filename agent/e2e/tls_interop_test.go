//go:build interop

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/mqtt"
	"github.com/emberwatch/emberwatch/testbench/peers"
)

// tlsPKI is a test CA, a second CA nobody trusts, and the certificates
// and keys the TLS tests use, as PEM files in a folder.
type tlsPKI struct {
	dir string
}

func (p *tlsPKI) path(name string) string { return filepath.Join(p.dir, name) }

// newTLSPKI writes ca.pem, other-ca.pem, server.pem/.key (127.0.0.1),
// expired.pem/.key (a server certificate that expired an hour ago),
// client.pem/.key, rogue.pem/.key (a client certificate of the other CA)
// and stray.key (a key of no certificate).
func newTLSPKI(t *testing.T) *tlsPKI {
	t.Helper()
	p := &tlsPKI{dir: t.TempDir()}
	now := time.Now()
	newCA := func(name, cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
		key := p.key(t, "")
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		p.write(t, name, "CERTIFICATE", der)
		c, _ := x509.ParseCertificate(der)
		return c, key
	}
	ca, caKey := newCA("ca.pem", "emberwatch test CA")
	other, otherKey := newCA("other-ca.pem", "some other CA")
	issue := func(name string, by *x509.Certificate, byKey *ecdsa.PrivateKey, server bool, from, until time.Time) {
		key := p.key(t, name+".key")
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
			NotBefore: from, NotAfter: until, KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if server {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, by, &key.PublicKey, byKey)
		if err != nil {
			t.Fatal(err)
		}
		p.write(t, name+".pem", "CERTIFICATE", der)
	}
	issue("server", ca, caKey, true, now.Add(-time.Hour), now.Add(24*time.Hour))
	issue("expired", ca, caKey, true, now.Add(-48*time.Hour), now.Add(-time.Hour))
	issue("client", ca, caKey, false, now.Add(-time.Hour), now.Add(24*time.Hour))
	issue("rogue", other, otherKey, false, now.Add(-time.Hour), now.Add(24*time.Hour))
	p.key(t, "stray.key")
	return p
}

func (p *tlsPKI) key(t *testing.T, file string) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if file != "" {
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		p.write(t, file, "EC PRIVATE KEY", der)
	}
	return key
}

func (p *tlsPKI) write(t *testing.T, file, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(p.path(file), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tlsListener returns the mosquitto config lines of a TLS listener on
// port that requires a client certificate of the test CA.
func (p *tlsPKI) tlsListener(port int, cert string) []string {
	return []string{
		fmt.Sprintf("listener %d 127.0.0.1", port),
		"cafile " + p.path("ca.pem"),
		"certfile " + p.path(cert+".pem"),
		"keyfile " + p.path(cert+".key"),
		"require_certificate true",
		"tls_version tlsv1.2",
	}
}

// tlsAttempt starts a publisher with the given TLS files and credentials
// and returns it once it has connected (err nil) or failed to connect
// (its classified error), with everything it logged.
func tlsAttempt(t *testing.T, broker string, files mqtt.TLSFiles, user, password string) (*mqtt.Publisher, string, error) {
	t.Helper()
	cfg, err := mqtt.TLSConfig(files)
	if err != nil {
		return nil, "", err
	}
	var logBuf syncBuffer
	log := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := mqtt.New(mqtt.Options{Broker: broker, Site: "dc1", Gateway: "gw-1", TLS: cfg, Username: user, Password: password,
		ClientID: "tls-" + strings.ReplaceAll(t.Name(), "/", "-"), Logger: log, ReconnectMax: 300 * time.Millisecond, PublishTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		c, cc := context.WithTimeout(context.Background(), time.Second)
		defer cc()
		_ = p.Close(c)
		cancel()
	})
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if p.Stats().Connected {
			return p, logBuf.String(), nil
		}
		if err := p.LastError(); err != nil {
			return p, logBuf.String(), err
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("neither connected nor failed in 15s: %+v", p.Stats())
	return nil, "", nil
}

// TestTLS runs the publisher against mosquitto with TLS listeners of a
// test CA: the good client certificate works; a wrong CA, an expired
// server certificate, a certificate for another name, a client
// certificate of another CA, none at all, a key of another certificate
// and a wrong password each give their own error, saying what to check;
// the password is never logged.
func TestTLS(t *testing.T) {
	pki := newTLSPKI(t)
	good, expired := peers.FreePort(t), peers.FreePort(t)
	pwPort := peers.FreePort(t)
	mosq := peers.Require(t, "mosquitto_passwd", "mosquitto")
	pwFile := pki.path("passwords")
	const password = "s3cret-Pa55-for-gw1"
	if out, err := peers.Run(context.Background(), 10*time.Second, mosq, "-c", "-b", pwFile, "gw-1", password); err != nil {
		t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
	}
	// "user root": started by root, mosquitto would otherwise become the
	// mosquitto user, who cannot read the test's private folder
	lines := append([]string{"user root"}, pki.tlsListener(good, "server")...)
	lines = append(lines, pki.tlsListener(expired, "expired")...)
	m := peers.StartMosquitto(t, lines...)
	// a second broker wants a username and password
	mp := peers.StartMosquitto(t, append([]string{"user root", "allow_anonymous false", "password_file " + pwFile}, pki.tlsListener(pwPort, "server")...)...)
	if err := peers.WaitTCP(fmt.Sprintf("127.0.0.1:%d", pwPort), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	url := func(port int) string { return fmt.Sprintf("ssl://127.0.0.1:%d", port) }
	client := mqtt.TLSFiles{CAFile: pki.path("ca.pem"), CertFile: pki.path("client.pem"), KeyFile: pki.path("client.key")}
	with := func(mod func(*mqtt.TLSFiles)) mqtt.TLSFiles { f := client; mod(&f); return f }

	t.Run("good client certificate", func(t *testing.T) {
		sink := newAlertSink(t, m.URL)
		p, _, err := tlsAttempt(t, url(good), client, "", "")
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		var r runaway
		_, b := r.next("bms-1", time.Now())
		if err := p.PublishAlert("bms-1", b); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 10*time.Second, "the alert over TLS", func() bool { return sink.distinct() == 1 })
	})
	// A broker that rejects a client certificate may close the connection
	// before its alert is read: then the error says so, and names both
	// things to check.
	for _, c := range []struct {
		name   string
		broker string
		files  mqtt.TLSFiles
		want   error
		or     error
	}{
		{"wrong CA", url(good), with(func(f *mqtt.TLSFiles) { f.CAFile = pki.path("other-ca.pem") }), mqtt.ErrUnknownAuthority, nil},
		{"expired server certificate", url(expired), client, mqtt.ErrServerCertExpired, nil},
		{"certificate for another name", fmt.Sprintf("ssl://localhost:%d", good), client, mqtt.ErrServerName, nil},
		{"client certificate of another CA", url(good), with(func(f *mqtt.TLSFiles) { f.CertFile, f.KeyFile = pki.path("rogue.pem"), pki.path("rogue.key") }), mqtt.ErrClientCertRejected, mqtt.ErrHandshakeClosed},
		{"no client certificate", url(good), with(func(f *mqtt.TLSFiles) { f.CertFile, f.KeyFile = "", "" }), mqtt.ErrClientCertRequired, nil},
		{"wrong client key", url(good), with(func(f *mqtt.TLSFiles) { f.KeyFile = pki.path("stray.key") }), mqtt.ErrClientKey, nil},
		{"plain port", "ssl://" + m.Addr, client, mqtt.ErrHandshakeClosed, mqtt.ErrNotTLS},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := tlsAttempt(t, c.broker, c.files, "", "")
			if !errors.Is(err, c.want) && (c.or == nil || !errors.Is(err, c.or)) {
				t.Fatalf("got %v\nwant %v", err, c.want)
			}
			t.Logf("%v", err)
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		const wrong = "not-the-Pa55word"
		_, log, err := tlsAttempt(t, url(pwPort), client, "gw-1", wrong)
		if !errors.Is(err, mqtt.ErrNotAuthorized) {
			t.Fatalf("got %v, want %v", err, mqtt.ErrNotAuthorized)
		}
		t.Logf("%v", err)
		if strings.Contains(log, wrong) || strings.Contains(err.Error(), wrong) {
			t.Errorf("the password is in the log or the error:\n%s", log)
		}
		if !strings.Contains(log, "not authorized") {
			t.Errorf("the log does not say why:\n%s", log)
		}
	})
	t.Run("right password", func(t *testing.T) {
		_, log, err := tlsAttempt(t, url(pwPort), client, "gw-1", password)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		if strings.Contains(log, password) {
			t.Errorf("the password is in the log:\n%s", log)
		}
	})
	_ = mp
}
