package nutd_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/emberwatch/emberwatch/agent/nutd"
)

func Example() {
	s := nutd.New(nutd.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.Update("bms-1", "Rack A battery string", map[string]string{"battery.charge": "97", "ups.status": "OL"})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Serve(ctx, ln)

	s.SetFSD([]string{"bms-1"}) // the shed engine's FSD set
	c, _ := net.Dial("tcp", ln.Addr().String())
	defer c.Close()
	fmt.Fprint(c, "GET VAR bms-1 ups.status\n")
	line, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Print(line)
	// Output: VAR bms-1 ups.status "FSD OL"
}
