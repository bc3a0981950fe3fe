// Package broker runs an embedded MQTT broker (github.com/mochi-mqtt/server/v2)
// for the demo and for tests: one plain TCP listener, by default on
// 127.0.0.1 with a port chosen by the system, and an allow-all
// authenticator.
//
// The broker is for a single machine's own use. It has no credentials, no
// TLS and no persistence; a gateway in a facility publishes to the site's
// broker instead.
package broker
