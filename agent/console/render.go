package console

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RiseMark is the change since the first reading, in °C, from which a
// module's temperature is marked as rising.
const RiseMark = 1.0

var modulePoint = regexp.MustCompile(`^battery\.module\.([0-9]+)\.(.+)$`)

// moduleRow is one line of a device's module table.
type moduleRow struct {
	n              int
	temp, first    float64
	volt           float64
	cellLo, cellHi float64
	hotCell        float64
}

// modules collects the per-module points of d, ordered by module index.
func modules(d *Device) []moduleRow {
	rows := map[int]*moduleRow{}
	row := func(n int) *moduleRow {
		r := rows[n]
		if r == nil {
			r = &moduleRow{n: n, temp: math.NaN(), first: math.NaN(), volt: math.NaN(), cellLo: math.NaN(), cellHi: math.NaN(), hotCell: math.NaN()}
			rows[n] = r
		}
		return r
	}
	for name, v := range d.Points {
		m := modulePoint.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		r := row(n)
		switch rest := m[2]; {
		case rest == "temperature":
			r.temp, r.first = v.Value, v.First
		case rest == "cell.max.temperature":
			r.hotCell = maxNaN(r.hotCell, v.Value)
		case strings.HasPrefix(rest, "cell.") && strings.HasSuffix(rest, ".temperature") && rest != "cell.min.temperature":
			r.hotCell = maxNaN(r.hotCell, v.Value)
		case rest == "voltage":
			r.volt = v.Value
		case rest == "cell.min.voltage":
			r.cellLo = minNaN(r.cellLo, v.Value)
		case rest == "cell.max.voltage":
			r.cellHi = maxNaN(r.cellHi, v.Value)
		case rest == "cell.avg.voltage":
			r.cellLo, r.cellHi = minNaN(r.cellLo, v.Value), maxNaN(r.cellHi, v.Value)
		case strings.HasPrefix(rest, "cell.") && strings.HasSuffix(rest, ".voltage"):
			r.cellLo, r.cellHi = minNaN(r.cellLo, v.Value), maxNaN(r.cellHi, v.Value)
		}
	}
	out := make([]moduleRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n < out[j].n })
	return out
}

func minNaN(a, b float64) float64 {
	if math.IsNaN(a) || b < a {
		return b
	}
	return a
}

func maxNaN(a, b float64) float64 {
	if math.IsNaN(a) || b > a {
		return b
	}
	return a
}

// num formats a number with prec decimals, "--" for NaN, right aligned in w.
func num(v float64, w, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%*s", w, "--")
	}
	return fmt.Sprintf("%*.*f", w, prec, v)
}

// point formats a device's point as "value unit", "" when absent.
func point(d *Device, name string, prec int, unit string) string {
	v, ok := d.Points[name]
	if !ok {
		return ""
	}
	if v.Text != "" {
		return v.Text
	}
	return strings.TrimSpace(num(v.Value, 0, prec)) + " " + unit
}

