// Package console is the live terminal view of one gateway: it subscribes
// to emberwatch/v1/<site>/<gateway>/# (CONTRACTS section 5) and shows, per
// device, a compact table of module temperatures and voltages with the
// string's voltage, current and state of charge, the alerts as they arrive
// (CONTRACTS section 4) and a line with the broker and gateway state. It
// also follows load shedding: the site's shed commands
// (emberwatch/v1/<site>/shed/+), the hosts' acknowledgements
// (emberwatch/v1/<site>/ack/+) and the gateway's shed status and outcomes
// (<root>/shed, <root>/shed/outcome).
//
// The package is split so that the drawing can be tested without a broker
// or a terminal:
//
//   - State holds what has been received; State.Apply folds one MQTT
//     message into it and returns an Update describing what changed.
//   - Screen and Line are pure functions of a State (and an Update):
//     Screen is the full-screen table, Line is one log line.
//   - View owns a State and an io.Writer. On a terminal it redraws the
//     screen (cursor home, clear) at most every View.Interval; elsewhere it
//     writes one line per update, so output captured by CI stays readable.
//   - Watch connects an MQTT client to a broker and feeds a View.
package console
