package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/agent/mqtt"
	"github.com/emberwatch/emberwatch/agent/pipeline"
	"github.com/emberwatch/emberwatch/agent/poll"
	"github.com/emberwatch/emberwatch/drivers/modbus"
)

const (
	site    = "bench"
	gateway = "footprint"
)

// agent is the run verb's pipeline over the testbed: Modbus devices on
// shared buses, the poll scheduler, the run verb's alert stage (detector
// and alert lifecycle) and the MQTT publisher.
type agent struct {
	buses *modbus.Buses
	sched *poll.Scheduler
	pub   *mqtt.Publisher
	stage *pipeline.Stage
}

func newAgent(tb *testbed, interval time.Duration, log *slog.Logger) (*agent, error) {
	p, err := loadProfile()
	if err != nil {
		return nil, err
	}
	pub, err := mqtt.New(mqtt.Options{Broker: tb.BrokerURL, Site: site, Gateway: gateway, Version: "footprint", Logger: log})
	if err != nil {
		return nil, err
	}
	cfg := detect.DefaultConfig()
	cfg.Site, cfg.Gateway = site, gateway
	a := &agent{
		buses: modbus.NewBuses(modbus.ClientOptions{Logger: log}),
		pub:   pub,
		stage: pipeline.New(detect.New(cfg), pub, log),
	}
	a.sched = poll.New(a.stage, poll.Options{Logger: log})
	for i, addr := range tb.Addrs {
		client, _, err := a.buses.Dial("tcp://" + addr)
		if err != nil {
			a.buses.Close()
			return nil, err
		}
		name := deviceName(i)
		dev := modbus.NewDevice(name, 1, p, client, modbus.Options{Timeout: interval / 2, Logger: log.With("device", name)})
		if err := a.sched.Add(poll.Target{Name: name, Device: dev, Interval: interval}); err != nil {
			a.buses.Close()
			return nil, err
		}
	}
	return a, nil
}

// run runs the agent until ctx is done, then stops it as the run verb does.
func (a *agent) run(ctx context.Context) error {
	defer a.buses.Close()
	if err := a.pub.Start(ctx); err != nil {
		return err
	}
	var aux sync.WaitGroup
	auxCtx, stopAux := context.WithCancel(context.Background())
	aux.Go(func() { a.stage.Run(auxCtx, time.Second) })
	err := a.sched.Run(ctx)
	stopAux()
	aux.Wait()
	flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if cerr := a.pub.Close(flush); err == nil {
		err = cerr
	}
	return err
}

// polls returns the finished polls and the failed ones, all devices.
func (a *agent) polls() (polls, errs, overruns uint64) {
	for _, s := range a.sched.Stats() {
		polls += s.Polls
		errs += s.Errors
		overruns += s.Overruns
	}
	return
}
