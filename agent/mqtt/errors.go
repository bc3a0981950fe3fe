package mqtt

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// The classes of a failed connection. A connection error wraps one of
// them (test with errors.Is) and names what to check in the site file.
var (
	// ErrUnknownAuthority: the broker's certificate is not signed by a CA
	// the gateway trusts.
	ErrUnknownAuthority = errors.New("tls: server certificate signed by an unknown authority (check mqtt.tls.ca_file)")
	// ErrServerCertExpired: the broker's certificate has expired or is
	// not valid yet.
	ErrServerCertExpired = errors.New("tls: server certificate expired or not yet valid (check the broker's certificate and the gateway's clock)")
	// ErrServerName: the broker's certificate does not name the host
	// connected to.
	ErrServerName = errors.New("tls: server certificate is not valid for the broker's name (check mqtt.broker or mqtt.tls.server_name)")
	// ErrClientCertRejected: the broker refused the client certificate,
	// or wanted one and got none.
	ErrClientCertRejected = errors.New("tls: the broker rejected the client certificate (check mqtt.tls.cert_file and mqtt.tls.key_file)")
	// ErrClientKey: the client key does not belong to the client
	// certificate, or cannot be read.
	ErrClientKey = errors.New("tls: client key does not match the client certificate (check mqtt.tls.key_file)")
	// ErrClientCertRequired: the broker closed the TLS connection of a
	// gateway that has no client certificate: it wants one.
	ErrClientCertRequired = errors.New("tls: the broker closed the connection; it probably requires a client certificate (set mqtt.tls.cert_file and mqtt.tls.key_file)")
	// ErrNotTLS: the broker did not answer TLS (a plain MQTT port?).
	ErrNotTLS = errors.New("tls: the broker did not answer with TLS (check that mqtt.broker names a TLS port)")
	// ErrHandshakeClosed: the broker closed the connection during the
	// TLS handshake without saying why: it rejected the client
	// certificate, or the port does not speak TLS.
	ErrHandshakeClosed = errors.New("tls: the broker closed the connection during the handshake (check mqtt.tls.cert_file and mqtt.tls.key_file, and that mqtt.broker names a TLS port)")
	// ErrNotAuthorized: the broker refused the username or password.
	ErrNotAuthorized = errors.New("not authorized: wrong username or password (check mqtt.username and mqtt.password_file or mqtt.password_env)")
	// ErrRefused: the broker refused the connection for another reason.
	ErrRefused = errors.New("connection refused by the broker")
)

// tlsSide says how the connection was made: whether over TLS, and with a
// client certificate.
type tlsSide struct{ on, clientCert bool }

// classify wraps a connection error in its class, when it has one. The
// password is never part of the result.
func classify(broker string, side tlsSide, err error) error {
	if err == nil {
		return nil
	}
	var (
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		hostname x509.HostnameError
		recHdr   tls.RecordHeaderError
	)
	msg := err.Error()
	class := error(nil)
	switch {
	case errors.As(err, &unknown):
		class = ErrUnknownAuthority
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		class = ErrServerCertExpired
	case errors.As(err, &hostname):
		class = ErrServerName
	case errors.As(err, &recHdr):
		class = ErrNotTLS
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword), errors.Is(err, packets.ErrorRefusedNotAuthorised),
		strings.Contains(msg, "bad user name or password"), strings.Contains(msg, "not Authorized"):
		class = ErrNotAuthorized
	case strings.Contains(msg, "remote error: tls: certificate required") && !side.clientCert:
		class = ErrClientCertRequired
	case strings.Contains(msg, "remote error: tls: bad certificate"), strings.Contains(msg, "remote error: tls: unknown certificate"),
		strings.Contains(msg, "remote error: tls: certificate required"), strings.Contains(msg, "remote error: tls: handshake failure"),
		strings.Contains(msg, "remote error: tls: certificate expired"), strings.Contains(msg, "remote error: tls: decrypt error"):
		class = ErrClientCertRejected
	case side.on && (strings.Contains(msg, "connection reset by peer") || strings.Contains(msg, "broken pipe") || strings.HasSuffix(msg, "EOF")):
		class = ErrHandshakeClosed
		if !side.clientCert {
			class = ErrClientCertRequired
		}
	case errors.Is(err, packets.ErrorRefusedBadProtocolVersion), errors.Is(err, packets.ErrorRefusedIDRejected),
		errors.Is(err, packets.ErrorRefusedServerUnavailable):
		class = ErrRefused
	}
	if class == nil {
		return fmt.Errorf("mqtt %s: %w", redact(broker), err)
	}
	return fmt.Errorf("mqtt %s: %w: %v", redact(broker), class, err)
}

// redact removes a password from a broker URL.
func redact(broker string) string {
	u, err := url.Parse(broker)
	if err != nil || u.User == nil {
		return broker
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
