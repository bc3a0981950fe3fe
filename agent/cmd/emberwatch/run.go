package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/emberwatch/emberwatch/agent/command"
	"github.com/emberwatch/emberwatch/agent/config"
	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/agent/metrics"
	"github.com/emberwatch/emberwatch/agent/mqtt"
	"github.com/emberwatch/emberwatch/agent/nutd"
	"github.com/emberwatch/emberwatch/agent/pipeline"
	"github.com/emberwatch/emberwatch/agent/poll"
	"github.com/emberwatch/emberwatch/agent/shed"
	"github.com/emberwatch/emberwatch/agent/supervise"
	"github.com/emberwatch/emberwatch/drivers"
	"github.com/emberwatch/emberwatch/drivers/i2c"
	"github.com/emberwatch/emberwatch/drivers/modbus"
	"github.com/emberwatch/emberwatch/drivers/modbus/sunspec"
	"github.com/emberwatch/emberwatch/drivers/snmp"
)

const runSynopsis = `-c FILE [-log-level LEVEL] [-log-format text|json] [-stats D] [-status D]

Runs the agent: polls every device of the site file on its own schedule,
feeds the readings to the detector and the alert lifecycle, and publishes
telemetry, alerts and the gateway's state over MQTT. With a shed: plan it
sends signed shutdowns to the hosts of the tiers an alert calls for and
switches their PDU outlets off once they are down; with nut: it serves a
read-only NUT endpoint; with metrics: a Prometheus one; with traps: it
receives SNMP traps and informs, each an alert and telemetry at once.
Operator commands
(acknowledge, silence, cancel, clear-fsd) are taken from the keys in
commands:. Stops on SIGINT or SIGTERM: sends what is queued, publishes the
offline state, and exits 0.
`

// runCmd is the agent. The wiring is explicit: site file -> transports
// (Modbus buses, SNMP sockets, I2C buses) and devices -> poll scheduler ->
// (detector -> alert lifecycle -> shed controller, MQTT publisher, NUT
// endpoint).
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
	return runAgent(ctx, e, log, runOptions{file: *file, statsEvery: *statsEvery, statusEvery: *statusEvery})
}

// runOptions are the agent's settings besides the site file.
type runOptions struct {
	file                    string
	statsEvery, statusEvery time.Duration
	// i2c, if set, stands for the gateway's /dev/i2c-N buses (the seam
	// through which tests inject simulated buses).
	i2c i2c.Buses
	// tick is how often the detector and the alert lifecycle see the
	// clock; a second if zero.
	tick time.Duration
}

