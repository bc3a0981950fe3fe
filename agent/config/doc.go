// Package config loads and validates an Emberwatch site file: the site and
// gateway ids, the MQTT connection, the devices to poll, the detector's
// thresholds, the shed plan (left to agent/shed to decode), the command
// keys (agent/command), the NUT endpoint (agent/nutd) and the metrics
// endpoint.
//
// Decoding is strict: an unknown key, a value of the wrong type or an
// out-of-range setting is an error, and every error names the file, the
// line and the field (site.yaml:12: devices[1].interval: ...). All errors
// are collected, not only the first. Defaults are filled in after a
// successful load, so callers read a complete Config.
//
// Profiles are not loaded here: the check and run verbs look up each
// device's profile in ProfilesDir (or in the profiles embedded in the
// binary) with the driver's own loader.
package config
