package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emberwatch/emberwatch/agent/config"
	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/agent/mqtt"
	"github.com/emberwatch/emberwatch/agent/poll"
	"github.com/emberwatch/emberwatch/drivers"
	"github.com/emberwatch/emberwatch/drivers/i2c"
	"github.com/emberwatch/emberwatch/drivers/modbus"
	"github.com/emberwatch/emberwatch/drivers/modbus/sunspec"
	"github.com/emberwatch/emberwatch/drivers/snmp"
)

const runSynopsis = `-c FILE [-log-level LEVEL] [-log-format text|json] [-stats D] [-status D]

Runs the agent: polls every device of the site file on its own schedule,
feeds the readings to the detector, and publishes telemetry, alerts and
the gateway's state over MQTT. Stops on SIGINT or SIGTERM: sends what is
queued, publishes the offline state, and exits 0.
`

// runCmd is the agent. The wiring is explicit: site file -> transports
// (Modbus buses, SNMP sockets, I2C buses) and devices -> poll scheduler ->
// (detector, MQTT publisher).
func runCmd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "run", runSynopsis)
	file := fs.String("c", "", "site `FILE` (required)")
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	format := fs.String("log-format", "text", "log format: text or json")
	statsEvery := fs.Duration("stats", time.Minute, "log per-device poll stats this often (0: only at exit)")
	statusEvery := fs.Duration("status", 10*time.Second, "publish per-device health in the state message this often (0: never)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *file == "" || fs.NArg() > 0 {
		fs.Usage()
		return usagef("run: -c FILE is required, and takes no arguments")
	}
	log, err := newLogger(e, *level, *format)
	if err != nil {
		return err
	}

	cfg, profiles, errs := checkSite(*file)
	if len(errs) > 0 {
		for _, err := range errs {
			fmt.Fprintln(e.stderr, err)
		}
		return usagef("%s: %d errors (see emberwatch check)", *file, len(errs))
	}
	dc, err := detectConfig(cfg)
	if err != nil {
		return inputError{err}
	}
	pub, err := newPublisher(cfg, e, log)
	if err != nil {
		return err
	}

	tr := newTransports(log)
	defer tr.Close()
	stage := newAlertStage(detect.New(dc), pub, log)
	sched := poll.New(stage, poll.Options{Logger: log})
	for _, d := range cfg.Devices {
		dev, err := openDevice(d, tr, profiles, log)
		if err != nil {
			// One device that cannot be opened here (an I2C bus missing)
			// must not stop the others from being watched: it is polled as
			// a failing device, so reported, and opened again now and then.
			log.Error("device cannot be opened; reporting it as failed and trying again", "device", d.Name, "err", err)
			dev = &reopenDevice{name: d.Name, err: err, every: reopenEvery, log: log,
				open: func() (poll.Device, error) { return openDevice(d, tr, profiles, log) }}
		}
		if err := sched.Add(poll.Target{Name: d.Name, Device: dev, Interval: d.Interval.D(), Timeout: d.Interval.D()}); err != nil {
			return err
		}
	}

	// The publisher outlives the signal: it sends what is queued and the
	// offline state in Close below.
	pubCtx, stopPub := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPub()
	if err := pub.Start(pubCtx); err != nil {
		return err
	}
	log.Info("agent started", "site", cfg.Site, "gateway", cfg.Gateway, "devices", len(cfg.Devices), "broker", cfg.MQTT.Broker)
	runCtx, stopAux := context.WithCancel(ctx)
	var aux sync.WaitGroup
	aux.Go(func() { stage.tick(runCtx, time.Second) })
	aux.Go(func() { logStats(runCtx, log, sched, pub, *statsEvery) })
	aux.Go(func() { publishStatus(runCtx, log, sched, pub, *statusEvery) })

	_ = sched.Run(ctx) // returns when ctx is done and the polls in flight have returned
	stopAux()
	aux.Wait()

	logStatsOnce(log, sched, pub)
	flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pub.Close(flushCtx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	log.Info("agent stopped")
	return nil
}

func newLogger(e *env, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("-log-level %q: want debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, o)), nil
	}
	return nil, usagef("-log-format %q: want text or json", format)
}

// newPublisher builds the MQTT publisher of the site file.
func newPublisher(cfg *config.Config, e *env, log *slog.Logger) (*mqtt.Publisher, error) {
	m := cfg.MQTT
	pw, err := m.Password(cfg, e.getenv)
	if err != nil {
		return nil, inputError{err}
	}
	o := mqtt.Options{
		Broker: m.Broker, ClientID: m.ClientID, Username: m.Username, Password: pw,
		Site: cfg.Site, Gateway: cfg.Gateway, TelemetryQoS: byte(m.TelemetryQoS),
		Keepalive: m.Keepalive.D(), Queue: m.Queue, SpoolDir: cfg.Resolve(m.SpoolDir),
		Version: version, Logger: log,
	}
	if m.UsesTLS() {
		t := m.TLS
		o.TLS, err = mqtt.TLSConfig(mqtt.TLSFiles{
			CAFile: cfg.Resolve(t.CAFile), CertFile: cfg.Resolve(t.CertFile), KeyFile: cfg.Resolve(t.KeyFile),
			ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify,
		})
		if err != nil {
			return nil, inputError{err}
		}
	}
	return mqtt.New(o)
}

