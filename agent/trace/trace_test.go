package trace

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

func readAll(s string) ([]Row, error) {
	r := NewReader(strings.NewReader(s))
	var rows []Row
	for {
		row, err := r.Next()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
}

func TestReaderErrors(t *testing.T) {
	const h = "time,device,point,value\n"
	for _, c := range []struct {
		name, in string
		line     int
		want     string
	}{
		{"bad time", h + "2026-03-01 00:00:00,bms-1,battery.current,1\n", 2, "time"},
		{"not utc", h + "2026-03-01T00:00:00+01:00,bms-1,battery.current,1\n", 2, "UTC"},
		{"unknown column", "time,device,point,value,unit\n", 1, "header"},
		{"wrong header", "time,dev,point,value\n", 1, "header"},
		{"missing header", "2026-03-01T00:00:00Z,bms-1,battery.current,1\n", 1, "header"},
		{"empty", "", 1, "missing header"},
		{"non-numeric", h + "2026-03-01T00:00:00Z,bms-1,battery.current,abc\n", 2, "not a number"},
		{"infinite", h + "2026-03-01T00:00:00Z,bms-1,battery.current,inf\n", 2, "not a number"},
		{"out of order", h + "2026-03-01T00:00:01Z,a,b,1\n# note\n\n2026-03-01T00:00:00Z,a,b,1\n", 5, "time order"},
		{"too few columns", h + "2026-03-01T00:00:00Z,a,1\n", 2, "columns"},
		{"too many columns", h + "2026-03-01T00:00:00Z,a,b,1,2\n", 2, "too many"},
		{"empty device", h + "2026-03-01T00:00:00Z,,b,1\n", 2, "device"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(c.in)
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want a *LineError", err)
			}
			if le.Line != c.line || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrSyntax) {
				t.Errorf("err = %v (line %d), want line %d mentioning %q", err, le.Line, c.line, c.want)
			}
		})
	}
}

func TestReaderAccepts(t *testing.T) {
	in := "\xef\xbb\xbf# recorded on site\r\ntime,device,point,value\r\n\r\n" +
		"2026-03-01T00:00:00Z,bms-1,battery.module.1.temperature,24.6\r\n" +
		"2026-03-01T00:00:00.5Z,bms-1,battery.module.1.voltage,NaN\n" +
		"2026-03-01T00:00:00.5Z,bms-1,battery.current,-1e1\n"
	rows, err := readAll(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Value != 24.6 || !math.IsNaN(rows[1].Value) || rows[2].Value != -10 ||
		!rows[1].Time.Equal(time.Date(2026, 3, 1, 0, 0, 0, 5e8, time.UTC)) {
		t.Errorf("rows = %+v", rows)
	}
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	t0 := time.Date(2026, 3, 1, 1, 2, 3, 500e6, time.UTC)
	want := []Row{
		{t0, "bms-1", "battery.module.1.temperature", 24.6},
		{t0, "bms-1", "battery.module.2.temperature", math.NaN()},
		{t0.Add(time.Second), "env-1", "gas.h2", 0.125},
	}
	if err := w.Comment("a\nb"); err != nil {
		t.Fatal(err)
	}
	for _, r := range want {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(buf.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.Time.Equal(w.Time) || g.Device != w.Device || g.Point != w.Point ||
			!(g.Value == w.Value || math.IsNaN(g.Value) && math.IsNaN(w.Value)) {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
	}
}

// FuzzReader checks that the reader never panics, stops, names a line for
// every malformed input, returns rows in time order, and that whatever it
// accepts survives a write and a second read unchanged.
func FuzzReader(f *testing.F) {
	f.Add("time,device,point,value\n2026-03-01T00:00:00Z,bms-1,battery.module.1.temperature,24.6\n")
	f.Add("time,device,point,value\n2026-03-01T00:00:00.25Z,a,b,nan\n2026-03-01T00:00:00.25Z,a,c,-1e3\n")
	f.Add("\xef\xbb\xbf#c\r\ntime,device,point,value\r\n\r\n2026-03-01T00:00:01Z,a,b,1\n2026-03-01T00:00:00Z,a,b,1\n")
	f.Add("time,device,point,value\n2026-13-01T00:00:00Z,a,b,1,\n")
	f.Fuzz(func(t *testing.T, in string) {
		r := NewReader(strings.NewReader(in))
		var rows []Row
		var last time.Time
		for i := 0; ; i++ {
			if i > len(in)+1 {
				t.Fatal("reader does not stop")
			}
			row, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var le *LineError
				if errors.As(err, &le) && (le.Line < 1 || le.Line > strings.Count(in, "\n")+1) {
					t.Fatalf("error names line %d of a %d-line input: %v", le.Line, strings.Count(in, "\n")+1, err)
				}
				return
			}
			if row.Time.Before(last) {
				t.Fatalf("row %d at %v is before %v", i, row.Time, last)
			}
			last = row.Time
			rows = append(rows, row)
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		for _, row := range rows {
			if strings.ContainsAny(row.Device+row.Point, "\n\r") || strings.HasPrefix(row.Device, "#") {
				return
			}
			if err := w.Write(row); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		again, err := readAll(buf.String())
		if err != nil {
			t.Fatalf("rewritten trace does not read: %v\n%s", err, buf.String())
		}
		if len(again) != len(rows) {
			t.Fatalf("rewritten trace has %d rows, want %d", len(again), len(rows))
		}
		for i := range rows {
			a, b := rows[i], again[i]
			if !a.Time.Equal(b.Time) || a.Device != b.Device || a.Point != b.Point ||
				!(a.Value == b.Value || math.IsNaN(a.Value) && math.IsNaN(b.Value)) {
				t.Fatalf("row %d: %+v became %+v", i, a, b)
			}
		}
	})
}

// FuzzFastFloat checks the decimal fast path against strconv.ParseFloat.
func FuzzFastFloat(f *testing.F) {
	for _, s := range []string{"24.6", "-0", "0.1", "-1e3", "53.120", "123456789012345", ".5", "5.", "+7.25"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := fastFloat([]byte(s))
		if !ok {
			return
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("fastFloat(%q) = %v, ParseFloat = %v (%v)", s, got, want, err)
		}
	})
}
