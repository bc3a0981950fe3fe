package modbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
)

// Reader reads registers of a unit. *Client implements it; tests and the
// SunSpec reader may supply their own.
type Reader interface {
	ReadRegisters(ctx context.Context, unit byte, table Table, addr, count uint16) ([]uint16, error)
}

// Options tune a Device. The zero value means defaults.
type Options struct {
	// Timeout bounds each request of the device; default DefaultTimeout.
	Timeout time.Duration
	// Retries is how often a request is retried within a poll after a
	// "server device busy" exception or a transport error other than a
	// timeout; default 2, negative for none. A timeout is not retried
	// within the poll: it ends the poll, so a dead device costs at most
	// one timeout per poll.
	Retries int
	// RetryBackoff is the wait before the first retry, doubled for each
	// further one; default 50 ms.
	RetryBackoff time.Duration
	// FailAfter is the number of consecutive failed polls after which the
	// device is only tried again after a backoff; default 3.
	FailAfter int
	// DeadBackoff is the first such backoff, doubled after each further
	// failed poll up to MaxDeadBackoff; defaults 5 s and 2 min.
	DeadBackoff, MaxDeadBackoff time.Duration
	// Logger receives failures; default slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Retries == 0 {
		o.Retries = 2
	} else if o.Retries < 0 {
		o.Retries = 0
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 50 * time.Millisecond
	}
	if o.FailAfter <= 0 {
		o.FailAfter = 3
	}
	if o.DeadBackoff <= 0 {
		o.DeadBackoff = 5 * time.Second
	}
	if o.MaxDeadBackoff <= 0 {
		o.MaxDeadBackoff = 2 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Stats counts what happened to a device's polls.
type Stats struct {
	// Polls is the number of polls that went to the device; Skipped the
	// number skipped while backing off; Errors the polls that returned an
	// error (some or all of their requests failed).
	Polls, Skipped, Errors int64
	// Timeouts, Exceptions and Reconnects count failed requests: requests
	// that timed out, that got a Modbus exception, and that made the
	// transport drop its connection (timeouts and other transport errors).
	Timeouts, Exceptions, Reconnects int64
	// ConsecutiveFailures is the number of polls in a row that read nothing.
	ConsecutiveFailures int
	// LastPoll is how long the last poll took.
	LastPoll time.Duration
	// LastError is the last poll's error, empty after a clean poll.
	LastError string
}

// Device polls one Modbus unit through a Reader with a Profile: it issues
// the profile's read plan and decodes every point. It borrows the Reader
// and never closes it. Poll may be called from one goroutine at a time;
// Stats from any.
type Device struct {
	name string
	unit byte
	p    *Profile
	plan []Request
	r    Reader
	opts Options

	mu       sync.Mutex
	stats    Stats
	failures int
	next     time.Time
}

// NewDevice returns a device named name (used in errors and logs) at unit
// behind r, read with profile p.
func NewDevice(name string, unit byte, p *Profile, r Reader, opts Options) *Device {
	return &Device{name: name, unit: unit, p: p, plan: Plan(p), r: r, opts: opts.withDefaults()}
}

// Name returns the device's name.
func (d *Device) Name() string { return d.name }

// Plan returns the read requests one poll issues.
func (d *Device) Plan() []Request { return d.plan }

// Stats returns a snapshot of the device's counters.
func (d *Device) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Poll reads every point of the profile once. It returns the readings it
// could decode, and an error naming the device, the registers and the
// points of every request that failed; readings and an error together
// mean a partial poll. Invalid values (sentinels, NaN, out of range) are
// readings with a NaN value. After FailAfter polls in a row that read
// nothing, Poll returns an error wrapping ErrBackoff at once until the
// backoff has passed.
func (d *Device) Poll(ctx context.Context) ([]drivers.Reading, error) {
	start := time.Now()
	d.mu.Lock()
	if d.failures >= d.opts.FailAfter && start.Before(d.next) {
		d.stats.Skipped++
		err := fmt.Errorf("%s: %w after %d failed polls, next try in %v", d.name, ErrBackoff, d.failures, d.next.Sub(start).Round(time.Millisecond))
		d.mu.Unlock()
		return nil, err
	}
	d.stats.Polls++
	d.mu.Unlock()

	rctx := withRequestTimeout(ctx, d.opts.Timeout)
	readings := make([]drivers.Reading, 0, len(d.p.Points))
	var errs []error
	read := 0
	for _, rq := range d.plan {
		words, err := d.read(rctx, rq)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", d.name, d.pointSpan(rq), err))
			var ee *ExceptionError
			if errors.As(err, &ee) && ctx.Err() == nil {
				continue // the device answers: go on with the next block
			}
			break // timeout or broken transport: the rest would fail too
		}
		read++
		now := time.Now()
		for _, i := range rq.Points {
			pt := &d.p.Points[i]
			off := int(pt.Address) - int(rq.Start)
			v, text, derr := pt.Decode(words[off:], d.p.ByteOrder)
			if derr != nil {
				errs = append(errs, fmt.Errorf("%s: point %s at %s %d: %w", d.name, pt.Point, pt.Table, pt.Address, derr))
				v = math.NaN()
			}
			readings = append(readings, drivers.Reading{Point: pt.Point, Value: v, Text: text, Unit: pt.Unit, Time: now})
		}
	}
	err := errors.Join(errs...)

	d.mu.Lock()
	defer d.mu.Unlock()
	d.stats.LastPoll = time.Since(start)
	d.stats.LastError = ""
	if err != nil {
		d.stats.Errors++
		d.stats.LastError = err.Error()
	}
	if read == 0 && len(d.plan) > 0 {
		d.failures++
		if d.failures >= d.opts.FailAfter {
			back := d.opts.DeadBackoff
			for i := d.opts.FailAfter; i < d.failures && back < d.opts.MaxDeadBackoff; i++ {
				back *= 2
			}
			back = min(back, d.opts.MaxDeadBackoff)
			d.next = time.Now().Add(back)
			d.opts.Logger.Warn("modbus device not answering, backing off", "device", d.name, "unit", d.unit,
				"failed_polls", d.failures, "backoff", back, "err", err)
		}
	} else {
		if d.failures >= d.opts.FailAfter {
			d.opts.Logger.Info("modbus device answering again", "device", d.name, "unit", d.unit)
		}
		d.failures = 0
	}
	d.stats.ConsecutiveFailures = d.failures
	return readings, err
}

