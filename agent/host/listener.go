package host

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/emberwatch/emberwatch/agent/command"
)

// Runner runs the shutdown command. Implementations must return once the
// command has been started or has finished; ctx bounds the wait.
type Runner interface {
	Run(ctx context.Context, argv []string) error
}

// ExecRunner runs the command with os/exec and waits for it.
type ExecRunner struct{}

// Run runs argv[0] with the rest as arguments.
func (ExecRunner) Run(ctx context.Context, argv []string) error {
	if len(argv) == 0 {
		return errors.New("host: empty shutdown command")
	}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("host: %v: %w: %s", argv, err, out)
	}
	return nil
}

// notForUs rejects a verified command addressed elsewhere.
type notForUs struct{ reason, msg string }

func (e notForUs) Error() string { return e.msg }

// accept is the Verifier's Accept: the command must be for this site and
// group, and an action a host does.
func (l *Listener) accept(c command.Command) error {
	switch {
	case c.Site != l.cfg.Site:
		return notForUs{"wrong-site", fmt.Sprintf("command for site %q, this host is in %q", c.Site, l.cfg.Site)}
	case c.Group != l.cfg.Group:
		return notForUs{"wrong-group", fmt.Sprintf("command for group %q, this host is in %q", c.Group, l.cfg.Group)}
	case c.Action != command.ActionShutdown && c.Action != command.ActionCancel:
		return notForUs{"unknown-action", fmt.Sprintf("action %q is not shutdown or cancel", c.Action)}
	}
	return nil
}

// Result is what became of one message, reported to Options.OnResult.
type Result struct {
	// Command is the command as far as it could be parsed.
	Command command.Command
	// Err is nil for an accepted command, else why it was rejected.
	Err error
	// Received is when the message reached the listener.
	Received time.Time
}

// Options are the listener's collaborators; the zero value means defaults.
type Options struct {
	// Runner runs the shutdown command; ExecRunner if nil. Not used in
	// dry-run mode.
	Runner Runner
	// Logger receives accepted and rejected commands; slog.Default() if nil.
	Logger *slog.Logger
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// OnResult, if set, is called for every message after it was
	// verified, from the listener's goroutine.
	OnResult func(Result)
	// Keys are trusted public keys in addition to Config.PublicKeys.
	Keys []ed25519.PublicKey
}

// Listener is one host's listener. Run it once.
type Listener struct {
	cfg    Config
	opts   Options
	log    *slog.Logger
	verify *command.Verifier
	topic  string
	ack    string

	msgs chan received

	mu      sync.Mutex
	client  paho.Client
	pending *pendingShutdown
	done    bool // shutdown has run
}

type received struct {
	payload []byte
	at      time.Time
}

type pendingShutdown struct {
	cmd    command.Command
	cancel chan struct{}
}