// runAgent runs the agent of a site file until ctx ends.
func runAgent(ctx context.Context, e *env, log *slog.Logger, o runOptions) error {
	cfg, profiles, errs := checkSite(o.file)
	if len(errs) > 0 {
		for _, err := range errs {
			fmt.Fprintln(e.stderr, err)
		}
		return usagef("%s: %d errors (see emberwatch check)", o.file, len(errs))
	}
	dc, err := detectConfig(cfg)
	if err != nil {
		return inputError{err}
	}
	pub, err := newPublisher(cfg, e, log)
	if err != nil {
		return err
	}

	tr := newTransports(log, o.i2c)
	defer tr.Close()
	stage := pipeline.New(detect.New(dc), pub, log)
	sched := poll.New(stage, poll.Options{Logger: log})
	devs := map[string]poll.Device{}
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
		devs[d.Name] = dev
		if err := sched.Add(poll.Target{Name: d.Name, Device: dev, Interval: d.Interval.D(), Timeout: d.Interval.D()}); err != nil {
			return err
		}
	}
	act, err := newActions(cfg, e, log, profiles.plan, devs, pub, stage)
	if err != nil {
		return err
	}
	traps, err := newTraps(ctx, cfg, e, log, profiles, stage)
	if err != nil {
		return err
	}
	var metricsSrv *metrics.Server
	if cfg.Metrics.Listen != "" {
		reg := metrics.NewRegistry()
		metrics.NewAgent(reg, version).Bind(reg, sched.Stats, pub.Stats)
		if metricsSrv, err = metrics.Listen(cfg.Metrics.Listen, reg, log.With("component", "metrics")); err != nil {
			return inputError{err}
		}
	}
	notifier, err := supervise.New(supervise.Options{Getenv: e.getenv, PID: os.Getpid(), Logger: log})
	if err != nil {
		log.Warn("systemd watchdog off", "err", err)
	}
	defer notifier.Close()

	// The publisher outlives the signal: it sends what is queued and the
	// offline state in Close below.
	pubCtx, stopPub := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPub()
	if err := pub.Start(pubCtx); err != nil {
		return err
	}
	log.Info("agent started", "site", cfg.Site, "gateway", cfg.Gateway, "devices", len(cfg.Devices), "broker", cfg.MQTT.Broker,
		"shed_plan", profiles.plan != nil, "nut", cfg.NUT.Enabled)
	runCtx, stopAux := context.WithCancel(ctx)
	var aux sync.WaitGroup
	act.start(runCtx, &aux)
	if err := startTraps(runCtx, &aux, traps); err != nil {
		stopAux()
		aux.Wait()
		act.close()
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = pub.Close(closeCtx)
		return err
	}
	tick := o.tick
	if tick <= 0 {
		tick = time.Second
	}
	aux.Go(func() { stage.Run(runCtx, tick) })
	aux.Go(func() { logStats(runCtx, log, sched, pub, o.statsEvery) })
	aux.Go(func() { publishStatus(runCtx, log, sched, pub, o.statusEvery) })
	if metricsSrv != nil {
		aux.Go(func() {
			if err := metricsSrv.Serve(runCtx); err != nil {
				log.Error("metrics endpoint stopped", "err", err)
			}
		})
		log.Info("metrics endpoint listening", "listen", metricsSrv.Addr().String())
	}
	healthy := pollHealth(cfg, sched)
	aux.Go(func() { _ = notifier.Watchdog(runCtx, healthy) })
	if err := notifier.Ready(fmt.Sprintf("polling %d devices", len(cfg.Devices))); err != nil {
		log.Warn("systemd not told the agent is ready", "err", err)
	}

	_ = sched.Run(ctx) // returns when ctx is done and the polls in flight have returned
	_ = notifier.Stopping("flushing and stopping")
	stopAux()
	aux.Wait()
	act.close()

	logStatsOnce(log, sched, pub)
	if traps != nil {
		st := traps.r.Stats()
		traps.log.Info("trap stats", "received", st.Received, "dropped", st.Dropped)
	}
	flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pub.Close(flushCtx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	log.Info("agent stopped")
	return nil
}

// pollHealth is the watchdog's health check: the poll loop finished a
// poll of some device within three of the shortest poll intervals (and at
// least 10s). Failing polls count; a stuck scheduler does not.
func pollHealth(cfg *config.Config, sched *poll.Scheduler) supervise.HealthFunc {
	if len(cfg.Devices) == 0 {
		return func() error { return nil }
	}
	shortest := cfg.Devices[0].Interval.D()
	for _, d := range cfg.Devices[1:] {
		shortest = min(shortest, d.Interval.D())
	}
	return supervise.Recent(func() time.Time { return supervise.LastPoll(sched.Stats()) }, max(3*shortest, 10*time.Second), nil)
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
		Keepalive: m.Keepalive.D(), Queue: m.Queue, SpoolDir: spoolDir(cfg, e.getenv, log),
		Version: version, Logger: log,
	}
	if o.TLS, err = siteTLS(cfg); err != nil {
		return nil, err
	}
	return mqtt.New(o)
}

