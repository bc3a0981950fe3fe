package detect

import "strings"

// role is what a point means to the detector.
type role uint8

const (
	roleOther   role = iota
	roleTemp         // a battery temperature: pack, module, cell
	roleVolt         // a module or cell voltage
	roleCurrent      // a string or pack current
	roleAmbient      // room or rack inlet air temperature
	roleGas          // an off-gas concentration
	roleCharge       // a string or pack state of charge, %
	roleStrVolt      // a string or pack terminal voltage
)

// pointInfo is the classification of a point name.
type pointInfo struct {
	role role
	// group is the point with its indices replaced by '#': sensors of one
	// group are compared with each other.
	group string
	// subject is the module, cell or string the point belongs to.
	subject string
	// gas is h2, co, voc ... for gas points.
	gas string
	// part: the subject is a module or a cell, not a string or pack
	part bool
	// volt is what a roleVolt point measures of its subject
	volt voltKind
}

// voltKind is what a module or cell voltage point measures.
type voltKind uint8

const (
	voltWhole   voltKind = iota // the subject's own voltage: module.N.voltage, cell.N.voltage
	voltCell                    // one cell of a module: module.N.cell.M.voltage
	voltCellAvg                 // the mean cell voltage of a module: module.N.cell.avg.voltage
	voltOther                   // any other: module.N.cell.max.voltage, ... (never summed)
)

// classify maps a contract point name to its role, group and subject.
func classify(point string) pointInfo {
	switch {
	case strings.HasPrefix(point, "ambient.") && strings.HasSuffix(point, ".temperature"):
		return pointInfo{role: roleAmbient, group: "ambient", subject: "ambient"}
	case strings.HasPrefix(point, "gas."):
		return pointInfo{role: roleGas, group: point, subject: point, gas: point[len("gas."):]}
	case !strings.HasPrefix(point, "battery."):
		return pointInfo{}
	}
	prefix, rest := "battery.", point[len("battery."):]
	if strings.HasPrefix(rest, "string.") {
		if i := indexEnd(rest, len("string.")); i > len("string.") && i < len(rest) && rest[i] == '.' {
			prefix, rest = point[:len("battery.")+i+1], rest[i+1:]
		}
	}
	subject, part := strings.TrimSuffix(prefix, "."), false
	for _, unit := range []string{"module.", "cell."} {
		if strings.HasPrefix(rest, unit) {
			if i := indexEnd(rest, len(unit)); i > len(unit) && i < len(rest) && rest[i] == '.' {
				subject, part = prefix+rest[:i], true
			}
			break
		}
	}
	info := pointInfo{group: hashDigits(point), subject: subject, part: part}
	switch {
	case rest == "current":
		info.role = roleCurrent
	case rest == "charge":
		info.role = roleCharge
	case strings.HasSuffix(rest, ".temperature") || rest == "temperature":
		info.role = roleTemp
	case strings.HasSuffix(rest, ".voltage") && subject != strings.TrimSuffix(prefix, "."):
		info.role = roleVolt
		switch tail := point[len(subject):]; {
		case tail == ".voltage":
		case tail == ".cell.avg.voltage":
			info.volt = voltCellAvg
		case strings.HasPrefix(tail, ".cell.") && indexEnd(tail, len(".cell.")) == len(tail)-len(".voltage") &&
			len(tail) > len(".cell..voltage"):
			info.volt = voltCell
		default:
			info.volt = voltOther
		}
	case rest == "voltage":
		info.role = roleStrVolt
	}
	return info
}

// indexEnd returns the end of the run of digits starting at s[i].
func indexEnd(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// hashDigits replaces every run of digits by '#'.
func hashDigits(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	digits := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			if !digits {
				b.WriteByte('#')
			}
			digits = true
			continue
		}
		digits = false
		b.WriteByte(c)
	}
	return b.String()
}
