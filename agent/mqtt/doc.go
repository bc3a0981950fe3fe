// Package mqtt publishes a gateway's state, telemetry and alerts to an MQTT
// broker over github.com/eclipse/paho.mqtt.golang, on the topics of the
// Emberwatch contracts (section 5):
//
//	emberwatch/v1/<site>/<gateway>/state               retained; the will sets {"online":false}
//	emberwatch/v1/<site>/<gateway>/telemetry/<device>  a poll's readings, QoS 0 unless configured
//	emberwatch/v1/<site>/<gateway>/alert/<device>      alert events, QoS 1
//	emberwatch/v1/<site>/<gateway>/alerts              retained: the active alerts now
//
// Publishing never blocks the caller on the broker: messages are queued
// and one goroutine sends them.
//
// Store and forward: with a spool folder (Options.SpoolDir), alerts and
// the other reliable messages (PublishReliable: shed commands,
// acknowledgements) are appended to an fsync'd, checksummed log
// (agent/queue) before the call returns, and leave it only when the broker
// has acknowledged them. They are sent at QoS 1 in a bounded window of
// unacknowledged publishes (Options.Window), never relying on the broker's
// queues; acknowledgements are taken in order, and after a failure
// everything from the oldest unacknowledged message on is sent again, in
// order, with the same bytes: delivery is at least once, duplicates carry
// the same id, and the first arrivals of each device are in order. Each
// connection has its own paho client, so nothing held for a lost
// connection can overtake a resend on the next one.
//
// Telemetry produced while the broker is away is buffered in the spool
// up to Options.TelemetryBytes and sent later, oldest first, marked
// "late":true. When a budget is reached the buffered telemetry is thinned
// (every other sample of each device dropped, again as needed); alerts are
// never dropped. Without a spool folder, alerts wait in memory and
// telemetry in a bounded memory queue that drops the oldest.
//
// Connection errors are classified (ErrUnknownAuthority,
// ErrServerCertExpired, ErrNotAuthorized ...), logged at most once a
// minute, and returned by LastError; the password is never logged.
package mqtt