// spoolDir is where alerts wait on disk for the broker: the site file's
// mqtt.spool_dir, else the service's state directory (systemd's
// StateDirectory= sets $STATE_DIRECTORY), else none, with a warning that
// alerts are then kept in memory only.
func spoolDir(cfg *config.Config, getenv func(string) string, log *slog.Logger) string {
	if cfg.MQTT.SpoolDir != "" {
		return cfg.Resolve(cfg.MQTT.SpoolDir)
	}
	if st := getenv("STATE_DIRECTORY"); st != "" {
		// systemd may pass several, colon-separated; the first is ours.
		return filepath.Join(strings.SplitN(st, ":", 2)[0], "spool")
	}
	log.Warn("no mqtt.spool_dir: alerts wait for the broker in memory only and are lost if the agent stops")
	return ""
}

// siteTLS is the TLS configuration of the site's broker, nil for a plain
// connection.
func siteTLS(cfg *config.Config) (*tls.Config, error) {
	m := cfg.MQTT
	if !m.UsesTLS() {
		return nil, nil
	}
	t := m.TLS
	c, err := mqtt.TLSConfig(mqtt.TLSFiles{
		CAFile: cfg.Resolve(t.CAFile), CertFile: cfg.Resolve(t.CertFile), KeyFile: cfg.Resolve(t.KeyFile),
		ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify,
	})
	if err != nil {
		return nil, inputError{err}
	}
	return c, nil
}

// transports are the buses and sockets the agent opens for its devices;
// the devices borrow them, and the agent closes them at exit.
type transports struct {
	modbus *modbus.Buses
	i2c    i2c.Buses
	host   *i2c.HostBuses // the gateway's buses, nil when others were given
	snmp   []*snmp.Client
}

// newTransports returns the agent's transports; I2C devices use buses, or
// the gateway's /dev/i2c-N when it is nil.
func newTransports(log *slog.Logger, buses i2c.Buses) *transports {
	t := &transports{modbus: modbus.NewBuses(modbus.ClientOptions{Logger: log}), i2c: buses}
	if buses == nil {
		t.host = &i2c.HostBuses{}
		t.i2c = t.host
	}
	return t
}

// Close closes every transport.
func (t *transports) Close() error {
	errs := []error{t.modbus.Close()}
	if t.host != nil {
		errs = append(errs, t.host.Close())
	}
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

	mu   sync.Mutex // guards dev, read by the outlet switch
	dev  poll.Device
	err  error
	last time.Time
}

// Poll polls the device once it could be opened.
func (r *reopenDevice) Poll(ctx context.Context) ([]drivers.Reading, error) {
	dev := r.current()
	if dev == nil && time.Since(r.last) >= r.every {
		r.last = time.Now()
		if dev, r.err = r.open(); r.err == nil {
			r.log.Info("device opened", "device", r.name)
			r.mu.Lock()
			r.dev = dev
			r.mu.Unlock()
		}
	}
	if dev == nil {
		return nil, fmt.Errorf("%s: cannot be opened: %w", r.name, r.err)
	}
	return dev.Poll(ctx)
}

