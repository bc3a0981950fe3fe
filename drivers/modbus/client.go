package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	gmodbus "github.com/goburrow/modbus"
)

// DefaultTimeout bounds one request when neither the client's options nor
// the device's say otherwise.
const DefaultTimeout = time.Second

// ClientOptions tune a Client. The zero value means defaults.
type ClientOptions struct {
	// Timeout bounds one request, counted from when the client has the
	// bus; default DefaultTimeout. A Device's own timeout overrides it for
	// the device's requests, and a context deadline shortens it.
	Timeout time.Duration
	// Logger receives connection resets; default slog.Default().
	Logger *slog.Logger
}

// Client reads registers from the units behind one Modbus connection: a
// Modbus TCP server or gateway, an RTU bus on a serial port, or an RTU bus
// behind a serial device server (RTU framing over TCP).
//
// It is safe for concurrent use: requests are serialised, one on the wire
// at a time, so several Devices may share a Client (one per bus). After a
// timeout or any transport or framing error (a TCP transaction id that
// does not match, a bad CRC, a reply from another unit) it drops the
// connection and the next request reconnects, so a late reply is never
// taken for the answer to the next request. Exceptions keep the
// connection. A Client does not retry; Device does.
type Client struct {
	addr string
	opts ClientOptions
	bus  chan struct{} // one token: who holds it may use link
	link link

	resets atomic.Int64
}

// link is one transport: goburrow's TCP handler, or goburrow's RTU
// packager over our rtuTransporter.
type link interface {
	// client prepares one request to unit, bounded by ctx and deadline,
	// and returns the goburrow client to issue it with.
	client(ctx context.Context, unit byte, deadline time.Time) gmodbus.Client
	// reset drops the connection after err (nil: on Close); the next
	// request reconnects. A serial line is only drained after a timeout
	// or a bad frame: there is nothing to reconnect.
	reset(err error) error
}

// tcpLink is goburrow's Modbus TCP handler.
type tcpLink struct {
	h *gmodbus.TCPClientHandler
	c gmodbus.Client
}

func newTCPLink(address string) *tcpLink {
	h := gmodbus.NewTCPClientHandler(address)
	return &tcpLink{h: h, c: gmodbus.NewClient(h)}
}

func (l *tcpLink) client(_ context.Context, unit byte, deadline time.Time) gmodbus.Client {
	l.h.SlaveId = unit
	l.h.Timeout = max(time.Until(deadline), time.Millisecond)
	return l.c
}

func (l *tcpLink) reset(error) error { return l.h.Close() }

// rtuLink is goburrow's RTU packager over rtuTransporter.
type rtuLink struct {
	pk *gmodbus.RTUClientHandler // used only as the packager
	tr *rtuTransporter
	c  gmodbus.Client
}

func newRTULink(tr *rtuTransporter) *rtuLink {
	pk := gmodbus.NewRTUClientHandler("")
	return &rtuLink{pk: pk, tr: tr, c: gmodbus.NewClient2(pk, tr)}
}

func (l *rtuLink) client(ctx context.Context, unit byte, deadline time.Time) gmodbus.Client {
	l.pk.SlaveId = unit
	l.tr.ctx = ctx
	l.tr.deadline = deadline
	return l.c
}

func (l *rtuLink) reset(err error) error { return l.tr.reset(err) }

func newClient(addr string, l link, opts ClientOptions) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Client{addr: addr, opts: opts, bus: make(chan struct{}, 1), link: l}
}

// NewTCPClient returns a client for a Modbus TCP server at host:port,
// on goburrow's TCP handler. It connects on the first request.
func NewTCPClient(address string, opts ClientOptions) *Client {
	return newClient("tcp://"+address, newTCPLink(address), opts)
}

// NewRTUOverTCPClient returns a client for an RTU bus behind a serial
// device server that passes RTU frames through a TCP socket at host:port.
func NewRTUOverTCPClient(address string, opts ClientOptions) *Client {
	tr := &rtuTransporter{
		gap: interFrameGap(0),
		open: func(ctx context.Context) (deadlineConn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", address)
			if err != nil {
				return nil, err
			}
			return c.(*net.TCPConn), nil
		},
	}
	return newClient("rtutcp://"+address, newRTULink(tr), opts)
}

// NewRTUClient returns a client for an RTU bus on a serial port, opened
// (with goburrow/serial) on the first request.
func NewRTUClient(cfg SerialConfig, opts ClientOptions) *Client {
	cfg = cfg.withDefaults()
	tr := &rtuTransporter{
		gap:   interFrameGap(cfg.Baud),
		drain: true,
		open: func(context.Context) (deadlineConn, error) {
			return openSerial(cfg)
		},
	}
	return newClient(fmt.Sprintf("rtu://%s?baud=%d", cfg.Device, cfg.Baud), newRTULink(tr), opts)
}

// String returns the client's address, e.g. tcp://10.0.0.5:502.
func (c *Client) String() string { return c.addr }

