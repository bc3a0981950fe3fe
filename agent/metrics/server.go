package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// DefaultAddress is where the endpoint listens unless configured otherwise:
// the loopback interface only, on the port commonly used by exporters of
// this kind.
const DefaultAddress = "127.0.0.1:9464"

// ContentType is the media type of the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Handler returns an http.Handler serving the registry at any path it is
// mounted on (GET and HEAD only).
func Handler(r *Registry) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", ContentType)
		if req.Method == http.MethodHead {
			return
		}
		_, _ = r.WriteTo(w)
	})
}

// Server serves a registry at /metrics on one TCP address.
type Server struct {
	reg  *Registry
	log  *slog.Logger
	ln   net.Listener
	http *http.Server
}

// Listen binds addr (DefaultAddress if empty; port 0 picks a free port) and
// returns a Server ready to Serve. An address that is not on the loopback
// interface is allowed but logged as a warning, since the endpoint has no
// authentication. log may be nil (slog.Default()).
func Listen(addr string, r *Registry, log *slog.Logger) (*Server, error) {
	if addr == "" {
		addr = DefaultAddress
	}
	if log == nil {
		log = slog.Default()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen %s: %w", addr, err)
	}
	if a, ok := ln.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		log.Warn("metrics endpoint reachable beyond this host; it has no authentication", "address", ln.Addr().String())
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", Handler(r))
	return &Server{
		reg: r, log: log, ln: ln,
		http: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 10 * time.Second},
	}, nil
}

// Addr returns the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve answers scrapes until ctx is done, then shuts the server down
// (waiting up to a second for scrapes in flight) and returns nil.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics: serve %s: %w", s.ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.http.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: serve %s: %w", s.ln.Addr(), err)
	}
	return nil
}