// current is the opened device, or nil.
func (r *reopenDevice) current() poll.Device {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dev
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

// actions is what the agent does about alerts besides publishing them: the
// shed controller (signed commands to the hosts, host acknowledgements,
// PDU outlets off), the NUT endpoint, and operator commands. Shed commands,
// acknowledgements and operator commands travel over an MQTT connection of
// their own (actionLink), so that they never wait behind telemetry.
type actions struct {
	cfg   *config.Config
	log   *slog.Logger
	stage *pipeline.Stage

	ctl    *shed.Controller // nil without a shed plan
	alerts chan detect.Event
	nut    *nutd.Server      // nil when the endpoint is off
	ops    *command.Verifier // nil without operator keys
	opsIn  chan []byte
	link   *actionLink // nil when there is nothing to send or receive
}

// alertQueue is how many lifecycle updates may wait for the shed
// controller; the stage waits up to pipeline.ShedWait when it is full
// rather than lose one.
const alertQueue = 1024

// newActions builds the shed controller of plan (nil: none), the NUT
// endpoint and the operator command verifier of the site, and wires them
// to the stage. devs are the site's devices by name, for switching PDU
// outlets; pub is the stage's publisher, whose disk-backed queue carries
// the shed commands.
func newActions(cfg *config.Config, e *env, log *slog.Logger, plan *shed.Plan, devs map[string]poll.Device, pub *mqtt.Publisher, stage *pipeline.Stage) (*actions, error) {
	a := &actions{cfg: cfg, log: log, stage: stage}
	if cfg.NUT.Enabled {
		a.nut = nutd.New(nutd.Options{MaxClients: cfg.NUT.MaxClients, Logger: log.With("component", "nut")})
		nutDevices := map[string]bool{}
		if plan != nil {
			for _, g := range plan.Groups {
				for _, d := range g.FedBy {
					nutDevices[d] = true
				}
			}
		}
		stage.SetNUT(a.nut, nutDevices)
	}
	cc := cfg.CommandsResolved()
	var subs []actionSub
	if plan != nil {
		signer, err := cc.Signer(cfg.Site, cfg.Gateway)
		if err != nil {
			return nil, inputError{err}
		}
		eng, err := shed.NewEngine(plan)
		if err != nil {
			return nil, inputError{err}
		}
		a.link = &actionLink{log: log}
		opts := shed.ControllerOptions{
			Site: cfg.Site, Signer: signer, Publisher: &reliableShed{pub: pub, link: a.link}, Switch: outletSwitch(devs),
			StatusTopic: mqtt.NewTopics(cfg.Site, cfg.Gateway).Root + "/shed",
			Logger:      log.With("component", "shed"),
		}
		if a.nut != nil {
			opts.OnFSD = a.nut.SetFSD
		}
		if a.ctl, err = shed.NewController(eng, opts); err != nil {
			return nil, err
		}
		a.alerts = make(chan detect.Event, alertQueue)
		stage.SetShed(a.alerts)
		subs = append(subs, actionSub{command.AckWildcard(cfg.Site), a.onAck})
	}
	if len(cc.OperatorKeys) > 0 {
		v, err := cc.OperatorVerifier(a.acceptOperator)
		if err != nil {
			return nil, inputError{err}
		}
		a.ops, a.opsIn = v, make(chan []byte, 64)
		subs = append(subs, actionSub{command.OperatorTopic(cfg.Site, cfg.Gateway), a.onOperator})
	}
	if len(subs) == 0 {
		return a, nil
	}
	if a.link == nil {
		a.link = &actionLink{log: log}
	}
	if err := a.link.init(cfg, e, subs); err != nil {
		return nil, err
	}
	return a, nil
}

// start connects the link and starts the controller, the NUT endpoint and
// the operator command worker; they stop when ctx ends.
func (a *actions) start(ctx context.Context, wg *sync.WaitGroup) {
	if a.nut != nil {
		addr := nutListen(a.cfg)
		wg.Go(func() {
			if err := a.nut.ListenAndServe(ctx, addr); err != nil && ctx.Err() == nil {
				a.log.Error("NUT endpoint stopped", "listen", addr, "err", err)
			}
		})
		a.log.Info("NUT endpoint listening", "listen", addr)
	}
	if a.link != nil {
		a.link.connect()
	}
	if a.ctl != nil {
		wg.Go(func() { a.ctl.Run(ctx, 0) })
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case ev := <-a.alerts:
					a.ctl.Alert(ctx, ev)
				}
			}
		})
	}
	if a.ops != nil {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case data := <-a.opsIn:
					a.operator(ctx, data)
				}
			}
		})
	}
}

// close disconnects the link.
func (a *actions) close() {
	if a.link != nil {
		a.link.close()
	}
}

// onAck hands a host acknowledgement to the controller (paho's goroutine).
func (a *actions) onAck(_ string, payload []byte) {
	var ack command.Ack
	if err := json.Unmarshal(payload, &ack); err != nil {
		a.log.Warn("malformed acknowledgement", "err", err)
		return
	}
	a.ctl.Enqueue(ack)
}

