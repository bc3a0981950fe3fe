package detect

import (
	"math"
	"strconv"
	"time"
)

// Event is one alert event (CONTRACTS section 4). Time is trace time, UTC.
type Event struct {
	ID       string         `json:"id"`
	Time     time.Time      `json:"time"`
	Site     string         `json:"site"`
	Gateway  string         `json:"gateway"`
	Device   string         `json:"device"`
	Subject  string         `json:"subject"`
	Kind     string         `json:"kind"`
	Level    string         `json:"level"`
	State    string         `json:"state"`
	Message  string         `json:"message"`
	Evidence map[string]any `json:"evidence"`
}

// Alert kinds (CONTRACTS section 4).
const (
	KindThermalRunaway  = "thermal_runaway"
	KindOffgas          = "offgas"
	KindOverTemperature = "over_temperature"
	KindEnvironment     = "environment"
	KindCellImbalance   = "cell_imbalance"
	KindSensorFault     = "sensor_fault"
	KindCommsLost       = "comms_lost"
)

// Levels and states (CONTRACTS section 4).
const (
	LevelAdvisory = "advisory"
	LevelWarning  = "warning"
	LevelCritical = "critical"

	StateRaised    = "raised"
	StateEscalated = "escalated"
	StateCleared   = "cleared"
)

// level orders alert levels; 0 is no alert.
type level int8

const (
	none level = iota
	advisory
	warning
	critical
)

var levelNames = [...]string{"", LevelAdvisory, LevelWarning, LevelCritical}

// alert is the lifecycle of one alert: device, subject and kind fixed,
// level confirmed over time, cleared after its evidence is gone.
type alert struct {
	subject, kind string
	lvl           level
	id            string
	since         [4]int64 // since when the target has been >= each level; 0 = not
	quiet         int64    // since when the target has been none while active
}

// step feeds the alert its target level at time now (ns). Levels at or
// above instant are taken at once, lower ones after confirm; an active
// alert clears after clear without evidence. It returns the state change
// ("" for none) and the level to report.
func (a *alert) step(now int64, target level, confirm, clear time.Duration, instant level) (string, level) {
	if target == none && a.lvl == none {
		// the common case: nothing then, nothing now
		a.since = [4]int64{}
		return "", none
	}
	for l := advisory; l <= critical; l++ {
		if target >= l {
			if a.since[l] == 0 {
				a.since[l] = now
			}
		} else {
			a.since[l] = 0
		}
	}
	conf := none
	for l := critical; l >= advisory; l-- {
		if target >= l && (l >= instant || now-a.since[l] >= int64(confirm)) {
			conf = l
			break
		}
	}
	if conf > a.lvl {
		state := StateEscalated
		if a.lvl == none {
			state = StateRaised
			a.id = ""
		}
		a.lvl = conf
		a.quiet = 0
		return state, conf
	}
	if a.lvl == none {
		return "", none
	}
	if target != none {
		a.quiet = 0
		return "", none
	}
	if a.quiet == 0 {
		a.quiet = now
	}
	if now-a.quiet >= int64(clear) {
		l := a.lvl
		a.lvl = none
		a.quiet = 0
		return StateCleared, l
	}
	return "", none
}

// eventID derives an alert's ID from device, subject, kind and raise time
// (FNV-1a, 64 bits, hex).
func eventID(device, subject, kind string, raised int64) string {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	mix := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime
		}
		h ^= 0
		h *= prime
	}
	mix(device)
	mix(subject)
	mix(kind)
	mix(strconv.FormatInt(raised, 10))
	b := strconv.AppendUint(make([]byte, 0, 16), h, 16)
	for len(b) < 16 {
		b = append([]byte{'0'}, b...)
	}
	return string(b)
}

// round3 rounds evidence figures to three decimals so they read well and
// print the same everywhere.
func round3(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(float64(v*1000)) / 1000
}