// transports are the buses and sockets the agent opens for its devices;
// the devices borrow them, and the agent closes them at exit.
type transports struct {
	modbus *modbus.Buses
	i2c    *i2c.HostBuses
	snmp   []*snmp.Client
}

func newTransports(log *slog.Logger) *transports {
	return &transports{modbus: modbus.NewBuses(modbus.ClientOptions{Logger: log}), i2c: &i2c.HostBuses{}}
}

// Close closes every transport.
func (t *transports) Close() error {
	errs := []error{t.modbus.Close(), t.i2c.Close()}
	for _, c := range t.snmp {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// openDevice returns the poller of one device of the site file: a Modbus
// device on its bus (shared with the other units of an RTU line), read
// through its profile or by SunSpec discovery; an SNMP agent read through
// its profile (or one chosen from its sysObjectID); or I2C sensors.
func openDevice(d config.Device, tr *transports, profiles *siteProfiles, log *slog.Logger) (poll.Device, error) {
	dlog := log.With("device", d.Name)
	retries := *d.Retries
	if retries == 0 {
		retries = -1 // the drivers' "none"
	}
	switch d.Driver {
	case "modbus":
		client, _, err := tr.modbus.Dial(d.Address)
		if err != nil {
			return nil, err
		}
		if d.Profile == sunspecProfile {
			models, err := sunspec.DefaultModels()
			if err != nil {
				return nil, err
			}
			r := timeoutReader{r: client, timeout: d.Timeout.D()}
			return sunspec.New(r, models, &sunspec.Opts{Unit: byte(d.Unit)}), nil
		}
		p, ok := profiles.modbus[d.Profile]
		if !ok {
			return nil, fmt.Errorf("modbus profile %q not loaded", d.Profile)
		}
		return modbus.NewDevice(d.Name, byte(d.Unit), p, client, modbus.Options{
			Timeout: d.Timeout.D(), Retries: retries, Logger: log, // the driver names the device
		}), nil
	case "snmp":
		scfg, urlProfile, err := snmp.ParseURL(d.Address)
		if err != nil {
			return nil, err
		}
		scfg.Timeout, scfg.Retries, scfg.Logger = d.Timeout.D(), retries, dlog
		c, err := snmp.Dial(scfg)
		if err != nil {
			return nil, err
		}
		tr.snmp = append(tr.snmp, c)
		if name := snmpProfileName(d, urlProfile); name != "" {
			p, ok := profiles.snmp[name]
			if !ok {
				return nil, fmt.Errorf("snmp profile %q not loaded", name)
			}
			return snmp.NewDevice(d.Name, p, c, snmp.Options{Logger: dlog}), nil
		}
		if profiles.snmpAll == nil {
			return nil, errors.New("no SNMP profiles to choose from")
		}
		return &snmpAuto{name: d.Name, ps: profiles.snmpAll, c: c, log: dlog}, nil
	case "i2c":
		var p *i2c.Profile
		if d.Profile != "" {
			var ok bool
			if p, ok = profiles.i2c[d.Profile]; !ok {
				return nil, fmt.Errorf("i2c profile %q not loaded", d.Profile)
			}
		}
		return i2c.NewDeviceURL(d.Name, d.Address, p, tr.i2c, &i2c.Opts{Logger: dlog})
	}
	return nil, fmt.Errorf("driver %s is not supported", d.Driver)
}

// reopenEvery is how often a device that could not be opened is tried again.
const reopenEvery = 30 * time.Second

// reopenDevice stands for a device that could not be opened: its polls
// fail with the reason, and every so often it is opened again.
type reopenDevice struct {
	name  string
	open  func() (poll.Device, error)
	every time.Duration
	log   *slog.Logger

	dev  poll.Device
	err  error
	last time.Time
}

// Poll polls the device once it could be opened.
func (r *reopenDevice) Poll(ctx context.Context) ([]drivers.Reading, error) {
	if r.dev == nil && time.Since(r.last) >= r.every {
		r.last = time.Now()
		if r.dev, r.err = r.open(); r.err == nil {
			r.log.Info("device opened", "device", r.name)
		}
	}
	if r.dev == nil {
		return nil, fmt.Errorf("%s: cannot be opened: %w", r.name, r.err)
	}
	return r.dev.Poll(ctx)
}

// snmpAuto is an SNMP device whose profile is chosen from the agent's
// sysObjectID on the first poll that reaches it.
type snmpAuto struct {
	name string
	ps   *snmp.Profiles
	c    *snmp.Client
	log  *slog.Logger
	dev  *snmp.Device
}

// Poll resolves the profile once, then polls through it.
func (a *snmpAuto) Poll(ctx context.Context) ([]drivers.Reading, error) {
	if a.dev == nil {
		p, id, err := a.ps.Resolve(ctx, a.c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.name, err)
		}
		a.log.Info("snmp profile chosen", "profile", p.Name, "sys_object_id", id)
		a.dev = snmp.NewDevice(a.name, p, a.c, snmp.Options{Logger: a.log})
	}
	return a.dev.Poll(ctx)
}

// timeoutReader bounds each request of a reader that takes its deadline
// from the context (the SunSpec reader has no timeout of its own).
type timeoutReader struct {
	r       modbus.Reader
	timeout time.Duration
}

func (t timeoutReader) ReadRegisters(ctx context.Context, unit byte, table modbus.Table, addr, count uint16) ([]uint16, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	return t.r.ReadRegisters(ctx, unit, table, addr, count)
}

// alertStage is the poll sink of the agent: it forwards each poll to the
// publisher as telemetry and feeds its numeric readings to the detector,
// publishing the events on the alert topics and the active list. The
// detector is not safe for concurrent use; the stage serialises it.
type alertStage struct {
	pub *mqtt.Publisher
	log *slog.Logger

	mu     sync.Mutex
	det    *detect.Detector
	active map[string]detect.Event
}

func newAlertStage(det *detect.Detector, pub *mqtt.Publisher, log *slog.Logger) *alertStage {
	return &alertStage{pub: pub, log: log, det: det, active: map[string]detect.Event{}}
}

// Publish implements poll.Sink.
func (s *alertStage) Publish(device string, t time.Time, rs []drivers.Reading) {
	s.pub.Publish(device, t, rs)
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

// tick advances the detector's clock so that silent devices are noticed.
func (s *alertStage) tick(ctx context.Context, every time.Duration) {
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

// handle publishes events and tracks the active alerts; called with s.mu
// held. It reports whether the active list changed.
func (s *alertStage) handle(evs []detect.Event) bool {
	for _, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			s.log.Error("alert not encodable", "id", ev.ID, "err", err)
			continue
		}
		if err := s.pub.PublishAlert(ev.Device, b); err != nil {
			s.log.Error("alert not queued", "id", ev.ID, "err", err)
		}
		s.log.Warn("alert", "device", ev.Device, "subject", ev.Subject, "kind", ev.Kind, "level", ev.Level, "state", ev.State, "message", ev.Message)
		if ev.State == detect.StateCleared {
			delete(s.active, ev.ID)
		} else {
			s.active[ev.ID] = ev
		}
	}
	return len(evs) > 0
}

func (s *alertStage) publishActive() {
	list := make([]detect.Event, 0, len(s.active))
	for _, ev := range s.active {
		list = append(list, ev)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	b, err := json.Marshal(list)
	if err != nil {
		s.log.Error("active alerts not encodable", "err", err)
		return
	}
	s.pub.SetActiveAlerts(b)
}

func logStats(ctx context.Context, log *slog.Logger, sched *poll.Scheduler, pub *mqtt.Publisher, every time.Duration) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			logStatsOnce(log, sched, pub)
		}
	}
}