// onOperator queues an operator command for the worker (paho's goroutine
// must not wait for the broker).
func (a *actions) onOperator(_ string, payload []byte) {
	select {
	case a.opsIn <- append([]byte(nil), payload...):
	default:
		a.log.Error("operator command dropped: too many waiting")
	}
}

// acceptOperator refuses, before its sequence is spent, an operator
// command for another site or one this gateway cannot carry out.
func (a *actions) acceptOperator(c command.Command) error {
	if c.Site != a.cfg.Site {
		return fmt.Errorf("operator command for site %q, this is %q", c.Site, a.cfg.Site)
	}
	switch c.Action {
	case command.ActionAcknowledge, command.ActionSilence, command.ActionUnsilence:
		return nil
	case command.ActionCancel, command.ActionClearFSD:
		if a.ctl == nil {
			return fmt.Errorf("operator command %s: this gateway has no shed plan", c.Action)
		}
		return nil
	}
	return fmt.Errorf("operator command: action %q is not acknowledge, silence, unsilence, cancel or clear-fsd", c.Action)
}

// operatorResult is published on <operator topic>/result for every
// operator command received, carried out or refused.
type operatorResult struct {
	Action  string    `json:"action"`
	By      string    `json:"by"`
	Seq     int64     `json:"seq"`
	AlertID string    `json:"alert_id,omitempty"`
	OK      bool      `json:"ok"`
	Reject  string    `json:"reject,omitempty"`
	Error   string    `json:"error,omitempty"`
	Time    time.Time `json:"time"`
}

// operator verifies and carries out one operator command, logs the result
// and publishes it.
func (a *actions) operator(ctx context.Context, data []byte) {
	now := time.Now()
	c, err := a.ops.Verify(data, now)
	if err == nil {
		switch c.Action {
		case command.ActionCancel, command.ActionClearFSD:
			err = a.ctl.Operator(ctx, c)
		default:
			err = a.stage.Operator(c)
		}
	}
	res := operatorResult{Action: c.Action, By: c.Gateway, Seq: c.Seq, AlertID: c.Reason.ID, OK: err == nil, Time: now.UTC()}
	if err != nil {
		res.Error = err.Error()
		res.Reject = command.RejectReason(err)
		a.log.Warn("operator command refused", "action", c.Action, "by", c.Gateway, "seq", c.Seq, "err", err)
	} else {
		a.log.Warn("operator command", "action", c.Action, "by", c.Gateway, "seq", c.Seq, "alert", c.Reason.ID)
	}
	b, _ := json.Marshal(res)
	if err := a.link.Publish(ctx, command.OperatorTopic(a.cfg.Site, a.cfg.Gateway)+"/result", b, false); err != nil {
		a.log.Warn("operator command result not published", "err", err)
	}
}

// outletSwitch switches the outlets of the site's SNMP PDUs through their
// profiles' allow-listed outlet control (shed.PDUs), looking the device up
// at each switch: a PDU that could not be opened at start may be by then.
func outletSwitch(devs map[string]poll.Device) shed.OutletSwitch {
	return outletSwitchFunc(func(ctx context.Context, pdu string, n int, on bool) (bool, error) {
		dev := devs[pdu]
		if r, ok := dev.(*reopenDevice); ok {
			dev = r.current()
		}
		pdus := shed.PDUs{}
		if c, ok := dev.(shed.OutletControl); ok {
			pdus[pdu] = c
		}
		return pdus.SetOutlet(ctx, pdu, n, on)
	})
}

type outletSwitchFunc func(ctx context.Context, pdu string, n int, on bool) (bool, error)

func (f outletSwitchFunc) SetOutlet(ctx context.Context, pdu string, n int, on bool) (bool, error) {
	return f(ctx, pdu, n, on)
}

// actionSub is a subscription of the action link.
type actionSub struct {
	topic   string
	handler func(topic string, payload []byte)
}

