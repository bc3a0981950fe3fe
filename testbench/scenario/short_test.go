package scenario

import (
	"strings"
	"testing"

	"github.com/emberwatch/emberwatch/agent/detect"
)

// TestShortFedByCharger runs the detector on a soft short that ends in a
// fast one, out of its thermistor's sight: soft_short seed 2, an LFP
// string of 11 modules at float, one thermistor per module at 0.5 °C
// resolution sitting six cells from the shorted one. For two hours the
// short grows; the module's thermistor moves one step and its voltage
// sinks 0.1 V, inside its wander. In the last minutes the separator
// gives way: the cell draws hundreds of amperes, its module's voltage
// stands a quarter of a percent below the group and the charger's
// current jumps from nothing to 2 A, half a minute before the cell vents.
// The voltage held low through a sample that noise put near the group,
// and the current had not yet held its step for two minutes: the warning
// must come from the jump and the voltage's median of the last two
// minutes, before the first venting.
func TestShortFedByCharger(t *testing.T) {
	s, err := New("soft_short", 2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := warnings(t, s, detect.DefaultConfig(), nil)
	vent := s.truth.FirstVentTime
	if vent == nil {
		t.Fatal("the scenario no longer vents")
	}
	if len(got) == 0 {
		t.Fatalf("no thermal_runaway warning; first venting at %s", vent.Sub(s.truth.Start))
	}
	e := got[0]
	if !e.Time.Before(*vent) {
		t.Fatalf("first warning %s after the first venting (%s): %s", e.Time.Sub(*vent), vent.Sub(s.truth.Start), e.Message)
	}
	if e.Subject != s.truth.Subject {
		t.Errorf("warning on %s, want %s", e.Subject, s.truth.Subject)
	}
	if !strings.Contains(e.Message, "internal short") {
		t.Errorf("warning %q does not name an internal short", e.Message)
	}
}
