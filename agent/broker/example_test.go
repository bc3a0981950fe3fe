package broker_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/emberwatch/emberwatch/agent/broker"
)

func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // stops the broker

	b := broker.New(broker.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := b.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b.URL() != "")
	// Output: true
}
