package alert_test

import (
	"fmt"
	"time"

	"github.com/emberwatch/emberwatch/agent/alert"
	"github.com/emberwatch/emberwatch/agent/detect"
)

func Example() {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tr := alert.New(alert.Options{ClearHold: time.Minute})
	show := func(ups []alert.Update) {
		for _, u := range ups {
			fmt.Println(u.Event.ID, u.Event.State, u.Event.Level)
		}
	}
	e := detect.Event{ID: "a1", Time: t0, Device: "bms-1", Subject: "battery.module.3", Kind: detect.KindThermalRunaway, Level: detect.LevelWarning, State: detect.StateRaised}
	show(tr.Observe(e))
	e.Level, e.State, e.Time = detect.LevelCritical, detect.StateEscalated, t0.Add(30*time.Second)
	show(tr.Observe(e))
	e.State, e.Time = detect.StateCleared, t0.Add(5*time.Minute)
	show(tr.Observe(e))                    // held
	show(tr.Tick(t0.Add(6 * time.Minute))) // published
	fmt.Println(len(tr.Active()), "active")
	// Output:
	// a1 raised warning
	// a1 escalated critical
	// a1 cleared critical
	// 0 active
}
