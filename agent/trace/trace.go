package trace

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// Row is one reading of a trace.
type Row struct {
	Time   time.Time
	Device string
	Point  string
	// Value is NaN for the "nan" value.
	Value float64
}

// Header is the first non-comment line every trace starts with.
const Header = "time,device,point,value"

// ErrSyntax is wrapped by every error about malformed trace content.
var ErrSyntax = errors.New("malformed trace")

// LineError names the line of a malformed trace.
type LineError struct {
	Line int
	Msg  string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Unwrap lets errors.Is(err, ErrSyntax) match.
func (e *LineError) Unwrap() error { return ErrSyntax }

// Reader reads rows one at a time. It is not safe for concurrent use.
type Reader struct {
	sc       *bufio.Scanner
	line     int
	header   bool
	last     time.Time
	lastText []byte
	// interned device and point names, so a long trace allocates each once.
	names   map[string]string
	lastDev string
	// point names in order of first sight, the index of each, the point
	// that followed each last time, and the last point read
	pts    []string
	ptIdx  map[string]int32
	succ   []int32
	lastPt int32
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	return &Reader{sc: sc, names: make(map[string]string), ptIdx: make(map[string]int32), lastPt: -1}
}

// Line returns the number of the line last read (1-based).
func (r *Reader) Line() int { return r.line }

func (r *Reader) intern(b []byte) string {
	if s, ok := r.names[string(b)]; ok {
		return s
	}
	if len(r.names) > 1<<16 { // bound memory on hostile input
		return string(b)
	}
	s := string(b)
	r.names[s] = s
	return s
}

// internPoint returns the interned point name b. Points come in the same
// order every poll, so the point that followed the previous one last time
// is tried before the map.
func (r *Reader) internPoint(b []byte) string {
	if i := r.lastPt; i >= 0 && r.succ[i] >= 0 && r.pts[r.succ[i]] == string(b) {
		r.lastPt = r.succ[i]
		return r.pts[r.lastPt]
	}
	j, ok := r.ptIdx[string(b)]
	if !ok {
		if len(r.pts) >= 1<<16 { // bound memory on hostile input
			r.lastPt = -1
			return string(b)
		}
		j = int32(len(r.pts))
		name := string(b)
		r.pts = append(r.pts, name)
		r.succ = append(r.succ, -1)
		r.ptIdx[name] = j
	}
	if r.lastPt >= 0 {
		r.succ[r.lastPt] = j
	}
	r.lastPt = j
	return r.pts[j]
}

// Next returns the next row, io.EOF at the end, or a *LineError.
func (r *Reader) Next() (Row, error) {
	for r.sc.Scan() {
		r.line++
		b := bytes.TrimRight(r.sc.Bytes(), "\r")
		if r.line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		if len(bytes.TrimSpace(b)) == 0 || b[0] == '#' {
			continue
		}
		if !r.header {
			if string(bytes.TrimSpace(b)) != Header {
				return Row{}, &LineError{r.line, fmt.Sprintf("header must be %q, got %q", Header, clip(b))}
			}
			r.header = true
			continue
		}
		return r.parse(b)
	}
	if err := r.sc.Err(); err != nil {
		return Row{}, fmt.Errorf("line %d: %w", r.line+1, err)
	}
	if !r.header {
		return Row{}, &LineError{max(r.line, 1), "missing header " + Header}
	}
	return Row{}, io.EOF
}

func clip(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "..."
	}
	return string(b)
}