// actionPublishTimeout bounds one publication of the action link.
const actionPublishTimeout = 10 * time.Second

// actionLink is the agent's MQTT connection for shed commands, host
// acknowledgements and operator commands, with the site's broker
// settings (credentials, TLS). It connects in the background and keeps
// reconnecting; it implements shed.Publisher.
type actionLink struct {
	log *slog.Logger
	c   paho.Client
}

func (l *actionLink) init(cfg *config.Config, e *env, subs []actionSub) error {
	m := cfg.MQTT
	pw, err := m.Password(cfg, e.getenv)
	if err != nil {
		return inputError{err}
	}
	tc, err := siteTLS(cfg)
	if err != nil {
		return err
	}
	filters := map[string]byte{}
	handlers := map[string]func(string, []byte){}
	for _, s := range subs {
		filters[s.topic] = 1
		handlers[s.topic] = s.handler
	}
	// One SUBSCRIBE for every filter, each message handed to the handler
	// of the filter it matches. (Subscribing filter by filter lost every
	// message of the second filter on the embedded broker once retained
	// acknowledgements flowed on the first.)
	subscribe := func(c paho.Client) {
		if len(filters) == 0 {
			return
		}
		tok := c.SubscribeMultiple(filters, nil)
		if !tok.WaitTimeout(actionPublishTimeout) || tok.Error() != nil {
			l.log.Error("subscribe failed", "err", tok.Error())
		}
	}
	co := paho.NewClientOptions().
		AddBroker(m.Broker).
		SetClientID(m.ClientID + "-actions").
		SetKeepAlive(m.Keepalive.D()).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(5 * time.Second).
		SetConnectTimeout(10 * time.Second).
		SetCleanSession(true).
		// Handlers run in arrival order (operator sequences must not be
		// reordered); they only queue, never wait.
		SetOrderMatters(true).
		SetDefaultPublishHandler(func(_ paho.Client, msg paho.Message) {
			for f, h := range handlers {
				if topicMatch(f, msg.Topic()) {
					h(msg.Topic(), msg.Payload())
				}
			}
		}).
		SetOnConnectHandler(func(c paho.Client) {
			l.log.Info("mqtt action link connected")
			// paho calls this on its own goroutine; subscribing waits for the
			// broker, which must not hold up the connection's reader.
			go subscribe(c)
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			l.log.Warn("mqtt action link lost", "err", err)
		})
	if m.Username != "" {
		co.SetUsername(m.Username)
		co.SetPassword(pw)
	}
	if tc != nil {
		co.SetTLSConfig(tc)
	}
	l.c = paho.NewClient(co)
	return nil
}

// connect starts connecting; it does not wait for the broker.
func (l *actionLink) connect() {
	if l.c != nil {
		l.c.Connect()
	}
}

// Publish sends payload at QoS 1 and waits for the broker's
// acknowledgement, at most actionPublishTimeout.
func (l *actionLink) Publish(ctx context.Context, topic string, payload []byte, retain bool) error {
	if l.c == nil {
		return errors.New("mqtt action link not set up")
	}
	ctx, cancel := context.WithTimeout(ctx, actionPublishTimeout)
	defer cancel()
	tok := l.c.Publish(topic, 1, retain, payload)
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("publish %s: %w", topic, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("publish %s: %w", topic, ctx.Err())
	}
}

func (l *actionLink) close() {
	if l.c != nil {
		l.c.Disconnect(250)
	}
}

var _ shed.Publisher = (*actionLink)(nil)

// reliableShed publishes the shed controller's commands and outcomes
// through the publisher's disk-backed queue, so they are delivered at least
// once, in order, and survive a broker outage or a restart (a host still
// refuses one that arrives stale); the retained shed status, where only the
// latest matters, goes straight out on the action link.
type reliableShed struct {
	pub  *mqtt.Publisher
	link *actionLink
}

