package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// errFrame marks a reply that arrived but is not a valid answer.
var errFrame = errors.New("bad frame")

// RTU frame limits.
const (
	rtuMaxFrame       = 256
	rtuExceptionFrame = 5
)

// crc16 is the Modbus RTU CRC (polynomial 0xA001 reflected, initial 0xFFFF).
func crc16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for i := 0; i < 8; i++ {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// appendCRC appends the CRC of b, low byte first, as RTU frames carry it.
func appendCRC(b []byte) []byte {
	c := crc16(b)
	return append(b, byte(c), byte(c>>8))
}

// rtuResponseLen returns the length of the whole response frame to req,
// given at least its first three bytes (unit, function, byte count or
// exception code). It rejects a reply from another unit or to another
// function, which on a shared line is a late answer to someone else.
func rtuResponseLen(req, head []byte) (int, error) {
	if len(req) < 2 || len(head) < 3 {
		return 0, fmt.Errorf("short frame (%d bytes)", len(head))
	}
	if head[0] != req[0] {
		return 0, fmt.Errorf("reply from unit %d to a request to unit %d", head[0], req[0])
	}
	switch head[1] {
	case req[1]:
	case req[1] | functionExceptionBit:
		return rtuExceptionFrame, nil
	default:
		return 0, fmt.Errorf("reply with function %d to a request with function %d", head[1], req[1])
	}
	switch req[1] {
	case 1, 2, 3, 4, 23:
		return 3 + int(head[2]) + 2, nil
	case 5, 6, 15, 16:
		return 8, nil
	}
	return 0, fmt.Errorf("function %d is not supported", req[1])
}

// checkRTUResponse verifies a complete response frame to req: its length
// against the request, and its CRC.
func checkRTUResponse(req, resp []byte) error {
	n, err := rtuResponseLen(req, resp)
	if err != nil {
		return err
	}
	if len(resp) != n {
		return fmt.Errorf("frame of %d bytes, want %d", len(resp), n)
	}
	if got, want := binary.LittleEndian.Uint16(resp[n-2:]), crc16(resp[:n-2]); got != want {
		return fmt.Errorf("CRC %04x, want %04x", got, want)
	}
	if resp[1]&functionExceptionBit == 0 && len(req) >= 6 && (req[1] == 3 || req[1] == 4) {
		if want := 2 * int(binary.BigEndian.Uint16(req[4:])); int(resp[2]) != want {
			return fmt.Errorf("byte count %d, want %d", resp[2], want)
		}
	}
	return nil
}

// deadlineConn is a byte stream with read deadlines: a TCP socket, a pty,
// or a serial port behind serialConn.
type deadlineConn interface {
	io.ReadWriteCloser
	SetReadDeadline(t time.Time) error
}

// rtuTransporter is a goburrow modbus.Transporter for RTU framing on a
// serial line or a TCP socket. Unlike goburrow's serial transporter, which
// sleeps for the time the longest reply would take, it reads the reply as
// its bytes arrive and knows the frame is complete from the function code
// and byte count. It keeps the 3.5-character silence between frames
// before each request.
//
// It is not safe for concurrent use; Client serialises requests.
type rtuTransporter struct {
	open func(ctx context.Context) (deadlineConn, error)
	// gap is the inter-frame silence (3.5 characters; 1.75 ms above 19200 baud).
	gap time.Duration
	// drain, when set, reads and discards input after (re)opening and
	// after a failure, until the line has been quiet for a gap.
	drain bool

	conn    deadlineConn
	dirty   bool
	lastEnd time.Time
	buf     [rtuMaxFrame]byte

	// After a unit timed out, its late reply may still come: the next
	// request to that unit first drains the line until lateUntil (the
	// timed-out request's start plus one and a half times its timeout).
	lateUnit  byte
	lateUntil time.Time

	// Set per request by Client.
	ctx      context.Context
	deadline time.Time
}

// interFrameGap returns 3.5 characters of 11 bits at baud, and 1.75 ms
// above 19200 baud, as the Modbus serial line specification fixes.
func interFrameGap(baud int) time.Duration {
	if baud <= 0 || baud > 19200 {
		return 1750 * time.Microsecond
	}
	return time.Duration(3.5 * 11 * float64(time.Second) / float64(baud))
}

// Send writes one request frame and returns the reply frame. The slice
// returned is valid until the next Send.
func (t *rtuTransporter) Send(req []byte) ([]byte, error) {
	ctx := t.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if t.conn == nil {
		c, err := t.open(ctx)
		if err != nil {
			return nil, err
		}
		t.conn = c
		t.dirty = t.drain
	}
	if t.dirty {
		t.discard()
		t.dirty = false
	}
	if len(req) > 0 && req[0] == t.lateUnit && time.Now().Before(t.lateUntil) {
		// The drain comes out of this request's own budget, so that a
		// unit costs the bus at most its timeout per request.
		t.discardUntil(minTime(t.lateUntil, t.deadline))
		t.lateUntil = time.Time{}
	}
	if wait := time.Until(t.lastEnd.Add(t.gap)); wait > 0 {
		sleep(ctx, wait)
	}
	conn := t.conn
	cancelled := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = conn.SetReadDeadline(time.Now())
		close(cancelled)
	})
	defer func() {
		if !stop() {
			<-cancelled // let it finish before the next request sets its deadline
		}
	}()
	if err := t.conn.SetReadDeadline(t.deadline); err != nil {
		return nil, err
	}
	sent := time.Now()
	if _, err := t.conn.Write(req); err != nil {
		return nil, err
	}
	resp, err := t.readFrame(req)
	t.lastEnd = time.Now()
	if err != nil && isTimeout(err) && t.drain && len(req) > 0 {
		t.lateUnit = req[0]
		t.lateUntil = sent.Add(t.deadline.Sub(sent) * 3 / 2)
	}
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return resp, err
}

