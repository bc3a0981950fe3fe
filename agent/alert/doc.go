// Package alert keeps the lifecycle of alerts between the detector and
// the MQTT topics: which alerts are active now (the retained
// emberwatch/v1/<site>/<gateway>/alerts topic), and which detector events
// are published on .../alert/<device>.
//
// A Tracker is fed the detector's events (Observe) and the passing of time
// (Tick), and answers with the events to publish:
//
//   - Deduplication. An alert is keyed by device, subject and kind. A
//     repeated raised or escalated event at a level already reached, or an
//     event for an alert that is not active, is dropped. A raised event
//     with a new id for a key that is still active continues that alert
//     (it keeps the first id).
//   - Escalation. Only a higher level is published (as escalated); a lower
//     level does not lower the alert until it clears.
//   - Hysteresis. A cleared event starts Options.ClearHold; the clear is
//     published when the hold ends (Tick) unless the same key is raised
//     again within it, in which case the alert simply goes on (escalated
//     if the new level is higher). A flapping sensor therefore publishes
//     one alert, not a raise and clear per flap.
//   - Operator commands (Apply), signed like shed commands
//     (agent/command; the caller verifies them): acknowledge marks the
//     alert as seen, silence mutes its notifications until a time,
//     unsilence ends that. Neither stops detection, publication on the
//     alert topic, or shedding: they only set Update.Notify to false and
//     are shown in the active list. An escalation clears both.
//
// A Tracker is pure (no I/O, no clock: time comes from events and Tick)
// and not safe for concurrent use; its owner serialises calls.
package alert
