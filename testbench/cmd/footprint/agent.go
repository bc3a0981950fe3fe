package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/agent/mqtt"
	"github.com/emberwatch/emberwatch/agent/poll"
	"github.com/emberwatch/emberwatch/drivers"
	"github.com/emberwatch/emberwatch/drivers/modbus"
)

const (
	site    = "bench"
	gateway = "footprint"
)

// agent is the run verb's pipeline over the testbed: Modbus devices on
// shared buses, the poll scheduler, the detector and the MQTT publisher.
type agent struct {
	buses *modbus.Buses
	sched *poll.Scheduler
	pub   *mqtt.Publisher
	stage *stage
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
		stage: &stage{pub: pub, log: log, det: detect.New(cfg), active: map[string]detect.Event{}},
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
	aux.Go(func() { a.stage.tick(auxCtx, time.Second) })
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

// stage is the poll sink: telemetry to the publisher, readings to the
// detector (not safe for concurrent use, hence the lock), events to the
// alert topics. It is the run verb's alert stage, kept small.
type stage struct {
	pub *mqtt.Publisher
	log *slog.Logger

	readings atomic.Uint64
	events   atomic.Uint64

	mu     sync.Mutex
	det    *detect.Detector
	active map[string]detect.Event
}

// Publish implements poll.Sink.
func (s *stage) Publish(device string, t time.Time, rs []drivers.Reading) {
	s.pub.Publish(device, t, rs)
	s.readings.Add(uint64(len(rs)))
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, r := range rs {
		if r.Text != "" || math.IsInf(r.Value, 0) {
			continue
		}
		at := r.Time
		if at.IsZero() {
			at = t
		}
		changed = s.handle(s.det.Observe(detect.Sample{Time: at, Device: device, Point: r.Point, Value: r.Value})) || changed
	}
	if changed {
		s.publishActive()
	}
}

func (s *stage) tick(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.mu.Lock()
			if s.handle(s.det.Advance(now)) {
				s.publishActive()
			}
			s.mu.Unlock()
		}
	}
}

// handle is called with s.mu held.
func (s *stage) handle(evs []detect.Event) bool {
	for _, ev := range evs {
		s.events.Add(1)
		b, err := json.Marshal(ev)
		if err != nil {
			s.log.Error("alert not encodable", "id", ev.ID, "err", err)
			continue
		}
		if err := s.pub.PublishAlert(ev.Device, b); err != nil {
			s.log.Error("alert not queued", "id", ev.ID, "err", err)
		}
		if ev.State == detect.StateCleared {
			delete(s.active, ev.ID)
		} else {
			s.active[ev.ID] = ev
		}
	}
	return len(evs) > 0
}

func (s *stage) publishActive() {
	list := make([]detect.Event, 0, len(s.active))
	for _, ev := range s.active {
		list = append(list, ev)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	b, err := json.Marshal(list)
	if err != nil {
		return
	}
	s.pub.SetActiveAlerts(b)
}
