package shed

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/emberwatch/emberwatch/agent/host"
)

// SimulatedHostsOptions configure StartSimulatedHosts.
type SimulatedHostsOptions struct {
	// Broker and Site are where the listeners connect.
	Broker, Site string
	// Keys are the gateway keys the listeners trust.
	Keys []ed25519.PublicKey
	// StopAfter is how long a simulated host takes to stop after it
	// acknowledged shutting-down.
	StopAfter time.Duration
	// Logger; slog.Default() if nil.
	Logger *slog.Logger
}

// StartSimulatedHosts runs a dry-run host listener (agent/host) for every
// host of every group of the plan, as the demo's simulated racks: each
// acknowledges, "stops" StopAfter later and goes offline. They run until
// ctx ends; the returned function waits for them.
func StartSimulatedHosts(ctx context.Context, p *Plan, opts SimulatedHostsOptions) (wait func(), err error) {
	var wg sync.WaitGroup
	for _, g := range p.Groups {
		for _, h := range g.Hosts {
			l, err := host.New(host.Config{Broker: opts.Broker, Site: opts.Site, Group: g.Name, Host: h,
				DryRun: true, DryRunOfflineAfter: opts.StopAfter}, host.Options{Keys: opts.Keys, Logger: opts.Logger})
			if err != nil {
				return wg.Wait, fmt.Errorf("shed: simulated host %s: %w", h, err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = l.Run(ctx) // Run logs its own failures
			}()
		}
	}
	return wg.Wait, nil
}
