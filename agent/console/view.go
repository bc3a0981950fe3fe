package console

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"os"
	"sync"
	"time"
)

// Clear is the ANSI sequence a terminal view writes before each redraw:
// cursor home, then clear the screen.
const Clear = "\x1b[H\x1b[2J"

// Options configures a View. The zero value is a line log with defaults.
type Options struct {
	// Terminal selects full-screen redraws; otherwise one line per update.
	Terminal bool
	// Interval is the shortest time between two redraws; default 250 ms.
	Interval time.Duration
	// Title heads the screen.
	Title string
	// Site and Gateway select the topic root the view shows.
	Site, Gateway string
	// Broker is the broker URL shown in the header.
	Broker string
	// Logger receives messages that cannot be decoded; slog.Default() if
	// nil.
	Logger *slog.Logger
	// Now returns the current time; time.Now if nil.
	Now func() time.Time
}

// View is the live view: it applies MQTT messages to its State and writes
// to its writer. Handle and SetConnected may be called from any goroutine;
// the view serialises them.
type View struct {
	opts Options
	log  *slog.Logger
	w    io.Writer

	mu    sync.Mutex
	st    *State
	dirty bool
	seen  chan struct{} // closed and replaced on every applied message
}

// NewView returns a view writing to w. The view does not own w.
func NewView(w io.Writer, opts Options) *View {
	if opts.Interval <= 0 {
		opts.Interval = 250 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	st := NewState(opts.Site, opts.Gateway)
	st.Title, st.Broker = opts.Title, opts.Broker
	return &View{opts: opts, log: log, w: w, st: st, dirty: true, seen: make(chan struct{})}
}

// Topics returns the subscription filters of the view: the gateway's
// <root>/#, and the site's shed commands and host acknowledgements.
func (v *View) Topics() []string {
	site := "emberwatch/v1/" + v.opts.Site
	return []string{Root(v.opts.Site, v.opts.Gateway) + "/#", site + "/shed/+", site + "/ack/+"}
}

// Handle applies one MQTT message. In line mode it writes the update's
// line at once; in terminal mode the next tick of Run redraws.
func (v *View) Handle(topic string, payload []byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	u, err := v.st.Apply(topic, payload, v.opts.Now())
	if err != nil {
		v.log.Warn("console: undecodable message", "topic", topic, "err", err)
		return
	}
	if u.Kind == Ignored {
		return
	}
	v.dirty = true
	close(v.seen)
	v.seen = make(chan struct{})
	if !v.opts.Terminal {
		if l := Line(v.st, u); l != "" {
			_, _ = io.WriteString(v.w, l+"\n")
		}
	}
}

// SetConnected records whether the view's MQTT client is connected.
func (v *View) SetConnected(ok bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.st.Connected == ok {
		return
	}
	v.st.Connected = ok
	v.dirty = true
	if !v.opts.Terminal {
		state := "disconnected"
		if ok {
			state = "connected"
		}
		_, _ = io.WriteString(v.w, clock(v.opts.Now())+" broker "+v.st.Broker+" "+state+"\n")
	}
}

// Run redraws a terminal view every Interval while something changed, until
// ctx is done, then draws once more. In line mode it only waits for ctx.
func (v *View) Run(ctx context.Context) {
	if !v.opts.Terminal {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(v.opts.Interval)
	defer t.Stop()
	v.Draw()
	for {
		select {
		case <-ctx.Done():
			v.Draw()
			return
		case <-t.C:
			v.mu.Lock()
			dirty := v.dirty
			v.mu.Unlock()
			if dirty {
				v.Draw()
			}
		}
	}
}

// Draw writes the screen now: in terminal mode preceded by Clear, in line
// mode as it is (a final summary).
func (v *View) Draw() {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := Screen(v.st)
	if v.opts.Terminal {
		s = Clear + s
	}
	_, _ = io.WriteString(v.w, s)
	v.dirty = false
}

// Snapshot returns a copy of the view's state.
func (v *View) Snapshot() *State {
	v.mu.Lock()
	defer v.mu.Unlock()
	c := *v.st
	c.Devices = make(map[string]*Device, len(v.st.Devices))
	for n, d := range v.st.Devices {
		dc := *d
		dc.Points = maps.Clone(d.Points)
		c.Devices[n] = &dc
	}
	c.Alerts = append([]Alert(nil), v.st.Alerts...)
	c.Active = maps.Clone(v.st.Active)
	return &c
}

// Changed returns a channel closed when the next message is applied.
func (v *View) Changed() <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.seen
}

// IsTerminal reports whether f is a character device (a terminal), the
// test the demo uses to choose between redraws and a line log.
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