// Publish implements shed.Publisher.
func (r *reliableShed) Publish(ctx context.Context, topic string, payload []byte, retain bool) error {
	if retain || r.pub == nil {
		return r.link.Publish(ctx, topic, payload, retain)
	}
	if err := r.pub.PublishReliable("shed", topic, payload, false); err != nil {
		return fmt.Errorf("queue %s: %w", topic, err)
	}
	return nil
}

var _ shed.Publisher = (*reliableShed)(nil)

// topicMatch reports whether an MQTT topic matches a filter with + and #.
func topicMatch(filter, topic string) bool {
	fs, ts := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, f := range fs {
		if f == "#" {
			return true
		}
		if i >= len(ts) || (f != "+" && f != ts[i]) {
			return false
		}
	}
	return len(fs) == len(ts)
}

// trapReceiver is the agent's SNMP trap receiver and where it listens;
// nil when traps: is off.
type trapReceiver struct {
	r      *snmp.TrapReceiver
	listen string
	log    *slog.Logger
}

// newTraps builds the trap receiver of the site file (nil when traps: is
// off): the accepted communities and v3 users, every SNMP profile's traps:
// list, and the site's SNMP devices by address, so that a notification is
// attributed to the device that sent it. Each accepted notification is
// handed to the stage at once (trapToStage).
func newTraps(ctx context.Context, cfg *config.Config, e *env, log *slog.Logger, profiles *siteProfiles, stage *pipeline.Stage) (*trapReceiver, error) {
	tc := cfg.Traps
	if !tc.Enabled {
		return nil, nil
	}
	tlog := log.With("component", "traps")
	ps := profiles.snmpAll
	if ps == nil {
		var err error
		if ps, err = loadSNMPAll(cfg, map[string]*profileSet{}); err != nil {
			return nil, inputError{fmt.Errorf("traps: %w", err)}
		}
	}
	rc := snmp.TrapConfig{Communities: tc.Communities, Profiles: ps, Devices: trapDevices(ctx, cfg, tlog), Logger: tlog}
	for i := range tc.Users {
		cr, err := cfg.Credentials(i, e.getenv)
		if err != nil {
			return nil, inputError{err}
		}
		rc.Users = append(rc.Users, snmp.Config{User: cr.User, AuthProto: cr.AuthProtocol, AuthPass: cr.AuthPassword,
			PrivProto: cr.PrivProtocol, PrivPass: cr.PrivPassword})
	}
	site, gateway := cfg.Site, cfg.Gateway
	r, err := snmp.NewTrapReceiver(rc, func(ev snmp.Event) { trapToStage(stage, log, site, gateway, ev) })
	if err != nil {
		return nil, inputError{fmt.Errorf("traps: %w", err)}
	}
	if cfg.TrapListenIsLoopback() {
		tlog.Info("trap receiver on the loopback interface: only senders on the gateway reach it (traps.listen)", "listen", cfg.TrapListen())
	} else if len(tc.Communities) > 0 {
		tlog.Warn("trap receiver reachable from the network: v1/v2c communities travel in clear text, prefer v3 users", "listen", cfg.TrapListen())
	}
	return &trapReceiver{r: r, listen: cfg.TrapListen(), log: tlog}, nil
}

// startTraps binds the receiver's socket and receives until ctx ends; an
// address it cannot bind (in use, or port 162 without the privilege) is
// an error of the agent's start.
func startTraps(ctx context.Context, wg *sync.WaitGroup, t *trapReceiver) error {
	if t == nil {
		return nil
	}
	failed := make(chan error, 1)
	wg.Go(func() {
		if err := t.r.Listen(ctx, t.listen); err != nil {
			failed <- err
		}
	})
	select {
	case <-t.r.Ready():
		t.log.Info("trap receiver listening", "listen", t.r.Addr().String())
		return nil
	case err := <-failed:
		return fmt.Errorf("traps: %w", err)
	case <-ctx.Done():
		return nil
	}
}

