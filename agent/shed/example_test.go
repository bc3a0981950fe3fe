package shed_test

import (
	"fmt"
	"time"

	"github.com/emberwatch/emberwatch/agent/command"
	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/agent/shed"
)

func ExampleEngine() {
	plan, err := shed.ParsePlan("site.yaml", []byte(`
shed:
  groups:
    - {name: rack-a, hosts: [web-1], outlets: [{pdu: pdu-a, outlets: [1, 2]}], fed_by: [bms-1]}
  tiers:
    - {name: web, groups: [rack-a], deadline: 90s}
  rules:
    - {kind: thermal_runaway, level: critical, device: bms-1, tiers: [web]}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	eng, _ := shed.NewEngine(plan)
	t0 := time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)
	show := func(as []shed.Action) {
		for _, a := range as {
			fmt.Println(a)
		}
	}
	show(eng.Alert(detect.Event{ID: "a1", Device: "bms-1", Subject: "battery.module.3", Kind: "thermal_runaway",
		Level: "critical", State: "raised"}, t0))
	show(eng.Ack(command.Ack{Host: "web-1", Status: command.AckShuttingDown}, t0.Add(time.Second)))
	show(eng.Ack(command.Ack{Host: "web-1", Status: command.AckOffline}, t0.Add(40*time.Second)))
	fmt.Println(eng.FSD())
	// Output:
	// tier 1 (web): shutdown to rack-a (rule 1: critical thermal_runaway on bms-1 battery.module.3)
	// tier 1 (web): outlets off [{pdu-a 1} {pdu-a 2}] (hosts down)
	// [bms-1 rack-a]
}
