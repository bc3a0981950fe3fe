package shed

import (
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/command"
	"github.com/emberwatch/emberwatch/agent/detect"
)

// FuzzParsePlan feeds arbitrary bytes to the plan parser: it must never
// panic; an error names the file; a plan it accepts makes an engine,
// which then takes an alert for each rule, every host's
// acknowledgements and ticks past every deadline without panicking, and
// switches off only outlets numbered from 1 of named PDUs.
func FuzzParsePlan(f *testing.F) {
	for _, s := range []string{
		`shed:
  groups:
    - name: rack-a-web
      hosts: [web-1, web-2]
      outlets:
        - {pdu: pdu-a, outlets: [1, 2]}
      fed_by: [bms-1]
    - name: rack-a-db
      hosts: [db-1]
      outlets:
        - {pdu: pdu-a, outlets: [3]}
      fed_by: [bms-1]
  tiers:
    - {name: web, groups: [rack-a-web], deadline: 90s, overlap: true}
    - {name: db, groups: [rack-a-db], deadline: 180s}
  rules:
    - {kind: thermal_runaway, level: critical, device: bms-1, tiers: [web, db]}
    - {kind: power, level: critical, tiers: [web]}
`,
		`groups:
  - {name: a, hosts: [h1]}
  - {name: b, include: [a], outlets: [{pdu: p, outlets: [4]}]}
tiers:
  - {name: t, groups: [b], deadline: 1s}
rules:
  - {kind: offgas, level: warning, devices: [gas-1, gas-2], subject: ambient, tiers: [t]}
`,
		"groups:\n  - {name: a, include: [b]}\n  - {name: b, include: [a]}\ntiers:\n  - {name: t, groups: [a], deadline: 1s}\n",
		"shed: {groups: [], tiers: [], rules: []}\n",
		"groups: [\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "plan.yaml"
		p, err := ParsePlan(file, data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), file+":") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		eng, err := NewEngine(p)
		if err != nil {
			t.Fatalf("a plan that parsed makes no engine: %v", err)
		}
		check := func(as []Action) {
			for _, a := range as {
				if a.Tier < 1 || a.Tier > len(p.Tiers) {
					t.Fatalf("action %v of tier %d of %d", a, a.Tier, len(p.Tiers))
				}
				for _, o := range a.Outlets {
					if o.PDU == "" || o.Outlet < 1 {
						t.Fatalf("action %v switches outlet %+v", a, o)
					}
				}
			}
		}
		now := time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)
		var longest time.Duration
		for _, tr := range p.Tiers {
			longest = max(longest, tr.Deadline)
		}
		for i, r := range p.Rules {
			dev := r.Device
			if len(r.Devices) > 0 {
				dev = r.Devices[0]
			}
			check(eng.Alert(detect.Event{ID: "a", Device: dev, Subject: r.Subject, Kind: r.Kind, Level: r.Level, State: "raised"}, now.Add(time.Duration(i)*time.Millisecond)))
		}
		for _, g := range p.Groups {
			for _, h := range g.Hosts {
				check(eng.Ack(command.Ack{Host: h, Status: command.AckShuttingDown}, now))
			}
		}
		for range len(p.Tiers) + 1 {
			now = now.Add(longest + time.Second)
			check(eng.Tick(now))
		}
		if st := eng.Status(); len(st) != len(p.Tiers) {
			t.Fatalf("%d tier states for %d tiers", len(st), len(p.Tiers))
		}
		_, _ = eng.Shed(), eng.FSD()
	})
}