// readFrame reads one reply to req as its bytes arrive.
func (t *rtuTransporter) readFrame(req []byte) ([]byte, error) {
	b := t.buf[:]
	n := 0
	need := 3
	known := false
	skipped := 0
	for n < need {
		m, err := t.conn.Read(b[n:need])
		n += m
		if err != nil {
			if errors.Is(err, io.EOF) && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			if isTimeout(err) {
				err = fmt.Errorf("%w after %d bytes of the reply: %w", ErrTimeout, n, err)
			}
			return nil, err
		}
		if !known && n >= 3 {
			l, err := rtuResponseLen(req, b[:n])
			if err != nil || (l != rtuExceptionFrame && !expectedCount(req, b[2])) {
				// A late reply to another request (another unit,
				// function or length): read it whole, drop it, and wait
				// on for ours.
				other := otherFrameLen(b[:n])
				if other == 0 || skipped >= 4 {
					if err == nil {
						err = fmt.Errorf("byte count %d does not answer the request", b[2])
					}
					return nil, fmt.Errorf("%w: %w", errFrame, err)
				}
				skipped++
				if err := t.skip(b[:n], other); err != nil {
					return nil, err
				}
				n = 0
				continue
			}
			if l > len(b) {
				return nil, fmt.Errorf("%w: reply of %d bytes is longer than an RTU frame", errFrame, l)
			}
			need, known = l, true
		}
	}
	if err := checkRTUResponse(req, b[:n]); err != nil {
		return nil, fmt.Errorf("%w: %w", errFrame, err)
	}
	return b[:n], nil
}

// expectedCount reports whether byteCount answers read request req.
func expectedCount(req []byte, byteCount byte) bool {
	if len(req) < 6 {
		return true
	}
	q := int(binary.BigEndian.Uint16(req[4:]))
	switch req[1] {
	case 3, 4:
		return int(byteCount) == 2*q
	case 1, 2:
		return int(byteCount) == (q+7)/8
	}
	return true
}

// otherFrameLen returns the length of a reply frame from its first three
// bytes, whatever request it answers, or 0 when it cannot tell.
func otherFrameLen(head []byte) int {
	switch fn := head[1]; {
	case fn&functionExceptionBit != 0:
		return rtuExceptionFrame
	case fn >= 1 && fn <= 4:
		return 5 + int(head[2])
	case fn == 5 || fn == 6 || fn == 15 || fn == 16:
		return 8
	}
	return 0
}

// skip reads the rest of a frame of length l whose first bytes are head,
// and checks its CRC: a frame that does not check is line noise, an error.
func (t *rtuTransporter) skip(head []byte, l int) error {
	var f [rtuMaxFrame]byte
	n := copy(f[:], head)
	if l > len(f) {
		return fmt.Errorf("%w: frame of %d bytes", errFrame, l)
	}
	if _, err := io.ReadFull(t.conn, f[n:l]); err != nil {
		if isTimeout(err) {
			err = fmt.Errorf("%w in a stray frame: %w", ErrTimeout, err)
		}
		return err
	}
	if crc16(f[:l-2]) != binary.LittleEndian.Uint16(f[l-2:l]) {
		return fmt.Errorf("%w: stray frame % x with a bad CRC", errFrame, f[:l])
	}
	return nil
}

// discardUntil drops all input until end.
func (t *rtuTransporter) discardUntil(end time.Time) {
	var b [rtuMaxFrame]byte
	for time.Now().Before(end) {
		_ = t.conn.SetReadDeadline(end)
		if _, err := t.conn.Read(b[:]); err != nil && !isTimeout(err) {
			break
		}
	}
	_ = t.conn.SetReadDeadline(time.Time{})
}

// discard drops input until the line has been quiet for a gap (at least
// 5 ms), for at most 100 ms: the tail of a late reply must not be read as
// the start of the next one.
func (t *rtuTransporter) discard() {
	quiet := max(t.gap, 5*time.Millisecond)
	end := time.Now().Add(100 * time.Millisecond)
	var b [rtuMaxFrame]byte
	for time.Now().Before(end) {
		_ = t.conn.SetReadDeadline(time.Now().Add(quiet))
		if n, err := t.conn.Read(b[:]); n == 0 || err != nil {
			break
		}
	}
	_ = t.conn.SetReadDeadline(time.Time{})
}

// reset prepares the next Send after err: on a serial line, after a
// timeout or a bad frame, it only drains the line first; otherwise (a
// socket, an I/O error, Close) it closes the connection, and the next Send
// reopens it.
func (t *rtuTransporter) reset(err error) error {
	t.dirty = true
	if t.conn == nil {
		return nil
	}
	if t.drain && err != nil && (isTimeout(err) || errors.Is(err, errFrame)) {
		return nil
	}
	cerr := t.conn.Close()
	t.conn = nil
	return cerr
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-ctx.Done():
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