// read issues one request, retrying busy exceptions and transport errors
// other than timeouts with exponential backoff.
func (d *Device) read(ctx context.Context, rq Request) ([]uint16, error) {
	wait := d.opts.RetryBackoff
	for attempt := 0; ; attempt++ {
		words, err := d.r.ReadRegisters(ctx, d.unit, rq.Table, rq.Start, rq.Count)
		if err == nil {
			return words, nil
		}
		retry := false
		var ee *ExceptionError
		d.mu.Lock()
		switch {
		case errors.As(err, &ee):
			ee.Device = d.name
			d.stats.Exceptions++
			retry = ee.Busy()
		case ctx.Err() != nil:
		case isTimeout(err):
			d.stats.Timeouts++
			d.stats.Reconnects++
		default:
			d.stats.Reconnects++
			// A device that failed its last poll gets no retries: it
			// must not hold a shared bus longer than its timeout.
			retry = d.failures == 0
		}
		d.mu.Unlock()
		if !retry || attempt >= d.opts.Retries || ctx.Err() != nil {
			return nil, err
		}
		d.opts.Logger.Debug("modbus request failed, retrying", "device", d.name, "attempt", attempt+1, "err", err)
		sleep(ctx, wait)
		wait *= 2
	}
}

// pointSpan names a request's registers and the points in them.
func (d *Device) pointSpan(rq Request) string {
	first, last := d.p.Points[rq.Points[0]].Point, d.p.Points[rq.Points[len(rq.Points)-1]].Point
	s := fmt.Sprintf("%s %d..%d (%s", rq.Table, rq.Start, int(rq.Start)+int(rq.Count)-1, first)
	if len(rq.Points) > 1 {
		s += " .. " + last
	}
	return s + ")"
}

var _ Reader = (*Client)(nil)
