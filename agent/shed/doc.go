// Package shed turns alerts into load shedding: a Plan (the shed: section
// of the site config) names groups of hosts and PDU outlets, orders them
// in tiers, and says which alerts shed which tiers; an Engine walks the
// tiers; a Runner carries the Engine's actions out (signed commands over
// MQTT, outlets off through an OutletSwitch).
//
// # Plan
//
//	shed:
//	  groups:
//	    - name: rack-a-web              # hosts listening on emberwatch/v1/<site>/shed/rack-a-web
//	      hosts: [web-1, web-2]
//	      outlets: [{pdu: pdu-a, outlets: [1, 2]}]
//	      fed_by: [ups-1]               # battery devices feeding the group (NUT FSD)
//	    - name: rack-a                  # a group may include others
//	      include: [rack-a-web, rack-a-db]
//	  tiers:                            # shed in this order, non-critical first
//	    - {name: web, groups: [rack-a-web], deadline: 90s, overlap: true}
//	    - {name: db, groups: [rack-a-db], deadline: 180s}
//	  rules:
//	    - {kind: thermal_runaway, level: critical, device: bms-1, subject: battery.string.2, tiers: [web, db]}
//	    - {kind: power, level: critical, tiers: [web]}
//
// A rule matches an alert of its kind at its level or above, on one of its
// devices (any if none) and on its subject or a part of it
// (battery.string.2 matches battery.string.2.module.4; any if empty).
// Validation reports, with file and line: unknown groups and tiers,
// include cycles, empty groups and tiers, a group in two tiers, unknown
// kinds and levels, missing deadlines.
//
// # Engine
//
// The Engine is pure: time is passed in, actions come out. When a rule
// matches, its tiers are wanted; the engine sheds wanted tiers one at a
// time, in plan order:
//
//  1. Send: a shutdown command to every group of the tier (and the groups
//     they include).
//  2. When every host of the tier has acknowledged shutting-down and gone
//     offline (a host already offline when the tier began counts as down),
//     or the tier's deadline has passed, OutletsOff: the tier's outlets.
//  3. The next wanted tier. With overlap: true on a tier, the next tier
//     begins as soon as every host of this one has acknowledged
//     shutting-down; its outlets still wait for this tier's.
//
// Shedding is a latch: an alert that clears does not stop it; only an
// operator's Cancel does (cancel commands go to tiers not yet powered off).
// No outlet is ever switched before its tier's hosts are down or its
// deadline has passed.
package shed
