package mqtt

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// testPKI writes a CA, a server certificate for 127.0.0.1 and a client
// certificate, PEM, into dir.
type testPKI struct {
	ca                    *x509.Certificate
	caKey                 *ecdsa.PrivateKey
	caFile                string
	serverCert            tls.Certificate
	clientCert, clientKey string
}

func newPKI(t *testing.T, dir string) *testPKI {
	t.Helper()
	p := &testPKI{}
	var err error
	p.caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "emberwatch test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	p.ca, _ = x509.ParseCertificate(der)
	p.caFile = filepath.Join(dir, "ca.pem")
	writePEM(t, p.caFile, "CERTIFICATE", der)

	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, ip bool) ([]byte, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		if ip {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	sder, skey := issue(2, "broker", x509.ExtKeyUsageServerAuth, true)
	p.serverCert = tls.Certificate{Certificate: [][]byte{sder}, PrivateKey: skey}
	cder, ckey := issue(3, "gw-1", x509.ExtKeyUsageClientAuth, false)
	p.clientCert = filepath.Join(dir, "client.pem")
	p.clientKey = filepath.Join(dir, "client.key")
	writePEM(t, p.clientCert, "CERTIFICATE", cder)
	kder, err := x509.MarshalECPrivateKey(ckey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, p.clientKey, "EC PRIVATE KEY", kder)
	return p
}

func writePEM(t *testing.T, file, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTLSWithClientCertificate publishes to a broker that requires TLS and
// a client certificate signed by the test CA.
func TestTLSWithClientCertificate(t *testing.T) {
	pki := newPKI(t, t.TempDir())
	pool := x509.NewCertPool()
	pool.AddCert(pki.ca)
	srv := mochi.New(&mochi.Options{InlineClient: true, Logger: quiet()})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	l := listeners.NewTCP(listeners.Config{Type: listeners.TypeTCP, ID: "tls", Address: "127.0.0.1:0", TLSConfig: &tls.Config{
		Certificates: []tls.Certificate{pki.serverCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
	}})
	if err := srv.AddListener(l); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })

	got := make(chan string, 4)
	if err := srv.Subscribe("emberwatch/v1/dc1/gw-1/alert/#", 1, func(_ *mochi.Client, _ packets.Subscription, pk packets.Packet) {
		got <- string(pk.Payload)
	}); err != nil {
		t.Fatal(err)
	}

	cfg, err := TLSConfig(TLSFiles{CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey})
	if err != nil {
		t.Fatal(err)
	}
	p := newPublisher(t, "ssl://"+l.Address(), func(o *Options) { o.TLS = cfg })
	if err := p.PublishAlert("bms-1", []byte(`{"id":"over-tls"}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != `{"id":"over-tls"}` {
			t.Errorf("got %s", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no alert over TLS; stats %+v", p.Stats())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = p.Close(ctx)

	// Without the client certificate the broker refuses the connection.
	bare, err := TLSConfig(TLSFiles{CAFile: pki.caFile})
	if err != nil {
		t.Fatal(err)
	}
	p2 := newPublisher(t, "ssl://"+l.Address(), func(o *Options) { o.TLS = bare; o.ClientID = "no-cert" })
	time.Sleep(300 * time.Millisecond)
	if s := p2.Stats(); s.Connects != 0 {
		t.Errorf("connected without a client certificate: %+v", s)
	}
	_ = p2.Close(ctx)
}

func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []TLSFiles{{CAFile: filepath.Join(dir, "missing.pem")}, {CAFile: bad}, {CertFile: bad, KeyFile: bad}} {
		if _, err := TLSConfig(f); err == nil {
			t.Errorf("%+v accepted", f)
		}
	}
}
