package detect

import (
	"fmt"
	"time"
)

// Config holds the detector's thresholds. The zero value of any field means
// its default (DefaultConfig); a site config sets them under its `detect:`
// key with the yaml names below. Temperatures are in °C, rates in °C per
// unit named, voltages relative (0.01 = 1 %), gases in ppm above baseline.
type Config struct {
	// Site and Gateway are copied into every event. They come from the
	// site config's top level, not from its detect section.
	Site    string `yaml:"-"`
	Gateway string `yaml:"-"`

	// Tick is how often the per-device evaluation runs, in trace time. 10s.
	Tick time.Duration `yaml:"tick"`
	// Smoothing is the time constant of the temperature filter. 60s.
	Smoothing time.Duration `yaml:"smoothing"`
	// Confirm is how long an alert's level must hold before it is raised or
	// escalated. 30s. Critical thermal_runaway, and a warning from
	// venting gas, are never delayed.
	Confirm time.Duration `yaml:"confirm"`
	// Clear is how long the evidence must be gone before an alert clears.
	// 10m; thermal_runaway waits three times as long.
	Clear time.Duration `yaml:"clear"`
	// StaleAfter is how old a sensor's last sample may be and still take
	// part in the comparison with its neighbours. 3m.
	StaleAfter time.Duration `yaml:"stale_after"`
	// Settle is how long a sensor back from a gap, an open circuit or a
	// module swap is watched before its rise counts: a thermistor takes
	// minutes to reach the temperature of a new module. 10m; longer, a
	// minute at a time up to half an hour, while its rate of rise still
	// falls from one minute to the next (it is still converging).
	Settle time.Duration `yaml:"settle"`
	// CommsLost is how long a device may be silent before comms_lost (at
	// least five of its usual sampling intervals). 60s.
	CommsLost time.Duration `yaml:"comms_lost"`

	// DriftPerHour is how fast (°C/h) a module may warm relative to its
	// neighbours without that counting as a rise: sensor drift, ageing. 1.
	DriftPerHour float64 `yaml:"drift_per_hour"`
	// CommonModeGain is the share of its neighbours' temperature change
	// that a module may add on top (modules heat unevenly under a
	// discharge). 0.3.
	CommonModeGain float64 `yaml:"common_mode_gain"`
	// AmbientGain is the share of the room's temperature change a module
	// may add on top (end modules follow the room faster). 0.35.
	AmbientGain float64 `yaml:"ambient_gain"`
	// RiseAdvisory, RiseWarning and RiseCritical are the accumulated
	// unexplained rise (°C, the CUSUM) for each thermal_runaway level.
	// 1.5, 3 and 12. On the testbench's nuisance set the first false
	// warning appears at a rise_warning of 1.8.
	RiseAdvisory float64 `yaml:"rise_advisory"`
	RiseWarning  float64 `yaml:"rise_warning"`
	RiseCritical float64 `yaml:"rise_critical"`
	// RiseNoiseZ scales the three rise thresholds up for a noisy
	// thermistor, so that rise_warning is at least this many times the
	// noise of its smoothed temperature (estimated from its successive
	// samples). 10: a sensor with 1 °C of noise polled every 30 s then
	// needs a rise of 4.5 °C for a warning; one with 0.3 °C at 10 s is not
	// affected.
	RiseNoiseZ float64 `yaml:"rise_noise_z"`
	// QuietRise is the rise (°C) of a module above its neighbours, and of
	// its own level, over the last QuietWindow that is a runaway warning
	// while the string is at rest: no discharge and no charge at
	// LoadCurrent for two hours, its current known, and the string's
	// median temperature and the room (its quarter-hour running mean: an
	// air conditioner's cycling does not reach the modules) each steady
	// within QuietSpan over the window. Nothing at rest heats one module and not its
	// neighbours; a cell heating far from the module's thermistor shows
	// there only as a degree or two. With two other modules or fewer (the
	// module itself moves the median), its neighbours steady will do for
	// the string's median. A module (or cell) with no
	// neighbours is judged the same way against the room, the room alone
	// steady; a pack temperature is not (the UPS's electronics around it
	// heat with their load). The rise must build over the window
	// and still be building (not a step), and is counted net of a share
	// of the module's standing offset (a hot-aisle end module follows its
	// outside heat) and of the sensor's grain (the usual size of a change
	// between its samples: one step of a coarse resolution). Building
	// means a quarter of the rise before the last ten minutes, or a rise
	// begun before them that grew faster in each of the last two
	// five-minute spans (self-heating accelerates); still building, the
	// last five minutes rising at least half as much as the five before
	// (an offset step through a thermistor's lag slows down). No rise
	// counts within the window after a probe of the same module went
	// silent or came back, nor the part of it within the fall over the
	// window of a module of the string standing 2 °C or more above it and
	// cooling (heat that module conducts), and a module's neighbours
	// standing in for the median must hold within half of quiet_rise. The
	// threshold scales up with the sensor's noise as the rise thresholds
	// do, and further by quiet_noise_z. A negative quiet_rise turns the
	// rule off; quiet_window is 10m to 30m. 0.65, 30m and 0.6.
	QuietRise float64 `yaml:"quiet_rise"`
	// QuietNoiseZ raises quiet_rise, for each sensor, by this many times
	// the noise of its smoothed temperature (as rise_noise_z measures
	// it): a noisy thermistor wanders over half an hour by several times
	// that noise, and a wander that happens to build up must not pass for
	// heat. 3: a sensor with 0.1 °C of noise polled every 10 s adds about
	// 0.08 °C, one with 0.5 °C at 10 s (or 0.3 °C at 30 s) about 0.4 °C.
	QuietNoiseZ float64       `yaml:"quiet_noise_z"`
	QuietWindow time.Duration `yaml:"quiet_window"`
	QuietSpan   float64       `yaml:"quiet_span"`
	// AccelRate is the rate of rise (°C/min over AccelWindow) a sensor
	// without neighbours needs, together with doubling its rate of the
	// window before, to be judged self-heating. 1.
	AccelRate   float64       `yaml:"accel_rate"`
	AccelWindow time.Duration `yaml:"accel_window"` // 5m
	// RunawayTemp is the battery temperature at which a still rising
	// module is taken to be in self-heating (thermal_runaway critical). The
	// NREL/NASA databank's heater tests with internal-short devices trigger
	// from about 90 °C (10th percentile), a module sensor lags the cell. 80.
	RunawayTemp float64 `yaml:"runaway_temp"`
	// ChargeRate is the rate of rise (°C/min over five minutes, beyond the
	// room's) at which a module heating with no discharge to explain it
	// (overcharge, a charger that lost its limit) is a runaway warning. 1.
	ChargeRate float64 `yaml:"charge_rate"`
	// FastRate and FastHold are the GB 38031-2025 rule: a rise of at least
	// FastRate (°C/s) sustained longer than FastHold. 1 and 3s.
	FastRate float64       `yaml:"fast_rate"`
	FastHold time.Duration `yaml:"fast_hold"`

	// OverTemp are the absolute battery temperature limits for
	// over_temperature advisory, warning and critical. 50, 60, 75.
	OverTempAdvisory float64 `yaml:"over_temp_advisory"`
	OverTempWarning  float64 `yaml:"over_temp_warning"`
	OverTempCritical float64 `yaml:"over_temp_critical"`

	// VoltageSag is the drop of a module or cell voltage relative to its
	// group (fraction, against its own long-run offset) that counts as
	// runaway evidence. 0.01. VoltageDrop is a sudden drop (within 30 s)
	// that marks a hard internal short. 0.03.
	VoltageSag float64 `yaml:"voltage_sag"`
	// VoltageStep and VoltageStepZ: a module or cell voltage below its
	// group, averaged over two minutes and held for four with the string
	// at rest, by at least VoltageStep (relative) and VoltageStepZ times
	// its own noise, is a cell drained by an internal short: an advisory,
	// and corroboration of thermal evidence (at half VoltageStepZ). 0.0012
	// and 8. VoltageFall and VoltageFallZ are the same for a warning on its
	// own, once the voltage stands half VoltageFall below its group.
	// 0.006 and 15.
	// On the testbench's nuisance set a held sag reaches 0.44 % and 6.8
	// times its noise.
	VoltageStep  float64 `yaml:"voltage_step"`
	VoltageStepZ float64 `yaml:"voltage_step_z"`
	VoltageFall  float64 `yaml:"voltage_fall"`
	VoltageFallZ float64 `yaml:"voltage_fall_z"`
	VoltageDrop  float64 `yaml:"voltage_drop"`
	// DischargeDeviation and DischargeHeat: a module or cell voltage at least
	// DischargeDeviation (relative) below its group, held three minutes
	// while its string discharges with more than a fifth of its charge
	// left, turns the missing voltage times the current into heat inside
	// it; at DischargeHeat watts or more it is a runaway warning (a
	// high-resistance cell, a cell driven towards reversal). 0.03 and 150.
	DischargeDeviation float64 `yaml:"discharge_deviation"`
	DischargeHeat      float64 `yaml:"discharge_heat_w"`
	// JointHeat is the heat (W) in a string's wiring beyond its own
	// baseline, held three minutes under load, that is a runaway warning:
	// a loose or corroded joint between modules. The wiring's voltage is
	// the sum of the module voltages minus the string voltage; its heat is
	// that voltage times the current. 150.
	JointHeat float64 `yaml:"joint_heat_w"`
	// ImbalanceAdvisory and ImbalanceWarning are the deviation of a module
	// or cell voltage from its group's median for cell_imbalance. 0.03, 0.06.
	ImbalanceAdvisory float64 `yaml:"imbalance_advisory"`
	ImbalanceWarning  float64 `yaml:"imbalance_warning"`

	// GasAdvisory and GasWarning are off-gas rises above baseline (ppm) per
	// gas (h2, co, voc; others use voc's). h2 10/50, co 10/30, voc 5/20.
	GasAdvisory map[string]float64 `yaml:"gas_advisory"`
	GasWarning  map[string]float64 `yaml:"gas_warning"`

	// AmbientRiseAdvisory and AmbientRiseWarning are room air rises within
	// 30 minutes for environment. 3 and 6. AmbientAdvisory and
	// AmbientWarning are absolute room limits. 35 and 40.
	AmbientRiseAdvisory float64 `yaml:"ambient_rise_advisory"`
	AmbientRiseWarning  float64 `yaml:"ambient_rise_warning"`
	AmbientAdvisory     float64 `yaml:"ambient_advisory"`
	AmbientWarning      float64 `yaml:"ambient_warning"`

	// LoadCurrent is the battery current magnitude (A) above which a
	// string counts as under load (discharge or recharge). 2. A charge
	// that began from float (no discharge in the two hours before it, no
	// module back from a gap) is no recharge and no load: the charger
	// feeding a fault, or the float of a bank large enough to draw more.
	LoadCurrent float64 `yaml:"load_current"`
	// FloatRatio and FloatMin: a float current that reaches FloatRatio
	// times its baseline after climbing at least FloatMin amperes (and half
	// its baseline) over five hours with no load is VRLA thermal runaway
	// evidence (IEEE 1491). 2, 0.2. The climb is followed past
	// LoadCurrent (see there).
	FloatRatio float64 `yaml:"float_ratio"`
	FloatMin   float64 `yaml:"float_min"`
	// FloatStep is how far (A) a string current at rest may rise above its
	// lowest of the last half hour, held two minutes, with no discharge
	// in the last two hours and the room steady, before it counts as the
	// charger feeding an internal short: an advisory on its own, a warning
	// with a module or cell voltage stepping down in that string (at once
	// for a jump of five times FloatStep, held or not); none
	// while the string's terminal voltage stands 1 % above its half hour
	// before (the charger raised it). 0.2.
	FloatStep float64 `yaml:"float_step"`
	// StringWarm is how much (°C over five hours) the string's median
	// temperature may rise above the room, beyond the room's own span over
	// those hours, with no load and the room steady within StringRoomSpan
	// up to now, before it counts as warming on its own (VRLA runaway). 2
	// and 3. Only warming beyond the string's usual place above the room
	// (a day's average) counts: a string catching up with a room that
	// stepped up and stayed is not warming on its own.
	StringWarm     float64 `yaml:"string_warm"`
	StringRoomSpan float64 `yaml:"string_room_span"`

	// SensorMin and SensorMax bound plausible temperatures. -30, 600 (a
	// cell in runaway passes 500 °C).
	SensorMin float64 `yaml:"sensor_min"`
	SensorMax float64 `yaml:"sensor_max"`
	// SpikeJump is the temperature jump between two samples (°C) that is
	// held until the samples after it have confirmed it for 30 s. 8.
	SpikeJump float64 `yaml:"spike_jump"`
	// StepJump is the smallest jump between two samples less than a minute
	// apart that is taken as an offset step rather than heat: a
	// thermistor between cells lags them by a minute or more. 2.
	StepJump float64 `yaml:"step_jump"`
	// StuckAfter is how long a value may stay identical while its
	// neighbours move by StuckDelta before it is a stuck sensor. 15m, 1.5.
	StuckAfter time.Duration `yaml:"stuck_after"`
	StuckDelta float64       `yaml:"stuck_delta"`
	// ErraticGlitches is the count of a sensor's glitches (spikes, steps,
	// values out of range), each fading with the time constant
	// ErraticFade, from which it is erratic: a failing probe or its wiring
	// (one dropping in and out of a BMS's maximum), whose movements make
	// no more than a thermal_runaway advisory; how hot it is still counts
	// in full. 3 and 1h.
	ErraticGlitches float64       `yaml:"erratic_glitches"`
	ErraticFade     time.Duration `yaml:"erratic_fade"`

	// Air names, per battery device, the devices whose ambient.* and gas.*
	// readings are its room and cabinet air. A device not listed breathes
	// the air of every device.
	Air map[string][]string `yaml:"air"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Tick:                10 * time.Second,
		Smoothing:           60 * time.Second,
		Confirm:             30 * time.Second,
		Clear:               10 * time.Minute,
		StaleAfter:          3 * time.Minute,
		CommsLost:           60 * time.Second,
		Settle:              10 * time.Minute,
		DriftPerHour:        1,
		CommonModeGain:      0.3,
		AmbientGain:         0.35,
		RiseAdvisory:        1.5,
		RiseWarning:         3,
		RiseCritical:        12,
		RiseNoiseZ:          10,
		QuietRise:           0.65,
		QuietNoiseZ:         3,
		QuietWindow:         30 * time.Minute,
		QuietSpan:           0.6,
		AccelRate:           1,
		AccelWindow:         5 * time.Minute,
		RunawayTemp:         80,
		ChargeRate:          1,
		FastRate:            1,
		FastHold:            3 * time.Second,
		OverTempAdvisory:    50,
		OverTempWarning:     60,
		OverTempCritical:    75,
		VoltageSag:          0.01,
		VoltageStep:         0.0012,
		VoltageStepZ:        8,
		VoltageFall:         0.006,
		VoltageFallZ:        15,
		VoltageDrop:         0.03,
		DischargeDeviation:  0.03,
		DischargeHeat:       150,
		JointHeat:           150,
		ImbalanceAdvisory:   0.03,
		ImbalanceWarning:    0.06,
		GasAdvisory:         map[string]float64{"h2": 10, "co": 10, "voc": 5},
		GasWarning:          map[string]float64{"h2": 50, "co": 30, "voc": 20},
		AmbientRiseAdvisory: 3,
		AmbientRiseWarning:  6,
		AmbientAdvisory:     35,
		AmbientWarning:      40,
		LoadCurrent:         2,
		FloatRatio:          2,
		FloatMin:            0.2,
		FloatStep:           0.2,
		StringWarm:          2,
		StringRoomSpan:      3,
		SensorMin:           -30,
		SensorMax:           600,
		SpikeJump:           8,
		StepJump:            2,
		StuckAfter:          15 * time.Minute,
		StuckDelta:          1.5,
		ErraticGlitches:     3,
		ErraticFade:         time.Hour,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	durs := []struct{ v, def *time.Duration }{
		{&c.Tick, &d.Tick}, {&c.Smoothing, &d.Smoothing}, {&c.Confirm, &d.Confirm},
		{&c.Clear, &d.Clear}, {&c.StaleAfter, &d.StaleAfter}, {&c.CommsLost, &d.CommsLost}, {&c.Settle, &d.Settle},
		{&c.AccelWindow, &d.AccelWindow}, {&c.FastHold, &d.FastHold}, {&c.StuckAfter, &d.StuckAfter},
		{&c.QuietWindow, &d.QuietWindow}, {&c.ErraticFade, &d.ErraticFade},
	}
	for _, p := range durs {
		if *p.v == 0 {
			*p.v = *p.def
		}
	}
	fls := []struct{ v, def *float64 }{
		{&c.DriftPerHour, &d.DriftPerHour}, {&c.CommonModeGain, &d.CommonModeGain},
		{&c.AmbientGain, &d.AmbientGain}, {&c.RiseAdvisory, &d.RiseAdvisory},
		{&c.RiseWarning, &d.RiseWarning}, {&c.RiseCritical, &d.RiseCritical}, {&c.RiseNoiseZ, &d.RiseNoiseZ},
		{&c.QuietRise, &d.QuietRise}, {&c.QuietNoiseZ, &d.QuietNoiseZ}, {&c.QuietSpan, &d.QuietSpan},
		{&c.AccelRate, &d.AccelRate}, {&c.RunawayTemp, &d.RunawayTemp}, {&c.FastRate, &d.FastRate}, {&c.ChargeRate, &d.ChargeRate},
		{&c.OverTempAdvisory, &d.OverTempAdvisory}, {&c.OverTempWarning, &d.OverTempWarning},
		{&c.OverTempCritical, &d.OverTempCritical}, {&c.VoltageSag, &d.VoltageSag}, {&c.VoltageStep, &d.VoltageStep},
		{&c.VoltageStepZ, &d.VoltageStepZ}, {&c.VoltageFall, &d.VoltageFall}, {&c.VoltageFallZ, &d.VoltageFallZ},
		{&c.VoltageDrop, &d.VoltageDrop},
		{&c.DischargeDeviation, &d.DischargeDeviation}, {&c.DischargeHeat, &d.DischargeHeat},
		{&c.JointHeat, &d.JointHeat}, {&c.ImbalanceAdvisory, &d.ImbalanceAdvisory},
		{&c.ImbalanceWarning, &d.ImbalanceWarning}, {&c.AmbientRiseAdvisory, &d.AmbientRiseAdvisory},
		{&c.AmbientRiseWarning, &d.AmbientRiseWarning}, {&c.AmbientAdvisory, &d.AmbientAdvisory},
		{&c.AmbientWarning, &d.AmbientWarning}, {&c.LoadCurrent, &d.LoadCurrent},
		{&c.FloatRatio, &d.FloatRatio}, {&c.FloatMin, &d.FloatMin}, {&c.FloatStep, &d.FloatStep},
		{&c.StringWarm, &d.StringWarm}, {&c.StringRoomSpan, &d.StringRoomSpan}, {&c.SensorMin, &d.SensorMin},
		{&c.SensorMax, &d.SensorMax}, {&c.SpikeJump, &d.SpikeJump}, {&c.StepJump, &d.StepJump}, {&c.StuckDelta, &d.StuckDelta},
		{&c.ErraticGlitches, &d.ErraticGlitches},
	}
	for _, p := range fls {
		if *p.v == 0 {
			*p.v = *p.def
		}
	}
	for k, v := range d.GasAdvisory {
		if _, ok := c.GasAdvisory[k]; !ok {
			c.GasAdvisory = merged(c.GasAdvisory, k, v)
		}
	}
	for k, v := range d.GasWarning {
		if _, ok := c.GasWarning[k]; !ok {
			c.GasWarning = merged(c.GasWarning, k, v)
		}
	}
	return c
}

func merged(m map[string]float64, k string, v float64) map[string]float64 {
	out := make(map[string]float64, len(m)+1)
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

// Validate reports the first threshold that makes no sense, naming its
// yaml key.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Tick < 0 || c.Smoothing < 0 || c.Confirm < 0 || c.Clear < 0 || c.StaleAfter < 0 || c.Settle < 0 ||
		c.CommsLost < 0 || c.AccelWindow < 0 || c.FastHold < 0 || c.StuckAfter < 0 || c.ErraticFade < 0:
		return fmt.Errorf("detect: durations must not be negative")
	case !(c.RiseAdvisory < c.RiseWarning && c.RiseWarning < c.RiseCritical):
		return fmt.Errorf("detect: rise_advisory < rise_warning < rise_critical, got %g, %g, %g",
			c.RiseAdvisory, c.RiseWarning, c.RiseCritical)
	case !(c.OverTempAdvisory < c.OverTempWarning && c.OverTempWarning < c.OverTempCritical):
		return fmt.Errorf("detect: over_temp_advisory < over_temp_warning < over_temp_critical, got %g, %g, %g",
			c.OverTempAdvisory, c.OverTempWarning, c.OverTempCritical)
	case c.SensorMin >= c.SensorMax:
		return fmt.Errorf("detect: sensor_min %g must be below sensor_max %g", c.SensorMin, c.SensorMax)
	case c.ImbalanceAdvisory >= c.ImbalanceWarning:
		return fmt.Errorf("detect: imbalance_advisory %g must be below imbalance_warning %g",
			c.ImbalanceAdvisory, c.ImbalanceWarning)
	case c.QuietWindow < 10*time.Minute || c.QuietWindow > time.Duration(histLen-2)*time.Minute:
		return fmt.Errorf("detect: quiet_window must be 10m to %dm, got %s", histLen-2, c.QuietWindow)
	case c.QuietSpan < 0:
		return fmt.Errorf("detect: quiet_span must not be negative, got %g", c.QuietSpan)
	case c.ErraticGlitches < 1:
		return fmt.Errorf("detect: erratic_glitches must be 1 or more, got %g", c.ErraticGlitches)
	case c.CommonModeGain < 0 || c.AmbientGain < 0 || c.DriftPerHour < 0 || c.RiseNoiseZ < 0 || c.QuietNoiseZ < 0:
		return fmt.Errorf("detect: drift_per_hour, common_mode_gain, ambient_gain, rise_noise_z and quiet_noise_z must not be negative")
	}
	for k, v := range c.GasAdvisory {
		if w, ok := c.GasWarning[k]; ok && v >= w {
			return fmt.Errorf("detect: gas_advisory.%s %g must be below gas_warning.%s %g", k, v, k, w)
		}
	}
	return nil
}