// New returns a listener, loading the trusted public keys.
func New(cfg Config, opts Options) (*Listener, error) {
	vc := cfg
	if len(vc.PublicKeys) == 0 && len(opts.Keys) > 0 {
		vc.PublicKeys = []string{"(Options.Keys)"}
	}
	if err := vc.Validate(); err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	if len(cfg.Shutdown) == 0 {
		cfg.Shutdown = DefaultShutdown()
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "emberwatch-host-" + cfg.Site + "-" + cfg.Host
	}
	if opts.Runner == nil {
		opts.Runner = ExecRunner{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	keys := append([]ed25519.PublicKey(nil), opts.Keys...)
	for _, f := range cfg.PublicKeys {
		k, err := command.LoadPublicKey(f)
		if err != nil {
			return nil, fmt.Errorf("host: %w", err)
		}
		keys = append(keys, k)
	}
	l := &Listener{
		cfg: cfg, opts: opts,
		log:   opts.Logger.With("host", cfg.Host, "group", cfg.Group),
		topic: command.ShedTopic(cfg.Site, cfg.Group),
		ack:   command.AckTopic(cfg.Site, cfg.Host),
		msgs:  make(chan received, 64),
	}
	v, err := command.NewVerifier(command.VerifierOptions{Keys: keys, MaxAge: cfg.MaxAge, MaxSkew: cfg.MaxSkew,
		StateFile: cfg.StateFile, Accept: l.accept})
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	l.verify = v
	return l, nil
}

// Run connects to the broker (retrying until ctx ends), subscribes, and
// handles commands until ctx is done or, in dry-run mode with
// DryRunOfflineAfter, until the simulated host has stopped. Before it
// returns it publishes a retained offline acknowledgement and
// disconnects.
func (l *Listener) Run(ctx context.Context) error {
	will, _ := json.Marshal(l.newAck(command.AckOffline, nil))
	co := paho.NewClientOptions().
		AddBroker(l.cfg.Broker).
		SetClientID(l.cfg.ClientID).
		SetKeepAlive(15*time.Second).
		SetCleanSession(false).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(10*time.Second).
		SetOrderMatters(false).
		SetWill(l.ack, string(will), 1, true).
		SetOnConnectHandler(l.onConnect).
		SetDefaultPublishHandler(l.enqueue). // queued messages of the persistent session
		SetConnectionLostHandler(func(_ paho.Client, err error) { l.log.Warn("mqtt connection lost", "err", err) })
	if l.cfg.Username != "" {
		co.SetUsername(l.cfg.Username)
		co.SetPassword(l.cfg.Password)
	}
	c := paho.NewClient(co)
	l.mu.Lock()
	l.client = c
	l.mu.Unlock()
	c.Connect() // retries in the background; onConnect subscribes

	stop := make(chan struct{})
	var stopOnce sync.Once
	goOffline := func() { stopOnce.Do(func() { close(stop) }) }
	// A pending shutdown ends with Run: its wait and a dry run's offline
	// delay are cut short, and Run waits for it, so that nothing of it
	// (an acknowledgement, a log line) comes after the offline
	// acknowledgement or after Run has returned.
	runCtx, cancel := context.WithCancel(ctx)
	var shutdowns sync.WaitGroup
	defer func() {
		cancel()
		shutdowns.Wait()
		l.publish(l.newAck(command.AckOffline, nil), true)
		c.Disconnect(250)
		l.log.Info("listener stopped")
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-stop:
			return nil
		case m := <-l.msgs:
			l.handle(runCtx, m, goOffline, &shutdowns)
		}
	}
}

func (l *Listener) onConnect(c paho.Client) {
	l.log.Info("mqtt connected", "broker", l.cfg.Broker, "topic", l.topic)
	tok := c.Subscribe(l.topic, 1, l.enqueue)
	if tok.WaitTimeout(10*time.Second) && tok.Error() != nil {
		l.log.Error("subscribe failed", "topic", l.topic, "err", tok.Error())
	}
	// The presence goes at QoS 0: paho calls this handler before it
	// re-sends the session's stored QoS 1 messages, and marks a message
	// it re-sends while its first send may still be under way
	// (eclipse-paho/paho.mqtt.golang#703). A retained presence needs no
	// redelivery; the broker keeps the newest.
	l.publishQoS(l.newAck(command.AckOnline, nil), 0, true)
}

// enqueue hands a message to Run's goroutine; paho's callbacks must not
// block.
func (l *Listener) enqueue(_ paho.Client, m paho.Message) {
	if m.Topic() != l.topic {
		return
	}
	select {
	case l.msgs <- received{payload: m.Payload(), at: l.opts.Now()}:
	default:
		l.log.Warn("command queue full, message dropped", "topic", m.Topic())
	}
}

// handle verifies and acts on one message.
func (l *Listener) handle(ctx context.Context, m received, goOffline func(), shutdowns *sync.WaitGroup) {
	cmd, err := l.verify.Verify(m.payload, l.opts.Now())
	reason := command.RejectReason(err)
	var nfu notForUs
	if errors.As(err, &nfu) {
		reason = nfu.reason
	}
	if l.opts.OnResult != nil {
		l.opts.OnResult(Result{Command: cmd, Err: err, Received: m.at})
	}
	if err != nil {
		l.log.Warn("command rejected", "reason", reason, "gateway", cmd.Gateway, "seq", cmd.Seq, "err", err)
		a := l.newAck(command.AckRejected, &cmd)
		a.Reason, a.Detail = reason, err.Error()
		l.publish(a, false)
		return
	}
	l.log.Info("command accepted", "action", cmd.Action, "gateway", cmd.Gateway, "seq", cmd.Seq, "tier", cmd.Tier,
		"alert", cmd.Reason.ID, "kind", cmd.Reason.Kind, "level", cmd.Reason.Level, "device", cmd.Reason.Device)
	l.publish(l.newAck(command.AckReceived, &cmd), false)
	switch cmd.Action {
	case command.ActionCancel:
		l.mu.Lock()
		p := l.pending
		l.pending = nil
		l.mu.Unlock()
		if p != nil {
			close(p.cancel)
			l.log.Info("pending shutdown cancelled", "gateway", cmd.Gateway, "seq", cmd.Seq)
			l.publish(l.newAck(command.AckCancelled, &cmd), false)
		}
	case command.ActionShutdown:
		l.mu.Lock()
		if l.pending != nil || l.done {
			l.mu.Unlock()
			return // already on its way down
		}
		p := &pendingShutdown{cmd: cmd, cancel: make(chan struct{})}
		l.pending = p
		l.mu.Unlock()
		shutdowns.Go(func() { l.shutdown(ctx, p, goOffline) })
	}
}

// shutdown waits out the delay, then runs the shutdown command.
func (l *Listener) shutdown(ctx context.Context, p *pendingShutdown, goOffline func()) {
	if l.cfg.Delay > 0 {
		t := time.NewTimer(l.cfg.Delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return
		case <-p.cancel:
			return
		case <-t.C:
		}
	}
	l.mu.Lock()
	if l.pending != p {
		l.mu.Unlock()
		return
	}
	l.pending, l.done = nil, true
	l.mu.Unlock()
	l.publish(l.newAck(command.AckShuttingDown, &p.cmd), false)
	if l.cfg.DryRun {
		l.log.Warn("dry run: would shut down now", "command", l.cfg.Shutdown, "gateway", p.cmd.Gateway, "seq", p.cmd.Seq)
		if d := l.cfg.DryRunOfflineAfter; d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
				goOffline()
			}
		}
		return
	}
	l.log.Warn("shutting down", "command", l.cfg.Shutdown, "gateway", p.cmd.Gateway, "seq", p.cmd.Seq)
	if err := l.opts.Runner.Run(ctx, l.cfg.Shutdown); err != nil {
		l.log.Error("shutdown command failed", "err", err)
		a := l.newAck(command.AckRejected, &p.cmd)
		a.Reason, a.Detail = "shutdown-failed", err.Error()
		l.publish(a, false)
		l.mu.Lock()
		l.done = false
		l.mu.Unlock()
	}
}

