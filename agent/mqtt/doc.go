// Package mqtt publishes a gateway's state, telemetry and alerts to an MQTT
// broker over github.com/eclipse/paho.mqtt.golang, on the topics of the
// Emberwatch contracts (section 5):
//
//	emberwatch/v1/<site>/<gateway>/state               retained; the will sets {"online":false}
//	emberwatch/v1/<site>/<gateway>/telemetry/<device>  a poll's readings, QoS 0 unless configured
//	emberwatch/v1/<site>/<gateway>/alert/<device>      alert events, QoS 1
//	emberwatch/v1/<site>/<gateway>/alerts              retained: the active alerts now
//
// Publishing never blocks the caller on the broker: messages go to a
// bounded queue in front of paho, drained by one goroutine that waits for
// the connection. When the telemetry queue is full the oldest message is
// dropped and counted; alerts are never dropped, and with a spool folder
// they wait on disk until the broker acknowledges them. Paho reconnects on
// its own, with exponential backoff.
package mqtt
