package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/mqtt"
	"github.com/emberwatch/emberwatch/drivers/i2c"
	"github.com/emberwatch/emberwatch/drivers/i2c/i2csim"
	firmwareconfig "github.com/emberwatch/emberwatch/firmware-config"
	"github.com/emberwatch/emberwatch/testbench/modbussim"
)

// TestRunI2CAndModbus is issue 5's acceptance 2 with the embedded broker:
// the agent polls the gateway's own I2C sensors (simulated buses injected
// in place of /dev/i2c-N) together with a Modbus BMS, and both reach MQTT.
func TestRunI2CAndModbus(t *testing.T) {
	testRunI2CAndModbus(t, startBroker(t).URL())
}

// testRunI2CAndModbus runs the agent against broker url with the shipped
// gateway-rack I2C profile on a simulated /dev/i2c-1 (two TMP102, an SHT31
// and an ADS1115 reading two gas detectors), a BME280 named by its URL on
// /dev/i2c-2, and a simulated Modbus BMS. Every value the simulators serve
// must arrive on the devices' telemetry topics; then an SHT31 CRC failure
// and a NACKing TMP102 must arrive as null values, not numbers, while the
// other sensors and the BMS go on. (A poll of gateway-rack waits for the
// chips' conversions, about 180 ms, hence its 500 ms interval.)
func testRunI2CAndModbus(t *testing.T, url string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := serveSim(t, ctx, modbussim.Map{Values: map[string]float64{
		"battery.voltage": 53.12, "battery.current": -12.5, "battery.charge": 87.25,
		"battery.module.1.temperature": 24.6, "battery.module.2.temperature": 25.1, "battery.module.3.temperature": 24.9,
	}})

	bus1 := i2csim.NewBus("/dev/i2c-1")
	inlet, outlet := i2csim.NewTMP102(22.5), i2csim.NewTMP102(31.25)
	air := i2csim.NewSHT3x(24, 45)
	adc := i2csim.NewADS1115()
	adc.SetVolts(0, 0.48)  // H2: 0.48 V * 625 - 250 = 50 ppm
	adc.SetVolts(1, 0.416) // CO: 0.416 V * 312.5 - 125 = 5 ppm
	bus1.Add(0x48, inlet)
	bus1.Add(0x49, outlet)
	bus1.Add(0x44, air)
	bus1.Add(0x4A, adc)
	bus2 := i2csim.NewBus("/dev/i2c-2")
	bus2.Add(0x76, i2csim.NewBME280(21, 40))
	buses := i2c.BusMap{"/dev/i2c-1": bus1, "/dev/i2c-2": bus2}

	dir := siteDir(t)
	rack, err := fs.ReadFile(firmwareconfig.Profiles(), "i2c/gateway-rack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "profiles", "i2c"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "profiles", "i2c", "gateway-rack.yaml"), rack, 0o644); err != nil {
		t.Fatal(err)
	}
	site := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(site, []byte(fmt.Sprintf(`site: dc1
gateway: gw-1
mqtt: {broker: %q}
profiles_dir: profiles
devices:
  - {name: bms-1, driver: modbus, address: "tcp://%s", profile: test-bms, interval: 100ms, timeout: 100ms}
  - {name: rack-air, driver: i2c, address: "i2c:///dev/i2c-1", profile: gateway-rack, interval: 500ms}
  - {name: room, driver: i2c, address: "i2c:///dev/i2c-2?addr=0x76&sensor=bme280", interval: 250ms}
`, url, addr)), 0o644); err != nil {
		t.Fatal(err)
	}

	top := mqtt.NewTopics("dc1", "gw-1")
	rec := record(t, url, top.Telemetry("bms-1"), top.Telemetry("rack-air"), top.Telemetry("room"))
	log, stop := agent(t, site, runOptions{i2c: buses})

	points := func(device string) map[string]mqtt.Point {
		var tm mqtt.Telemetry
		if err := json.Unmarshal(rec.last(top.Telemetry(device)), &tm); err != nil {
			return nil
		}
		return tm.Points
	}
	want := map[string]map[string]float64{
		"bms-1": {"battery.voltage": 53.12, "battery.current": -12.5, "battery.charge": 87.25, "battery.module.3.temperature": 24.9},
		"rack-air": {"ambient.1.temperature": 22.5, "ambient.2.temperature": 31.25, "ambient.3.temperature": 24,
			"ambient.3.humidity": 45, "gas.h2": 50, "gas.co": 5},
		"room": {"ambient.temperature": 21, "ambient.humidity": 40},
	}
	tolerance := map[string]float64{"ambient.3.humidity": 0.01, "ambient.3.temperature": 0.01, "gas.h2": 0.1, "gas.co": 0.1,
		"ambient.temperature": 0.01, "ambient.humidity": 0.1}
	close := func(p string, got, w float64) bool { return math.Abs(got-w) <= tolerance[p]+1e-9 }
	for dev, ps := range want {
		waitFor(t, 5*time.Second, dev+" telemetry", log, func() bool { return len(points(dev)) > 0 })
		got := points(dev)
		for p, w := range ps {
			if v := got[p].Float(); !close(p, v, w) {
				t.Errorf("%s %s = %v, the simulator serves %v", dev, p, v, w)
			}
		}
	}

	// Faults: a CRC failure and a NACK become null values on MQTT; the
	// other sensors of the bus keep their numbers.
	inlet.SetTemperature(-4.25)
	air.CorruptCRC(true)
	bus1.SetNACK(0x49, true)
	waitFor(t, 5*time.Second, "faulty sensors as null values", log, func() bool {
		ps := points("rack-air")
		return ps != nil && ps["ambient.1.temperature"].Float() == -4.25 && ps["ambient.2.temperature"].Value == nil &&
			ps["ambient.3.temperature"].Value == nil && ps["ambient.3.humidity"].Value == nil && close("gas.h2", ps["gas.h2"].Float(), 50)
	})
	n := len(rec.all(top.Telemetry("bms-1")))
	waitFor(t, 5*time.Second, "BMS polled on", log, func() bool { return len(rec.all(top.Telemetry("bms-1"))) > n+3 })
	stop()
}