// deviceHealth is one device's entry in the state message.
type deviceHealth struct {
	Polls               uint64  `json:"polls"`
	Errors              uint64  `json:"errors"`
	Partial             uint64  `json:"partial,omitempty"`
	ConsecutiveFailures int     `json:"consecutive_failures"`
	Stale               bool    `json:"stale"`
	LastPollMS          float64 `json:"last_poll_ms"`
	LastError           string  `json:"last_error,omitempty"`
}

// publishStatus puts every device's health into the retained state
// message, {"online":true,...,"devices":{"bms-1":{"polls":...}}}, every
// interval.
func publishStatus(ctx context.Context, log *slog.Logger, sched *poll.Scheduler, pub *mqtt.Publisher, every time.Duration) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		devs := map[string]deviceHealth{}
		for _, st := range sched.Stats() {
			devs[st.Device] = deviceHealth{
				Polls: st.Polls, Errors: st.Errors, Partial: st.Partial, ConsecutiveFailures: st.ConsecutiveFailures,
				Stale: st.Stale, LastPollMS: float64(st.LastDuration.Microseconds()) / 1000, LastError: st.LastError,
			}
		}
		if err := pub.SetStatus(map[string]any{"devices": devs}); err != nil {
			log.Error("status not published", "err", err)
		}
	}
}

// logStatsOnce logs one line per device and one for the publisher.
func logStatsOnce(log *slog.Logger, sched *poll.Scheduler, pub *mqtt.Publisher) {
	for _, st := range sched.Stats() {
		log.Info("device stats", "device", st.Device, "polls", st.Polls, "errors", st.Errors, "partial", st.Partial,
			"consecutive_failures", st.ConsecutiveFailures, "overruns", st.Overruns,
			"last_duration", st.LastDuration.Round(time.Microsecond), "stale", st.Stale,
			"last_error", strings.TrimSpace(st.LastError))
	}
	ps := pub.Stats()
	log.Info("mqtt stats", "connected", ps.Connected, "connects", ps.Connects, "lost", ps.Lost, "connect_failures", ps.ConnectFailures,
		"telemetry_sent", ps.TelemetrySent, "telemetry_dropped", ps.TelemetryDropped,
		"alerts_sent", ps.AlertsSent, "queued", ps.TelemetryQueued+ps.AlertsQueued)
}
