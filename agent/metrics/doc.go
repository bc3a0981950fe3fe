// Package metrics exposes the agent's own health in the Prometheus text
// exposition format (version 0.0.4) on an optional local HTTP port, without
// the Prometheus client library: a Registry of counter and gauge families
// with labels, written out in a stable order on every scrape of /metrics.
//
// The agent's families (per-device polls, errors, poll latency and
// staleness; the broker connection and the publish queues) are declared by
// NewAgent, which fills them from the poll scheduler's and the MQTT
// publisher's stats just before each scrape, so nothing on the polling path
// touches the registry.
//
// The listener binds 127.0.0.1:9464 by default (DefaultAddress); the site
// file may name another address. The endpoint has no authentication: keep it
// on the loopback interface, or behind a proxy that adds some.
//
// Concurrency: every Registry, family and series method is safe for
// concurrent use.
package metrics