func (l *Listener) newAck(status string, c *command.Command) command.Ack {
	a := command.Ack{Site: l.cfg.Site, Group: l.cfg.Group, Host: l.cfg.Host, Status: status, DryRun: l.cfg.DryRun}
	if status != command.AckOffline || c != nil {
		a.Time = l.opts.Now().UTC()
	}
	if c != nil {
		a.Gateway, a.Seq, a.Tier, a.Action = c.Gateway, c.Seq, c.Tier, c.Action
	}
	return a
}

// publish sends an acknowledgement at QoS 1 and waits briefly for the
// broker; a failure is logged (the broker may be gone).
func (l *Listener) publish(a command.Ack, retain bool) { l.publishQoS(a, 1, retain) }

// publishQoS publishes an acknowledgement at qos and waits up to 5 s for
// the broker to take it.
func (l *Listener) publishQoS(a command.Ack, qos byte, retain bool) {
	l.mu.Lock()
	c := l.client
	l.mu.Unlock()
	if c == nil || !c.IsConnectionOpen() {
		l.log.Warn("ack not published: not connected", "status", a.Status)
		return
	}
	b, err := json.Marshal(a)
	if err != nil {
		l.log.Error("ack encode", "err", err)
		return
	}
	tok := c.Publish(l.ack, qos, retain, b)
	if !tok.WaitTimeout(5 * time.Second) {
		l.log.Warn("ack not acknowledged by the broker in 5s", "status", a.Status)
	} else if tok.Error() != nil {
		l.log.Warn("ack publish failed", "status", a.Status, "err", tok.Error())
	}
}
