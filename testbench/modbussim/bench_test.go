package modbussim

import (
	"context"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers/modbus"
)

// BenchmarkTCPRead125 is one 125-register read over Modbus TCP through the
// fault relay and the server, as a client sees it.
func BenchmarkTCPRead125(b *testing.B) {
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	s, err := New(blockProfile(125), blockValues(125), Options{})
	if err != nil {
		b.Fatal(err)
	}
	addr, err := s.ServeTCP(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	c := tcpClient(b, addr.String(), 1, time.Second)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.read(modbus.Holding, 0, 125); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefresh is one Refresh of a 125-register profile.
func BenchmarkRefresh(b *testing.B) {
	s, err := New(blockProfile(125), blockValues(125), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Refresh(); err != nil {
			b.Fatal(err)
		}
	}
}
