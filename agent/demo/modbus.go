package demo

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
	"github.com/emberwatch/emberwatch/drivers/modbus"
	firmwareconfig "github.com/emberwatch/emberwatch/firmware-config"
	"github.com/emberwatch/emberwatch/testbench/modbussim"
)

// RackProfile is the Modbus profile the simulated BMS serves and the agent
// reads: firmware-config/profiles/modbus/generic-rack-bms.yaml, embedded in
// the binary.
const RackProfile = "generic-rack-bms"

// ModbusPoller is the agent's side of the demo's Modbus link: the rack is
// served over Modbus TCP on 127.0.0.1 by a simulated BMS (testbench/
// modbussim on simonvetter's server) with the RackProfile register map,
// and read with the profile-driven driver (drivers/modbus) as a gateway
// reads a real one.
type ModbusPoller struct {
	addr   string
	sim    *modbussim.Sim
	client *modbus.Client
	dev    *modbus.Device
}

// NewModbusPoller serves sim over Modbus TCP until ctx is done, refreshes
// the served registers from the rack every refresh of wall time, and
// returns a poller reading them.
func NewModbusPoller(ctx context.Context, sim *Sim, refresh time.Duration, log *slog.Logger) (*ModbusPoller, error) {
	p, err := modbus.LoadProfile(firmwareconfig.Profiles(), "modbus/"+RackProfile+".yaml")
	if err != nil {
		return nil, fmt.Errorf("demo: profile %s: %w", RackProfile, err)
	}
	ms, err := modbussim.New(p, sim, modbussim.Options{Name: Device, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("demo: simulated BMS: %w", err)
	}
	addr, err := ms.ServeTCP(ctx, "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: simulated BMS: %w", err)
	}
	go func() {
		t := time.NewTicker(refresh)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := ms.Refresh(); err != nil {
					log.Warn("demo: simulated BMS refresh", "err", err)
				}
			}
		}
	}()
	log.Info("simulated BMS serving Modbus TCP", "addr", addr.String(), "unit", 1, "profile", RackProfile,
		"probe", "modbus+tcp://"+addr.String()+"?unit=1&profile="+RackProfile)
	client := modbus.NewTCPClient(addr.String(), modbus.ClientOptions{Logger: log})
	go func() { <-ctx.Done(); _ = client.Close() }()
	dev := modbus.NewDevice(Device, 1, p, client, modbus.Options{Logger: log})
	return &ModbusPoller{addr: addr.String(), sim: ms, client: client, dev: dev}, nil
}

// Addr returns host:port of the simulated BMS.
func (m *ModbusPoller) Addr() string { return m.addr }

// Requests returns the number of Modbus requests one poll issues.
func (m *ModbusPoller) Requests() int { return len(m.dev.Plan()) }

// Served returns the values the simulated BMS serves now, decoded back
// from its registers, by point name.
func (m *ModbusPoller) Served() map[string]float64 { return m.sim.Values() }

// Poll reads the simulated BMS once over Modbus TCP.
func (m *ModbusPoller) Poll(ctx context.Context) ([]drivers.Reading, error) {
	return m.dev.Poll(ctx)
}
