package modbussim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	mb "github.com/simonvetter/modbus"
)

// ServeTCP serves s alone over Modbus TCP on addr (default
// "127.0.0.1:0"), answering every unit id, until ctx is done. It returns
// the address it listens on.
func (s *Sim) ServeTCP(ctx context.Context, addr string) (net.Addr, error) {
	return single(s).serveTCP(ctx, addr, s.log)
}

// ServeTCP serves the bus over Modbus TCP on addr (default
// "127.0.0.1:0") until ctx is done, routing each request by its unit id as
// a gateway does (an absent unit id answers exception 11). It returns the
// address it listens on.
func (b *Bus) ServeTCP(ctx context.Context, addr string) (net.Addr, error) {
	return b.serveTCP(ctx, addr, nil)
}

// serveTCP starts github.com/simonvetter/modbus's server on a private
// loopback port and, on addr, a relay that copies whole MBAP frames to it
// and back, applying each slave's connection-level faults (no reply, late
// reply, close mid-reply) on the way.
func (b *Bus) serveTCP(ctx context.Context, addr string, log *slog.Logger) (net.Addr, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	server, inner, err := startServer(b, log)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = server.Stop()
		return nil, fmt.Errorf("modbussim: listen %s: %w", addr, err)
	}
	r := &relay{bus: b, inner: inner, log: log, conns: map[net.Conn]struct{}{}}
	go func() {
		<-ctx.Done()
		_ = ln.Close()
		r.closeAll()
		_ = server.Stop()
	}()
	go r.accept(ctx, ln)
	return ln.Addr(), nil
}

// startServer starts the Modbus TCP server on a free loopback port. The
// server binds the port itself and does not tell which it got, so the port
// is found free first, and another is tried if it was taken meanwhile.
func startServer(b *Bus, log *slog.Logger) (*mb.ModbusServer, string, error) {
	var lastErr error
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, "", fmt.Errorf("modbussim: find a free port: %w", err)
		}
		inner := l.Addr().String()
		_ = l.Close()
		server, err := mb.NewServer(&mb.ServerConfiguration{
			URL:        "tcp://" + inner,
			Timeout:    time.Hour,
			MaxClients: 256,
			Logger:     slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		}, handler{b})
		if err != nil {
			return nil, "", fmt.Errorf("modbussim: modbus server: %w", err)
		}
		if lastErr = server.Start(); lastErr == nil {
			return server, inner, nil
		}
	}
	return nil, "", fmt.Errorf("modbussim: start modbus server: %w", lastErr)
}

// relay accepts clients and relays their frames to the server.
type relay struct {
	bus   *Bus
	inner string
	log   *slog.Logger

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

func (r *relay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *relay) untrack(c net.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
	_ = c.Close()
}

func (r *relay) closeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = true
	for c := range r.conns {
		_ = c.Close()
	}
}

func (r *relay) accept(ctx context.Context, ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				r.log.Warn("modbussim: accept", "err", err)
			}
			return
		}
		go r.serve(ctx, c)
	}
}

// serve relays one client connection, one request at a time, as a device
// that handles a single transaction at a time does.
func (r *relay) serve(ctx context.Context, client net.Conn) {
	if !r.track(client) {
		_ = client.Close()
		return
	}
	defer r.untrack(client)
	up, err := net.Dial("tcp", r.inner)
	if err != nil {
		r.log.Warn("modbussim: dial modbus server", "err", err)
		return
	}
	if !r.track(up) {
		_ = up.Close()
		return
	}
	defer r.untrack(up)
	for {
		req, err := readMBAP(client)
		if err != nil {
			return
		}
		kind, delay := NoFault, time.Duration(0)
		if s, ok := r.bus.lookup(req[6]); ok {
			kind, delay = s.admit()
		}
		if kind == NoReply || kind == Dead {
			continue
		}
		if _, err := up.Write(req); err != nil {
			return
		}
		resp, err := readMBAP(up)
		if err != nil {
			return
		}
		switch kind {
		case CloseMidReply:
			_, _ = client.Write(resp[:len(resp)/2])
			return
		case LateReply:
			if sleep(ctx, delay) != nil {
				return
			}
		}
		if _, err := client.Write(resp); err != nil {
			return
		}
	}
}

// readMBAP reads one whole Modbus TCP frame: the 7-byte MBAP header and
// the PDU whose length (plus the unit id) the header gives.
func readMBAP(c io.Reader) ([]byte, error) {
	hdr := make([]byte, 7, 7+253)
	if _, err := io.ReadFull(c, hdr); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[4:6]))
	if n < 2 || n > 254 {
		return nil, fmt.Errorf("modbussim: MBAP length %d", n)
	}
	frame := append(hdr, make([]byte, n-1)...)
	if _, err := io.ReadFull(c, frame[7:]); err != nil {
		return nil, err
	}
	return frame, nil
}

// sleep waits d or until ctx is done.
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
