package snmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Conn is the SNMP seam a Device polls through: one request and its answer
// per call. An SNMP error status (tooBig, noSuchName, genErr) comes back in
// the packet, not as an error; an error means no usable answer (timeout,
// authentication, a malformed reply). *Client is the real one; tests use
// fakes.
type Conn interface {
	Get(ctx context.Context, oids []string) (*gosnmp.SnmpPacket, error)
	GetNext(ctx context.Context, oids []string) (*gosnmp.SnmpPacket, error)
	GetBulk(ctx context.Context, oids []string, maxRepetitions uint32) (*gosnmp.SnmpPacket, error)
	Set(ctx context.Context, pdus []gosnmp.SnmpPDU) (*gosnmp.SnmpPacket, error)
	// Version is the protocol version spoken (GETBULK needs v2c or v3).
	Version() gosnmp.SnmpVersion
	// String names the agent in errors ("udp://10.0.0.9:161").
	String() string
}

// Config says how to reach one agent. The zero value of a field means its
// default.
type Config struct {
	// Target is host or host:port (port 161 by default).
	Target string
	// Version is "1", "2c" (default) or "3".
	Version string
	// Community is the v1/v2c community (default "public").
	Community string
	// User is the v3 USM user name.
	User string
	// SecurityLevel is noAuthNoPriv, authNoPriv or authPriv (v3; default:
	// authPriv when PrivPass is set, authNoPriv when AuthPass is, else
	// noAuthNoPriv).
	SecurityLevel string
	// AuthProto is MD5, SHA (default), SHA224, SHA256, SHA384 or SHA512.
	AuthProto string
	// AuthPass is the v3 authentication pass phrase.
	AuthPass string
	// PrivProto is DES, AES (default), AES192, AES256, AES192C or AES256C.
	PrivProto string
	// PrivPass is the v3 privacy pass phrase.
	PrivPass string
	// ContextName is the v3 context.
	ContextName string
	// Timeout is the wait for one answer (default 2s).
	Timeout time.Duration
	// Retries is how many times a request that timed out is sent again
	// (default 2; negative for none). Each retry waits Backoff, doubled
	// every time.
	Retries int
	// Backoff is the first wait before a retry (default 250ms).
	Backoff time.Duration
	// RateLimit is the most requests a second sent to the agent (default
	// 5; negative for no limit, for tests). It holds over any one-second
	// window, so up to that many requests may go out back to back.
	RateLimit float64
	// Logger receives retries at debug level (default: discard).
	Logger *slog.Logger
}

// Client is a connection to one agent. It sends one request at a time
// (callers queue) and at most Config.RateLimit requests a second, and
// retries timeouts with backoff. It is safe for concurrent use. The
// Client owns its socket: Close it.
type Client struct {
	g       *gosnmp.GoSNMP
	name    string
	sem     chan struct{}
	window  time.Duration // at most len(sent) requests in any window
	sent    []time.Time   // ring of the last send times
	next    int
	retries int
	backoff time.Duration
	log     *slog.Logger

	requests, packets, timeouts atomic.Uint64
}

// ErrConfig marks a Config that cannot work.
var ErrConfig = errors.New("snmp: bad configuration")

// ErrAuth marks an SNMPv3 request the agent refused or answered in a way
// that does not authenticate: an unknown user, a wrong authentication key
// or protocol.
var ErrAuth = errors.New("SNMPv3 authentication failed (unknown user, or wrong auth key or protocol)")

