package drivers

import "testing"

func TestLookup(t *testing.T) {
	v := NewVocabulary()
	tests := []struct {
		name string
		unit string
		ok   bool
	}{
		{"battery.voltage", "V", true},
		{"battery.module.1.temperature", "°C", true},
		{"battery.module.12.cell.3.voltage", "V", true},
		{"battery.module.2.cell.avg.voltage", "V", true},
		{"battery.string.2.module.4.temperature", "°C", true},
		{"battery.string.1.charge", "%", true},
		{"ambient.3.humidity", "%", true},
		{"outlet.24.current", "A", true},
		{"input.phase.3.voltage", "V", true},
		{"gas.h2", "ppm", true},
		{"ups.status", "", true},
		{"battery.module.0.temperature", "", false},
		{"battery.module.x.temperature", "", false},
		{"battery.module.1.temp", "", false},
		{"battery.string.1", "", false},
		{"Battery.voltage", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := v.Lookup(tt.name)
			if ok != tt.ok || s.Unit != tt.unit {
				t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tt.name, s.Unit, ok, tt.unit, tt.ok)
			}
		})
	}
}
