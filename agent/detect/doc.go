// Package detect is the streaming thermal-runaway detector: it is fed
// readings one at a time (Observe) and told when time passes without one
// (Advance), and returns alert events in the shape of the Emberwatch
// contracts (section 4).
//
// The detector is pure: no I/O, no wall clock, no goroutines. Time is taken
// from the samples, so the same sequence of samples always gives the same
// events, byte for byte, on every architecture (the arithmetic avoids
// fused multiply-add and transcendental functions on decision paths).
// Memory is bounded by the number of distinct devices and points, never by
// the length of the stream.
//
// How it decides, per device and subject (a module, a cell, a string):
//
//   - Glitch filter. Each sensor's samples pass a plausibility range, a
//     jump filter (a jump larger than Config.SpikeJump is held until later
//     samples have confirmed it for 30 s, so spikes such as 85, 127 or
//     -40, or a glitch held over a few fast polls, are rejected) and a
//     median of three (small one-sample noise). A step of
//     Config.StepJump between two samples (or, on a noisy sensor whose
//     median takes it in two moves, three) that then stays put is an
//     offset, not heat: a thermistor between cells lags them by a minute
//     or more. Whether it stayed, and its height, are judged on the mean
//     of the samples over the 45 s after it against the smoothed level
//     before it, not on single noisy samples. NaN (open
//     circuit), values stuck while the neighbours move, spikes and steps
//     are sensor_fault, and a faulty sensor never feeds the verdict. A
//     sensor back from a gap, an open circuit or a module swap is watched
//     for Config.Settle before its rise counts. A sensor that glitches
//     again and again (Config.ErraticGlitches times, each fading over
//     Config.ErraticFade: three within the last hour or so; a probe dropping
//     in and out of a BMS's maximum) is erratic: how it moves makes no
//     more than a thermal_runaway advisory, only how hot it is more.
//   - Differential rise. Each battery temperature is smoothed and compared
//     with the median of the other sensors of its group (its neighbours),
//     or, when it has none, with the room air. A one-sided CUSUM accumulates
//     the rise of that difference beyond what is expected: a slow drift
//     allowance plus a share of the common-mode and room temperature
//     changes. Common-mode heating (a discharge warms every module, an HVAC
//     failure warms every module and the room) therefore accumulates
//     nothing, a constant offset (hot-aisle end modules) accumulates
//     nothing, and a warm module cooling down accumulates nothing. In a
//     group of three modules or fewer (however many probes each reports)
//     one of them moves the reference, so the rise counted is at most the
//     sensor's own. The thresholds scale up
//     with the sensor's own noise (Config.RiseNoiseZ).
//   - A rise at rest. While the string has been at rest for two hours
//     (its current known, no discharge, no charge) and its median
//     temperature and the room hold steady, nothing should heat one
//     module and not its neighbours: a rise of Config.QuietRise over
//     Config.QuietWindow, against the neighbours and of its own level,
//     built up over the window (or accelerating, as self-heating does)
//     and still building (not slowing down like an offset step through a
//     thermistor's lag), is a warning; not within the window after a probe
//     of the same module went silent or came back, nor within the fall
//     of a module of the string standing well above it and cooling (heat
//     it conducts), nor within the sensor's own wander
//     (Config.QuietNoiseZ times its noise). A cell
//     heating far from its module's thermistor shows there only as a
//     degree or two before it vents. With two other modules or fewer, the
//     module's neighbours holding steady will do for the median (which the
//     module itself moves). A module with no neighbours is judged
//     against the room, the room alone held steady; a pack temperature is
//     not (the electronics around it heat with their load).
//   - Heat with nothing to explain it. A module heating Config.ChargeRate
//     beyond the room while the string is not discharging (overcharge), or
//     past the over-temperature limit and still heating with no discharge,
//     is a runaway warning; a discharge in the last 20 minutes explains
//     it, as the thermistors lag the cells. A sensor without neighbours
//     cannot tell Joule heating from a runaway by its level; it is judged by acceleration (a
//     runaway heats faster as it gets hotter, a loaded cell heats slower as
//     it nears equilibrium) and by the onset temperature
//     (Config.RunawayTemp, from the NREL/NASA databank).
//   - The string as a whole. Every ten minutes the float current and the
//     string's median temperature above the room are followed over five
//     hours: a float current climbing to Config.FloatRatio times its
//     baseline (VRLA thermal runaway, IEEE 1491) while the string warms
//     with no load and a steady room is a warning; neither trend counts
//     within five hours of a temperature back from a gap (a module
//     swapped in charges), nor a climb with the string's voltage raised
//     (an equalising charge); the baseline is learnt anew at the raised
//     voltage, so a charge held there longer than the window is judged
//     against its own current. A room probe or current missing for a
//     while (nan, silent) leaves a gap that the trends are fitted across,
//     when three quarters of the window is there; a load in the window
//     leaves no trend, and the string's warming counts only while the
//     room is known. A charge that began
//     from float (no discharge before it, no module swapped in) is no
//     load: a large bank's float current, or its climb, may pass
//     Config.LoadCurrent. In a bank of strings in parallel each string
//     (battery.string.S.current) is followed on its own current and the
//     median of its own modules, and its verdict goes to that string or
//     its module standing out.
//   - Internal shorts. A short drains its cell: the module or cell
//     voltage falls against the median of its group while the string is
//     at rest, often before its thermistor sees any heat. The deviation is
//     averaged over two minutes and must hold for four, in that average
//     and in each minute's mean of the raw deviation (a misreading of a
//     minute is no fall), and is measured
//     both relative (Config.VoltageStep, VoltageFall) and in units of that
//     sensor's own noise (VoltageStepZ, VoltageFallZ), so a coarse or
//     noisy voltage channel does not alarm. A step is an advisory and
//     corroborates thermal evidence; a deep fall that leaves the voltage
//     below its group by half Config.VoltageFall is a warning on its own.
//   - The charger feeding a short. A Li-ion string at float draws almost
//     no current; a cell drained by a short makes the charger feed it, so
//     the string current steps up (Config.FloatStep over the median of the
//     half hour before, held two minutes, no discharge in the last two
//     hours). That alone is an advisory; with a voltage of that string
//     stepping down it is a warning at once, and so is a jump of five
//     times the threshold before it held two minutes. A voltage steps
//     down when all of its own samples (not its smoothed level) of the
//     last two minutes but one stand Config.VoltageStep and three times
//     their noise below its offset: a stray sample near the group does
//     not hide it, and a misread sample does not make it. Where no
//     voltage can show which module the charger feeds, a step of five
//     times the threshold is a warning at once by itself: on the module
//     of a string of one (the charger holds its voltage, which has no
//     group to step against), and on a string none of whose voltages has
//     a group (two modules, no module voltages). No step counts, not even as an
//     advisory, while the string's terminal voltage stands raised above
//     its half hour before (the charger raised it: an equalising or
//     top-up charge).
//   - Heat from the electrical side under load. Every module of a series
//     string carries the same current, so a voltage held
//     Config.DischargeDeviation below its group while the string discharges
//     turns the missing voltage times the current into heat inside it (a
//     high-resistance cell, a cell driven towards reversal, even below
//     zero): a warning from Config.DischargeHeat watts. A module's mean
//     cell voltage (battery.module.N.cell.avg.voltage) counts for the
//     module, times its cells (the string's voltage over the sum of the
//     means at rest). The sum of a string's module voltages (with none,
//     its cell voltages; with none, its mean cell voltages times the
//     cells) minus its terminal voltage, from the same poll, is what its
//     wiring drops (with one module, between it and the terminals); its
//     excess over the wiring's own baseline resistance, times the
//     current, is heat in a joint: a warning from Config.JointHeat. A
//     poll with a voltage below half or above one and a half times their
//     mean (0 V, a garbled register) is left out.
//   - Corroboration. A cell or module voltage sagging against its group,
//     off-gas (gas.h2, gas.co, gas.voc) rising above its baseline in the
//     room, and a climbing float current each raise a module's verdict by
//     one level when thermal evidence exists. Venting gas alone is a
//     warning, raised at once, on the module standing out most. Vented
//     gas is a mix every detector in the room sees: where two or more
//     report, the highest counts for at most one level above the next
//     highest, so one detector alone (glitching, drifting, stepping) is
//     not venting. A detector's negative reading, its register's "no
//     value" (65535, 32767, 6553.5, 3276.7) and a jump of the gas's
//     warning threshold that falls back within 30 s are sensor_fault
//     glitches, not gas.
//   - Fast events follow GB 38031-2025: a rise of at least Config.FastRate
//     sustained longer than Config.FastHold, with a voltage drop or above
//     the over-temperature limit, is critical at once.
//   - Fusion and hysteresis. Each alert needs its level to hold for
//     Config.Confirm before it is raised or escalated, and its evidence to
//     be gone for Config.Clear before it is cleared (three times as long
//     for thermal_runaway, which also stays while its module is hot or
//     unseen). Event IDs derive from device, subject, kind and raise time,
//     so escalated and cleared events carry the ID of the raised one.
//
// Separate kinds: over_temperature (absolute module limits), environment
// (room air rising or too hot), offgas, cell_imbalance, sensor_fault and
// comms_lost.
package detect