// Dial checks cfg and opens the UDP socket of a Client. Nothing is sent.
func Dial(cfg Config) (*Client, error) {
	g, err := gosnmpFor(cfg)
	if err != nil {
		return nil, err
	}
	c := &Client{
		g:       g,
		name:    "udp://" + net.JoinHostPort(g.Target, strconv.Itoa(int(g.Port))),
		sem:     make(chan struct{}, 1),
		retries: cfg.Retries,
		backoff: cfg.Backoff,
		log:     cfg.Logger,
	}
	if c.retries == 0 {
		c.retries = 2
	} else if c.retries < 0 {
		c.retries = 0
	}
	if c.backoff <= 0 {
		c.backoff = 250 * time.Millisecond
	}
	rate := cfg.RateLimit
	if rate == 0 {
		rate = 5
	}
	if rate > 0 {
		// A sliding window: at most n requests in any window, so a poll
		// of a few requests goes out back to back and the average stays
		// at rate.
		n := int(rate)
		if n < 1 {
			n = 1
		}
		c.window = time.Duration(float64(n) / rate * float64(time.Second))
		c.sent = make([]time.Time, n)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	g.OnSent = func(*gosnmp.GoSNMP) { c.packets.Add(1) }
	g.OnRecv = func(*gosnmp.GoSNMP) { c.packets.Add(1) }
	if err := g.Connect(); err != nil {
		return nil, fmt.Errorf("snmp %s: %w", c.name, err)
	}
	return c, nil
}

// gosnmpFor translates a Config.
func gosnmpFor(cfg Config) (*gosnmp.GoSNMP, error) {
	host, port := cfg.Target, "161"
	if h, p, err := net.SplitHostPort(cfg.Target); err == nil {
		host, port = h, p
	}
	if host == "" {
		return nil, fmt.Errorf("%w: no target host", ErrConfig)
	}
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil || pn == 0 {
		return nil, fmt.Errorf("%w: target %s: bad port", ErrConfig, cfg.Target)
	}
	g := &gosnmp.GoSNMP{
		Target:    host,
		Port:      uint16(pn),
		Transport: "udp",
		Community: cfg.Community,
		Timeout:   cfg.Timeout,
		Retries:   0, // the Client retries, with backoff
		MaxOids:   256,
		Context:   context.Background(),
	}
	if g.Timeout <= 0 {
		g.Timeout = 2 * time.Second
	}
	if g.Community == "" {
		g.Community = "public"
	}
	switch strings.ToLower(cfg.Version) {
	case "1", "v1":
		g.Version = gosnmp.Version1
	case "", "2c", "v2c", "2":
		g.Version = gosnmp.Version2c
	case "3", "v3":
		g.Version = gosnmp.Version3
		if err := v3Params(g, cfg); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: SNMP version must be 1, 2c or 3, got %q", ErrConfig, cfg.Version)
	}
	return g, nil
}

// v3Params fills the USM parameters of g.
func v3Params(g *gosnmp.GoSNMP, cfg Config) error {
	if cfg.User == "" {
		return fmt.Errorf("%w: SNMPv3 needs a user", ErrConfig)
	}
	level := cfg.SecurityLevel
	if level == "" {
		switch {
		case cfg.PrivPass != "":
			level = "authPriv"
		case cfg.AuthPass != "":
			level = "authNoPriv"
		default:
			level = "noAuthNoPriv"
		}
	}
	usm := &gosnmp.UsmSecurityParameters{UserName: cfg.User}
	switch strings.ToLower(level) {
	case "noauthnopriv":
		g.MsgFlags = gosnmp.NoAuthNoPriv
	case "authnopriv":
		g.MsgFlags = gosnmp.AuthNoPriv
	case "authpriv":
		g.MsgFlags = gosnmp.AuthPriv
	default:
		return fmt.Errorf("%w: security level %q (want noAuthNoPriv, authNoPriv or authPriv)", ErrConfig, level)
	}
	if g.MsgFlags != gosnmp.NoAuthNoPriv {
		ap, ok := authProtos[strings.ToUpper(orDefault(cfg.AuthProto, "SHA"))]
		if !ok {
			return fmt.Errorf("%w: auth protocol %q (want MD5, SHA, SHA224, SHA256, SHA384 or SHA512)", ErrConfig, cfg.AuthProto)
		}
		if len(cfg.AuthPass) < 8 {
			return fmt.Errorf("%w: SNMPv3 auth pass phrase must have at least 8 characters", ErrConfig)
		}
		usm.AuthenticationProtocol, usm.AuthenticationPassphrase = ap, cfg.AuthPass
	}
	if g.MsgFlags == gosnmp.AuthPriv {
		pp, ok := privProtos[strings.ToUpper(orDefault(cfg.PrivProto, "AES"))]
		if !ok {
			return fmt.Errorf("%w: privacy protocol %q (want DES, AES, AES192, AES256, AES192C or AES256C)", ErrConfig, cfg.PrivProto)
		}
		if len(cfg.PrivPass) < 8 {
			return fmt.Errorf("%w: SNMPv3 privacy pass phrase must have at least 8 characters", ErrConfig)
		}
		usm.PrivacyProtocol, usm.PrivacyPassphrase = pp, cfg.PrivPass
	}
	g.SecurityModel = gosnmp.UserSecurityModel
	g.SecurityParameters = usm
	g.ContextName = cfg.ContextName
	return nil
}

var (
	authProtos = map[string]gosnmp.SnmpV3AuthProtocol{
		"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA1": gosnmp.SHA, "SHA224": gosnmp.SHA224,
		"SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
	}
	privProtos = map[string]gosnmp.SnmpV3PrivProtocol{
		"DES": gosnmp.DES, "AES": gosnmp.AES, "AES128": gosnmp.AES, "AES192": gosnmp.AES192,
		"AES256": gosnmp.AES256, "AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C,
	}
)

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// String names the agent.
func (c *Client) String() string { return c.name }

// Version is the protocol version of the client.
func (c *Client) Version() gosnmp.SnmpVersion { return c.g.Version }

// Close closes the socket.
func (c *Client) Close() error {
	if c.g.Conn == nil {
		return nil
	}
	return c.g.Conn.Close()
}

// ClientStats counts a Client's traffic.
type ClientStats struct {
	// Requests is the requests sent, retries included.
	Requests uint64
	// Packets is the datagrams sent and received (v3 engine discovery
	// included).
	Packets uint64
	// Timeouts is the requests that got no answer in time.
	Timeouts uint64
}

// Stats returns the traffic counters; safe to call concurrently.
func (c *Client) Stats() ClientStats {
	return ClientStats{Requests: c.requests.Load(), Packets: c.packets.Load(), Timeouts: c.timeouts.Load()}
}

// Get sends one GET.
func (c *Client) Get(ctx context.Context, oids []string) (*gosnmp.SnmpPacket, error) {
	return c.do(ctx, func() (*gosnmp.SnmpPacket, error) { return c.g.Get(oids) })
}

// GetNext sends one GETNEXT.
func (c *Client) GetNext(ctx context.Context, oids []string) (*gosnmp.SnmpPacket, error) {
	return c.do(ctx, func() (*gosnmp.SnmpPacket, error) { return c.g.GetNext(oids) })
}

// GetBulk sends one GETBULK with no non-repeaters.
func (c *Client) GetBulk(ctx context.Context, oids []string, maxRepetitions uint32) (*gosnmp.SnmpPacket, error) {
	if c.g.Version == gosnmp.Version1 {
		return nil, fmt.Errorf("snmp %s: GETBULK needs v2c or v3", c.name)
	}
	return c.do(ctx, func() (*gosnmp.SnmpPacket, error) { return c.g.GetBulk(oids, 0, maxRepetitions) })
}

// Set sends one SET. It is not retried: a lost answer may hide a SET
// that took effect, and the caller reads back instead.
func (c *Client) Set(ctx context.Context, pdus []gosnmp.SnmpPDU) (*gosnmp.SnmpPacket, error) {
	return c.send(ctx, 0, func() (*gosnmp.SnmpPacket, error) { return c.g.Set(pdus) })
}

func (c *Client) do(ctx context.Context, f func() (*gosnmp.SnmpPacket, error)) (*gosnmp.SnmpPacket, error) {
	return c.send(ctx, c.retries, f)
}

// send runs f holding the client's one request slot, once the rate window
// allows, and retries timeouts.
func (c *Client) send(ctx context.Context, retries int, f func() (*gosnmp.SnmpPacket, error)) (*gosnmp.SnmpPacket, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.sem }()
	wait := c.backoff
	for attempt := 0; ; attempt++ {
		if c.sent != nil {
			if d := time.Until(c.sent[c.next].Add(c.window)); d > 0 {
				if err := sleep(ctx, d); err != nil {
					return nil, err
				}
			}
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= 0 {
			return nil, context.DeadlineExceeded
		}
		c.g.Context = ctx
		if c.sent != nil {
			c.sent[c.next] = time.Now()
			c.next = (c.next + 1) % len(c.sent)
		}
		c.requests.Add(1)
		pkt, err := guarded(f)
		if err == nil {
			return pkt, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if isAuthError(err) {
			return nil, fmt.Errorf("%w: %v", ErrAuth, err)
		}
		if !isTimeout(err) {
			return nil, err
		}
		c.timeouts.Add(1)
		if attempt >= retries {
			if c.g.Version == gosnmp.Version3 && c.g.MsgFlags&gosnmp.AuthPriv == gosnmp.AuthPriv {
				return nil, fmt.Errorf("no answer after %d tries (with SNMPv3 authPriv, a wrong privacy key or protocol also looks like this): %w", attempt+1, err)
			}
			return nil, fmt.Errorf("no answer after %d tries: %w", attempt+1, err)
		}
		c.log.Debug("snmp retry", "agent", c.name, "attempt", attempt+1, "err", err)
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
		wait *= 2
	}
}

// guarded runs one request; a panic in the decoder on a malformed answer
// becomes an error, so a bad PDU never stops the poll loop.
func guarded(f func() (*gosnmp.SnmpPacket, error)) (pkt *gosnmp.SnmpPacket, err error) {
	defer func() {
		if p := recover(); p != nil {
			pkt, err = nil, fmt.Errorf("malformed answer: %v", p)
		}
	}()
	return f()
}

func isAuthError(err error) bool {
	if errors.Is(err, gosnmp.ErrWrongDigest) || errors.Is(err, gosnmp.ErrUnknownUsername) ||
		errors.Is(err, gosnmp.ErrUnknownSecurityLevel) || errors.Is(err, gosnmp.ErrDecryption) {
		return true
	}
	return strings.Contains(err.Error(), "not authentic")
}

func isTimeout(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return strings.Contains(err.Error(), "timeout")
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var _ Conn = (*Client)(nil)