// trapDevices maps the IP addresses of the site's SNMP devices to their
// names. A host name is resolved once, here; one that does not resolve is
// logged, and its traps are attributed to their source address.
func trapDevices(ctx context.Context, cfg *config.Config, log *slog.Logger) map[string]string {
	m := map[string]string{}
	for _, d := range cfg.Devices {
		if d.Driver != "snmp" {
			continue
		}
		sc, _, err := snmp.ParseURL(d.Address)
		if err != nil {
			continue
		}
		host := sc.Target
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		add := func(ip string) {
			if prev, ok := m[ip]; ok && prev != d.Name {
				log.Info("two snmp devices at one address: its traps are attributed to the first", "address", ip, "device", prev, "also", d.Name)
				return
			}
			m[ip] = d.Name
		}
		if ip := net.ParseIP(host); ip != nil {
			add(ip.String())
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ips, err := net.DefaultResolver.LookupIPAddr(rctx, host)
		cancel()
		if err != nil {
			log.Warn("snmp device address does not resolve: its traps carry the sender's address", "device", d.Name, "host", host, "err", err)
			continue
		}
		for _, ip := range ips {
			add(ip.IP.String())
		}
	}
	return m
}

// trapSubject is the subject of the alert a notification of kind raises:
// all of a UPS's power notifications (on battery, battery low, overload,
// power restored) are one alert that escalates and clears.
func trapSubject(kind string) string {
	switch kind {
	case "power":
		return "ups"
	case detect.KindOverTemperature, detect.KindEnvironment:
		return "probe"
	}
	return "snmp.trap"
}

// trapEvent is the alert event (CONTRACTS section 4) of a notification a
// profile maps; false for one no profile knows.
func trapEvent(site, gateway string, ev snmp.Event) (detect.Event, bool) {
	if !ev.Known || ev.Kind == "" {
		return detect.Event{}, false
	}
	state := detect.StateRaised
	if ev.State == detect.StateCleared {
		state = detect.StateCleared
	}
	subject := trapSubject(ev.Kind)
	evidence := map[string]any{"source": "snmp_trap", "trap_oid": ev.TrapOID, "agent": ev.Agent, "profile": ev.Profile}
	if ev.Inform {
		evidence["inform"] = true
	}
	if len(ev.Vars) > 0 {
		vars := make(map[string]string, len(ev.Vars))
		for _, v := range ev.Vars {
			vars[strings.TrimPrefix(v.Name, ".")] = trapValue(v.Value)
		}
		evidence["varbinds"] = vars
	}
	t := ev.Time.UTC()
	return detect.Event{
		ID: trapAlertID(ev.Device, subject, ev.Kind, t), Time: t, Site: site, Gateway: gateway,
		Device: ev.Device, Subject: subject, Kind: ev.Kind, Level: ev.Level, State: state,
		Message: ev.Message, Evidence: evidence,
	}, true
}

// trapValue prints a varbind's value for the evidence.
func trapValue(v any) string {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// trapAlertID derives an alert id from device, subject, kind and time
// (FNV-1a, 64 bits, hex), as the detector does; the lifecycle keeps the
// first one for the alert's later events.
func trapAlertID(device, subject, kind string, t time.Time) string {
	h := fnv.New64a()
	for _, s := range []string{device, subject, kind, strconv.FormatInt(t.UnixNano(), 10)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// trapToStage takes one notification from the receiver's goroutine: its
// readings go out as telemetry of the device (and to the NUT endpoint),
// and its alert event through the lifecycle to the alert topics and the
// shed controller, without waiting for the next poll. log is the stage's
// logger.
func trapToStage(stage *pipeline.Stage, log *slog.Logger, site, gateway string, ev snmp.Event) {
	if len(ev.Readings) > 0 {
		stage.Publish(ev.Device, ev.Time, ev.Readings)
	}
	a, ok := trapEvent(site, gateway, ev)
	if !ok {
		log.Info("snmp notification no profile maps", "device", ev.Device, "agent", ev.Agent, "trap_oid", ev.TrapOID)
		return
	}
	stage.Alert(a)
}
