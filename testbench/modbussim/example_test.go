package modbussim_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/emberwatch/emberwatch/drivers/modbus"
	"github.com/emberwatch/emberwatch/testbench/modbussim"
	"github.com/emberwatch/emberwatch/testbench/rack"
	gb "github.com/goburrow/modbus"
)

// Serve a rack over Modbus TCP, make one module hot, and read its
// temperature as a client sees it.
func Example() {
	scale := 0.1
	p := &modbus.Profile{Name: "two-modules", Points: []modbus.Register{
		{Point: "battery.module.1.temperature", Address: 100, Type: modbus.Int16, Scale: &scale},
		{Point: "battery.module.2.temperature", Address: 101, Type: modbus.Int16, Scale: &scale},
	}}
	r := rack.New(rack.Config{Modules: 2, Seed: 1, Quiet: true, Ambient: 25})
	sim, err := modbussim.New(p, r, modbussim.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := sim.ServeTCP(ctx, "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}

	_ = r.HeatModule(2, 300)
	r.Step(20 * time.Minute)
	_ = sim.Refresh() // serve the stepped model

	h := gb.NewTCPClientHandler(addr.String())
	defer h.Close()
	b, err := gb.NewClient(h).ReadHoldingRegisters(100, 2)
	if err != nil {
		log.Fatal(err)
	}
	for i, reg := range p.Points {
		v, _, _ := reg.Decode([]uint16{uint16(b[2*i])<<8 | uint16(b[2*i+1])}, "")
		fmt.Printf("%s %.1f (served %.1f)\n", reg.Point, v, sim.Values()[reg.Point])
	}
	fmt.Printf("%+v\n", sim.Counters())
	// Output:
	// battery.module.1.temperature 25.0 (served 25.0)
	// battery.module.2.temperature 35.2 (served 35.2)
	// {Requests:1 Registers:2 Exceptions:0 Dropped:0}
}

// Several slaves on one RTU line, one of them dead.
func ExampleBus() {
	p := &modbus.Profile{Name: "one", Points: []modbus.Register{{Point: "battery.voltage", Type: modbus.Uint16}}}
	bus := modbussim.NewBus()
	for unit := uint8(1); unit <= 3; unit++ {
		s, err := modbussim.New(p, modbussim.Map{Values: map[string]float64{"battery.voltage": 50 + float64(unit)}}, modbussim.Options{})
		if err != nil {
			log.Fatal(err)
		}
		_ = bus.Add(unit, s)
	}
	_ = bus.SetFault(2, modbussim.Fault{Kind: modbussim.Dead})

	pty, err := modbussim.OpenPTY()
	if err != nil {
		log.Fatal(err)
	}
	defer pty.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = bus.ServeRTU(ctx, pty.Server, 115200) }()

	h := gb.NewRTUClientHandler(pty.Path) // opened like a serial port
	// A second for the dead unit to time out: at 100 ms a busy machine
	// held off the live unit 3's reply as well.
	h.BaudRate, h.Timeout = 115200, time.Second
	defer h.Close()
	for _, unit := range bus.Units() {
		h.SlaveId = unit
		b, err := gb.NewClient(h).ReadHoldingRegisters(0, 1)
		if err != nil {
			fmt.Printf("unit %d: no answer\n", unit)
			continue
		}
		fmt.Printf("unit %d: %d V\n", unit, b[1])
	}
	// Output:
	// unit 1: 51 V
	// unit 2: no answer
	// unit 3: 53 V
}