func (r *Reader) parse(b []byte) (Row, error) {
	var f [4][]byte
	rest := b
	for n := 0; n < 3; n++ {
		i := bytes.IndexByte(rest, ',')
		if i < 0 {
			return Row{}, &LineError{r.line, fmt.Sprintf("%d columns, want 4 (time,device,point,value)", n+1)}
		}
		f[n], rest = rest[:i], rest[i+1:]
	}
	if bytes.IndexByte(rest, ',') >= 0 {
		return Row{}, &LineError{r.line, "too many columns (want time,device,point,value)"}
	}
	f[3] = rest
	var row Row
	var err error
	if r.lastText != nil && bytes.Equal(f[0], r.lastText) {
		row.Time = r.last
	} else {
		row.Time, err = parseTime(f[0])
		if err != nil {
			return Row{}, &LineError{r.line, fmt.Sprintf("time %q: %v", clip(f[0]), err)}
		}
		if row.Time.Before(r.last) {
			return Row{}, &LineError{r.line, fmt.Sprintf("time %s is before the previous row's %s (rows must be in time order)",
				row.Time.Format(time.RFC3339Nano), r.last.Format(time.RFC3339Nano))}
		}
		r.last = row.Time
		r.lastText = append(r.lastText[:0], f[0]...)
	}
	if len(f[1]) == 0 {
		return Row{}, &LineError{r.line, "empty device"}
	}
	if len(f[2]) == 0 {
		return Row{}, &LineError{r.line, "empty point"}
	}
	if string(f[1]) == r.lastDev {
		row.Device = r.lastDev
	} else {
		row.Device = r.intern(f[1])
		r.lastDev = row.Device
	}
	row.Point = r.internPoint(f[2])
	v := bytes.TrimSpace(f[3])
	if len(v) == 3 && (v[0]|0x20) == 'n' && (v[1]|0x20) == 'a' && (v[2]|0x20) == 'n' {
		row.Value = math.NaN()
		return row, nil
	}
	if f, ok := fastFloat(v); ok {
		row.Value = f
		return row, nil
	}
	row.Value, err = strconv.ParseFloat(string(v), 64)
	if err != nil || math.IsInf(row.Value, 0) || math.IsNaN(row.Value) {
		return Row{}, &LineError{r.line, fmt.Sprintf("value %q is not a number or nan", clip(v))}
	}
	return row, nil
}

// parseTime parses RFC 3339 UTC times with optional fractional seconds.
func parseTime(b []byte) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, errors.New("not an RFC 3339 time")
	}
	if _, off := t.Zone(); off != 0 {
		return time.Time{}, errors.New("not UTC")
	}
	return t.UTC(), nil
}

// Writer writes rows in trace format. Call Flush when done.
type Writer struct {
	w   *bufio.Writer
	buf []byte
	hdr bool
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriter(w)} }

// Comment writes a # comment line; newlines in text are replaced by spaces.
func (w *Writer) Comment(text string) error {
	b := []byte("# " + text)
	for i := range b {
		if b[i] == '\n' || b[i] == '\r' {
			b[i] = ' '
		}
	}
	_, err := w.w.Write(append(b, '\n'))
	return err
}

// Write writes one row, the header first if not yet written.
func (w *Writer) Write(r Row) error {
	if !w.hdr {
		if _, err := w.w.WriteString(Header + "\n"); err != nil {
			return err
		}
		w.hdr = true
	}
	b := w.buf[:0]
	b = r.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, ',')
	b = append(b, r.Device...)
	b = append(b, ',')
	b = append(b, r.Point...)
	b = append(b, ',')
	if math.IsNaN(r.Value) {
		b = append(b, "nan"...)
	} else {
		b = strconv.AppendFloat(b, r.Value, 'f', -1, 64)
	}
	b = append(b, '\n')
	w.buf = b
	_, err := w.w.Write(b)
	return err
}

// Flush writes buffered rows, and the header if no row was written.
func (w *Writer) Flush() error {
	if !w.hdr {
		if _, err := w.w.WriteString(Header + "\n"); err != nil {
			return err
		}
		w.hdr = true
	}
	return w.w.Flush()
}

// pow10 are the powers of ten that float64 holds exactly.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fastFloat parses plain decimals ([-+]digits[.digits], at most 15
// digits) as mantissa / 10^k: both exact, so the one division rounds
// correctly and gives what strconv.ParseFloat gives. Anything else is left
// to strconv.
func fastFloat(b []byte) (float64, bool) {
	neg := false
	i := 0
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i++
	}
	var m uint64
	digits, frac := 0, -1
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			digits++
			if frac >= 0 {
				frac++
			}
		case c == '.' && frac < 0:
			frac = 0
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 {
		return 0, false
	}
	f := float64(m)
	if frac > 0 {
		f /= pow10[frac]
	}
	if neg {
		f = -f
	}
	return f, true
}