// Resets returns how many times the client has dropped its connection
// (on a serial line: drained it) after a failed request.
func (c *Client) Resets() int64 { return c.resets.Load() }

// Close drops the connection. A later request reconnects.
func (c *Client) Close() error {
	c.bus <- struct{}{}
	defer func() { <-c.bus }()
	return c.link.reset(nil)
}

// timeoutKey carries a Device's per-request timeout to its Client.
type timeoutKey struct{}

// withRequestTimeout asks the client to bound each request by d.
func withRequestTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, timeoutKey{}, d)
}

// ReadRegisters reads count registers of table from address addr of unit.
// For coils and discrete inputs it reads count bits and returns one word
// (0 or 1) per bit. It waits for the bus while ctx allows, then bounds the
// request by the client's timeout. Errors name the bus, unit, table and
// address; a Modbus exception is an *ExceptionError, a timeout wraps
// ErrTimeout.
func (c *Client) ReadRegisters(ctx context.Context, unit byte, table Table, addr, count uint16) ([]uint16, error) {
	fail := func(err error) error {
		return fmt.Errorf("modbus %s unit %d: read %s %d+%d: %w", c.addr, unit, table, addr, count, err)
	}
	limit := uint16(MaxRegisters)
	if isBitTable(table) {
		limit = MaxBits
	}
	if count == 0 || count > limit {
		return nil, fail(fmt.Errorf("count %d is outside 1..%d", count, limit))
	}
	timeout := c.opts.Timeout
	if d, ok := ctx.Value(timeoutKey{}).(time.Duration); ok && d > 0 {
		timeout = d
	}
	select {
	case c.bus <- struct{}{}:
	case <-ctx.Done():
		return nil, fail(ctx.Err())
	}
	defer func() { <-c.bus }()
	if err := ctx.Err(); err != nil {
		return nil, fail(err)
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	mc := c.link.client(ctx, unit, deadline)
	var b []byte
	var err error
	var fn byte
	switch table {
	case Holding, "":
		fn = 3
		b, err = mc.ReadHoldingRegisters(addr, count)
	case Input:
		fn = 4
		b, err = mc.ReadInputRegisters(addr, count)
	case Coil:
		fn = 1
		b, err = mc.ReadCoils(addr, count)
	case Discrete:
		fn = 2
		b, err = mc.ReadDiscreteInputs(addr, count)
	default:
		return nil, fail(fmt.Errorf("unknown table %q", table))
	}
	if err == nil {
		var words []uint16
		if words, err = unpack(table, b, count); err == nil {
			return words, nil
		}
	}
	var me *gmodbus.ModbusError
	if errors.As(err, &me) && me.FunctionCode == fn|functionExceptionBit {
		if me.ExceptionCode != 0 {
			return nil, &ExceptionError{Device: c.addr, Unit: unit, Function: fn, Address: addr, Count: count, Code: me.ExceptionCode}
		}
		// No exception has code 0: the reply was cut short or garbled.
		err = fmt.Errorf("exception reply without an exception code: %w", err)
	}
	if isTimeout(err) && !errors.Is(err, ErrTimeout) {
		err = fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	if rerr := c.link.reset(err); rerr != nil {
		c.opts.Logger.Debug("modbus: closing connection", "bus", c.addr, "err", rerr)
	}
	c.resets.Add(1)
	c.opts.Logger.Debug("modbus: connection reset", "bus", c.addr, "unit", unit, "err", err)
	return nil, fail(err)
}

// unpack turns a read's data bytes into words, checking the length.
func unpack(table Table, b []byte, count uint16) ([]uint16, error) {
	if isBitTable(table) {
		if len(b) != (int(count)+7)/8 {
			return nil, fmt.Errorf("%d data bytes for %d bits", len(b), count)
		}
		words := make([]uint16, count)
		for i := range words {
			words[i] = uint16(b[i/8]>>(i%8)) & 1
		}
		return words, nil
	}
	if len(b) != 2*int(count) {
		return nil, fmt.Errorf("%d data bytes for %d registers", len(b), count)
	}
	words := make([]uint16, count)
	for i := range words {
		words[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	return words, nil
}

// WithTimeout returns a Reader that bounds each request of r by d. With a
// *Client the bound counts from when the client has the bus, so time spent
// waiting behind the other units of a shared line does not count against
// it; any other Reader gets a context deadline of d.
func WithTimeout(r Reader, d time.Duration) Reader {
	return timeoutReader{r: r, d: d}
}

type timeoutReader struct {
	r Reader
	d time.Duration
}

func (t timeoutReader) ReadRegisters(ctx context.Context, unit byte, table Table, addr, count uint16) ([]uint16, error) {
	if _, ok := t.r.(*Client); ok {
		return t.r.ReadRegisters(withRequestTimeout(ctx, t.d), unit, table, addr, count)
	}
	ctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	return t.r.ReadRegisters(ctx, unit, table, addr, count)
}