// stringSummary is the pack line: voltage, current, state of charge and
// temperature, those the device reports.
func stringSummary(d *Device) string {
	var parts []string
	for _, p := range []struct {
		name, unit string
		prec       int
	}{
		{"battery.voltage", "V", 1},
		{"battery.current", "A", 1},
		{"battery.charge", "%", 1},
		{"battery.temperature", "°C", 1},
	} {
		if s := point(d, p.name, p.prec, p.unit); s != "" {
			if p.name == "battery.charge" {
				s = "SoC " + s
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "  ")
}

// others lists the points that are neither module nor pack points, such as
// ambient and off-gas readings, as "name value unit".
func others(d *Device) []string {
	var out []string
	for name, v := range d.Points {
		if modulePoint.MatchString(name) {
			continue
		}
		switch name {
		case "battery.voltage", "battery.current", "battery.charge", "battery.temperature":
			continue
		}
		if strings.HasPrefix(name, "battery.cell.") || strings.HasPrefix(name, "battery.string.") ||
			strings.HasPrefix(name, "battery.module.min.") || strings.HasPrefix(name, "battery.module.max.") {
			continue
		}
		s := v.Text
		if s == "" {
			s = strings.TrimSpace(num(v.Value, 0, 2))
			if v.Unit != "" {
				s += " " + v.Unit
			}
		}
		out = append(out, name+" "+s)
	}
	sort.Strings(out)
	return out
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "--:--:--"
	}
	return t.UTC().Format("15:04:05")
}

func deviceNames(s *State) []string {
	names := make([]string, 0, len(s.Devices))
	for n := range s.Devices {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Screen renders the whole view of s: a header, per device the pack line
// and the module table, then the alerts. Lines end in "\n"; the result
// holds no terminal control sequences.
func Screen(s *State) string {
	var b strings.Builder
	title := s.Title
	if title == "" {
		title = "emberwatch"
	}
	fmt.Fprintf(&b, "%s  site %s  gateway %s\n", title, s.Site, s.Gateway)
	conn := "disconnected"
	if s.Connected {
		conn = "connected"
	}
	online := s.Online
	if online == "" {
		online = "unknown"
	}
	fmt.Fprintf(&b, "broker %s %s  gateway %s  messages %d  last %s\n", s.Broker, conn, online, s.Messages, clock(s.Now))

	names := deviceNames(s)
	if len(names) == 0 {
		b.WriteString("\nwaiting for telemetry\n")
	}
	for _, name := range names {
		d := s.Devices[name]
		b.WriteString("\n")
		head := name
		if sum := stringSummary(d); sum != "" {
			head += "  " + sum
		}
		fmt.Fprintf(&b, "%s  (updates %d, last %s)\n", head, d.Updates, clock(d.Seen))
		if rows := modules(d); len(rows) > 0 {
			b.WriteString("  module  temp °C  change  hot cell °C  voltage V  cells V\n")
			for _, r := range rows {
				change := math.NaN()
				if !math.IsNaN(r.temp) && !math.IsNaN(r.first) {
					change = r.temp - r.first
				}
				mark := "  "
				if change >= RiseMark {
					mark = " ^"
				}
				cells := ""
				if !math.IsNaN(r.cellLo) {
					cells = fmt.Sprintf("%.3f..%.3f", r.cellLo, r.cellHi)
				}
				ch := num(change, 6, 1)
				if !math.IsNaN(change) && change > -0.05 {
					ch = fmt.Sprintf("%6s", "+"+strings.TrimSpace(num(change, 0, 1)))
				}
				line := fmt.Sprintf("  %6d  %7s  %s%s  %11s  %9s  %s", r.n, num(r.temp, 7, 1), ch, mark, num(r.hotCell, 11, 1), num(r.volt, 9, 2), cells)
				b.WriteString(strings.TrimRight(line, " ") + "\n")
			}
		}
		if o := others(d); len(o) > 0 {
			b.WriteString(wrap("  ", o, 78))
		}
	}

	b.WriteString(shedScreen(s))
	b.WriteString("\n")
	active := s.ActiveAlerts()
	fmt.Fprintf(&b, "alerts: %d active\n", len(active))
	for _, a := range active {
		fmt.Fprintf(&b, "  %s\n", alertText(a))
	}
	if len(s.Alerts) > 0 {
		b.WriteString("recent:\n")
		for i := len(s.Alerts) - 1; i >= 0; i-- {
			fmt.Fprintf(&b, "  %s\n", alertText(s.Alerts[i]))
		}
	}
	return b.String()
}

// wrap joins items with two spaces into lines of at most width columns,
// each starting with indent.
func wrap(indent string, items []string, width int) string {
	var b strings.Builder
	line := indent
	for _, it := range items {
		if line != indent && len(line)+2+len(it) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if line != indent {
			line += "  "
		}
		line += it
	}
	if line != indent {
		b.WriteString(line + "\n")
	}
	return b.String()
}

func alertText(a Alert) string {
	return clock(a.Time) + " " + alertBody(a)
}

func alertBody(a Alert) string {
	s := fmt.Sprintf("%-8s %-9s %s %s %s", a.Level, a.State, a.Kind, a.Device, a.Subject)
	if a.Message != "" {
		s += ": " + a.Message
	}
	return s
}

// Line renders one update as a single log line (no trailing newline), for
// output that is not a terminal. It returns "" for Ignored updates.
func Line(s *State, u Update) string {
	at := clock(s.Now)
	switch u.Kind {
	case StateUpdate:
		online := s.Online
		if online == "" {
			online = "unknown"
		}
		return fmt.Sprintf("%s gateway %s/%s %s", at, s.Site, s.Gateway, online)
	case TelemetryUpdate:
		d := s.Devices[u.Device]
		if d == nil {
			return ""
		}
		parts := []string{fmt.Sprintf("%s telemetry %s: %d points", at, u.Device, u.Points)}
		if sum := stringSummary(d); sum != "" {
			parts = append(parts, "string "+sum)
		}
		if h, ok := hottest(d); ok {
			p := fmt.Sprintf("hottest module %d %s °C", h.n, strings.TrimSpace(num(h.temp, 0, 1)))
			if !math.IsNaN(h.first) {
				p += fmt.Sprintf(" (%+.1f since start)", h.temp-h.first)
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, "; ")
	case AlertUpdate:
		return fmt.Sprintf("%s alert %s", at, alertBody(u.Alert))
	case ActiveAlertsUpdate:
		return fmt.Sprintf("%s active alerts: %d", at, len(s.Active))
	case ShedUpdate:
		return shedLine(s, u, at)
	}
	return ""
}

// hottest returns the module with the highest temperature.
func hottest(d *Device) (moduleRow, bool) {
	var best moduleRow
	found := false
	for _, r := range modules(d) {
		if math.IsNaN(r.temp) {
			continue
		}
		if !found || r.temp > best.temp {
			best, found = r, true
		}
	}
	return best, found
}
