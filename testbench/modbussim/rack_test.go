package modbussim

import (
	"context"
	"math"
	"os"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers/modbus"
	"github.com/emberwatch/emberwatch/testbench/rack"
)

// The rack model served through the project's generic rack BMS profile:
// every point reads back as served, and as the model has it to within the
// register's resolution.
func TestServesTheRackThroughTheGenericProfile(t *testing.T) {
	const file = "../../firmware-config/profiles/modbus/generic-rack-bms.yaml"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Skipf("profile not in this checkout: %v", err)
	}
	p, err := modbus.ParseProfile(file, data)
	if err != nil {
		t.Fatal(err)
	}
	r := rack.New(rack.Config{Modules: 8, Cells: 16, Seed: 42, Current: -30})
	r.Step(time.Minute)
	s, err := New(p, r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addr, err := s.ServeTCP(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	c := tcpClient(t, addr.String(), 1, 2*time.Second)
	check := func(t *testing.T) {
		t.Helper()
		truth, served := r.Points(), s.Values()
		for _, reg := range p.Points {
			words, err := c.read(tableOf(reg.Table), reg.Address, uint16(reg.Words()))
			if err != nil {
				t.Fatalf("%s: %v", reg.Point, err)
			}
			v, _, err := reg.Decode(words, p.ByteOrder)
			if err != nil {
				t.Fatalf("%s: %v", reg.Point, err)
			}
			if !same(v, served[reg.Point]) {
				t.Errorf("%s: read %v, served %v", reg.Point, v, served[reg.Point])
			}
			want, ok := truth[reg.Point]
			if !ok {
				continue
			}
			res := 1e-6 * math.Abs(want) // FLOAT32
			if reg.Scale != nil {
				res = *reg.Scale / 2
			} else if reg.Type != modbus.Float32 && reg.Type != modbus.Float64 {
				res = 0.5
			}
			if math.Abs(v-want) > res+1e-9 {
				t.Errorf("%s (%s): read %v, model %v", reg.Point, reg.Type, v, want)
			}
		}
	}
	check(t)
	before := s.Values()["battery.module.3.temperature"]
	if err := r.HeatModule(3, 400); err != nil {
		t.Fatal(err)
	}
	r.Step(10 * time.Minute)
	if got := s.Values()["battery.module.3.temperature"]; got != before {
		t.Errorf("served value moved without Refresh: %v -> %v", before, got)
	}
	if err := s.Refresh(); err != nil {
		t.Fatal(err)
	}
	if got := s.Values()["battery.module.3.temperature"]; got < before+5 {
		t.Errorf("hot module served at %v °C, was %v", got, before)
	}
	check(t)
}
