// Package host is the listener that runs on the hosts in the racks
// (emberwatch host -c FILE): it subscribes to its group's shed topic
// (emberwatch/v1/<site>/shed/<group>), verifies each command
// (agent/command: trusted Ed25519 keys, per-gateway sequence, age), runs
// the configured shutdown (default systemctl poweroff; dry_run only logs),
// and publishes acknowledgements on emberwatch/v1/<site>/ack/<host>:
//
//	online         retained, on every connection
//	received       a command was verified and accepted
//	shutting-down  the shutdown command is being run
//	cancelled      a pending shutdown (within delay) was withdrawn
//	rejected       a command was refused; reason says why, and it is logged
//	offline        retained: published before a clean exit, and the MQTT will
//
// so the broker's last word about a host that went away is offline.
//
// Messages are handled one at a time, in arrival order, by one goroutine;
// paho's callbacks only queue them. The listener owns its MQTT connection.
package host
