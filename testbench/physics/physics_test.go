package physics

import (
	"math"
	"math/rand/v2"
	"testing"
)

func newRack(t *testing.T, chem Chemistry, modules, cells int, seed uint64) *Rack {
	t.Helper()
	r, err := NewRack(DefaultConfig(chem, modules, cells), 25, chem.SoCAt(chem.FloatV), rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The heat stored in cells and air changes by exactly what the sources
// put in minus what the cabinet gives to the room.
func TestEnergyBalance(t *testing.T) {
	tests := []struct {
		name  string
		setup func(r *Rack)
	}{
		{"heater", func(r *Rack) { r.Cells[5].Heater = 80 }},
		{"heat into the air", func(r *Rack) { r.ModAirHeater[1], r.AirHeater = 60, 40 }},
		{"discharge", func(r *Rack) { r.Strings[0].Drive = Drive{Kind: Discharge, Power: 20e3} }},
		{"loose joint under charge", func(r *Rack) {
			r.Strings[0].Drive = Drive{Kind: Charge, VCell: 4.1, IMax: 30}
			r.Strings[0].ContactR[1] = 0.05
		}},
		{"soft short", func(r *Rack) { r.Cells[9].Rshort = 2 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRack(t, NMC(), 4, 8, 1)
			r.Room = 22 // the room differs from the rack: heat flows out
			tc.setup(r)
			e0 := r.HeatContent()
			for range 3 * 3600 / 5 {
				r.Step(5)
			}
			got := r.HeatContent() - e0
			want := r.EnergyIn - r.EnergyOut
			if r.EnergyIn <= 0 {
				t.Fatalf("no heat entered: %v", r.EnergyIn)
			}
			if d := math.Abs(got - want); d > 1e-6*math.Abs(r.EnergyIn)+1 {
				t.Errorf("stored %.1f J, sources minus losses %.1f J (in %.1f, out %.1f)", got, want, r.EnergyIn, r.EnergyOut)
			}
		})
	}
}

// An uncontrolled hard short takes a charged cell to runaway within
// minutes, with venting no later than runaway, and off-gas in the cabinet.
func TestHardShortRunsAway(t *testing.T) {
	for _, chem := range []Chemistry{NMC(), LFP()} {
		t.Run(chem.Name, func(t *testing.T) {
			r := newRack(t, chem, 6, 12, 3)
			float(r)
			hot := r.Index(0, 2, 5)
			r.Cells[hot].Rshort = 0.01
			for r.Time < 3600 && !r.Cells[hot].Runaway {
				r.Step(1)
			}
			c := &r.Cells[hot]
			if !c.Runaway {
				t.Fatalf("no runaway after %0.fs: T=%.1f", r.Time, c.T)
			}
			if !c.Vented || c.VentAt > c.RunawayAt {
				t.Errorf("vented %v at %.0fs, runaway at %.0fs", c.Vented, c.VentAt, c.RunawayAt)
			}
			if c.RunawayAt > 1800 {
				t.Errorf("hard short took %.0fs to run away, want minutes", c.RunawayAt)
			}
			for range 600 {
				r.Step(1)
			}
			g := r.GasPPM()
			if g[0] < 100 || g[1] < 100 || g[2] < 100 {
				t.Errorf("cabinet gas after runaway %v ppm", g)
			}
			if r.Cells[r.Hottest()].T > 1500 {
				t.Errorf("peak %.0f °C is not physical", r.Cells[r.Hottest()].T)
			}
		})
	}
}

func float(r *Rack) {
	for s := range r.Strings {
		r.Strings[s].Drive = Drive{Kind: Charge, VCell: r.Chem.FloatV, IMax: 20}
	}
}

// A day of float with room drift and an hour's discharge at 1C stays
// well inside normal limits: no cell above 55 °C, nothing vents.
func TestNuisanceStaysSane(t *testing.T) {
	for _, chem := range []Chemistry{NMC(), LFP()} {
		t.Run(chem.Name, func(t *testing.T) {
			r := newRack(t, chem, 8, 12, 5)
			float(r)
			for r.Time < 86400 {
				r.Room = 24 + 3*math.Sin(2*math.Pi*r.Time/86400)
				switch {
				case r.Time >= 36000 && r.Time < 39600:
					if r.Strings[0].Drive.Kind != Discharge {
						r.Strings[0].Drive = Drive{Kind: Discharge, Power: chem.CapacityAh * chem.OCVAt(0.5) * 96}
					}
				case r.Time >= 39600 && r.Strings[0].Drive.Kind == Discharge:
					r.Strings[0].Drive = Drive{Kind: Charge, VCell: chem.FloatV, IMax: 0.3 * chem.CapacityAh}
				}
				r.Step(10)
			}
			peak := 0.0
			for i := range r.Cells {
				c := &r.Cells[i]
				peak = max(peak, c.T)
				if c.Vented || c.Runaway || c.SoC < -0.01 || c.SoC > 1.05 {
					t.Errorf("cell %d: vented %v runaway %v SoC %.2f", i, c.Vented, c.Runaway, c.SoC)
				}
			}
			if peak > 55 || r.Cells[r.Hottest()].T < 20 {
				t.Errorf("peak cell temperature %.1f °C", peak)
			}
		})
	}
}

// Same seed, same story: bit-identical state.
func TestDeterministicBySeed(t *testing.T) {
	run := func(seed uint64) []float64 {
		r := newRack(t, NMC(), 5, 8, seed)
		float(r)
		r.Cells[12].Rshort, r.Cells[12].ShortRate, r.Cells[12].RshortMin = 3, 1.0/900, 0.005
		for range 3 * 3600 {
			r.Step(1)
		}
		var out []float64
		for i := range r.Cells {
			out = append(out, r.Cells[i].T, r.Cells[i].V, r.Cells[i].VentT, r.Cells[i].Trigger)
		}
		return append(out, r.Gas[:]...)
	}
	a, b, c := run(9), run(9), run(10)
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			t.Fatalf("value %d differs between runs: %v vs %v", i, a[i], b[i])
		}
	}
	same := true
	for i := range a {
		same = same && a[i] == c[i]
	}
	if same {
		t.Error("a different seed gave the same rack")
	}
}

// Calibration puts the 1 °C/s point at the trigger; the SEI alone heats
// measurably, but slowly, around its 80-90 °C onset.
func TestCalibration(t *testing.T) {
	for _, chem := range []Chemistry{NMC(), LFP()} {
		for _, trig := range []float64{140, 200, 260} {
			m := chem.Calibrate(trig)
			if got := chem.selfHeating(trig, m); math.Abs(got-1) > 0.01 {
				t.Errorf("%s: self-heating at %v °C = %v °C/s, want 1", chem.Name, trig, got)
			}
		}
		sei := chem.Reactions[reactSEI]
		rate := func(tc float64) float64 {
			return sei.A * math.Exp(-sei.Ea/(GasConst*(tc+273.15))) * sei.Heat / chem.SpecificHeat * 60
		}
		if r := rate(85); r < 0.005 || r > 0.1 {
			t.Errorf("%s: SEI self-heating at 85 °C %.4f °C/min, want 0.005-0.1", chem.Name, r)
		}
		if r := rate(40); r > 1e-4 {
			t.Errorf("%s: SEI self-heating at 40 °C %.6f °C/min, want negligible", chem.Name, r)
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	var heater, isc []float64
	nmc := NMC()
	for range 2000 {
		heater = append(heater, nmc.TriggerTemperature(rng, false))
		isc = append(isc, nmc.TriggerTemperature(rng, true))
	}
	if m := median(heater); math.Abs(m-254) > 8 {
		t.Errorf("median heater trigger %.0f °C, databank 254", m)
	}
	if m := median(isc); math.Abs(m-165) > 10 {
		t.Errorf("median ISC trigger %.0f °C, databank 165", m)
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}

// VRLA float current doubles for about every 10 °C.
func TestVRLAFloatCurrent(t *testing.T) {
	r := newRack(t, VRLA(), 4, 6, 1)
	float(r)
	r.Step(1)
	i25 := r.Strings[0].I
	for i := range r.Cells {
		r.Cells[i].T = 35
	}
	r.Step(1)
	if ratio := r.Strings[0].I / i25; ratio < 1.8 || ratio > 2.2 {
		t.Errorf("float current 25 -> 35 °C rose %.2f times, want about 2 (%.3f A -> %.3f A)", ratio, i25, r.Strings[0].I)
	}
	if i25 < 0.05 || i25 > 0.2 {
		t.Errorf("float current at 25 °C %.3f A for 100 Ah, want about 0.1", i25)
	}
}

// A VRLA string on float stands at the charger's voltage (its cells'
// over-voltage above open circuit drives the float current), and a
// charger raised to an equalising voltage raises it with the current.
func TestVRLAFloatVoltage(t *testing.T) {
	r := newRack(t, VRLA(), 4, 6, 1)
	n := float64(4 * 6)
	for _, c := range []struct {
		vCell       float64
		iLow, iHigh float64 // the float current expected, A
	}{
		{2.27, 0.05, 0.2},
		{2.35, 0.25, 0.8}, // ten times per 120 mV
	} {
		for i := range r.Strings {
			r.Strings[i].Drive = Drive{Kind: Charge, VCell: c.vCell, IMax: 20}
		}
		r.Step(1)
		st := r.Strings[0]
		if got, want := st.V, c.vCell*n; math.Abs(got/want-1) > 0.002 {
			t.Errorf("string at %.2f V per cell: terminal %.2f V, want %.2f", c.vCell, got, want)
		}
		if st.I < c.iLow || st.I > c.iHigh {
			t.Errorf("string at %.2f V per cell: float current %.3f A, want %.2f-%.2f", c.vCell, st.I, c.iLow, c.iHigh)
		}
	}
}

func TestChannel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	c := Channel{Resolution: 0.1, Faults: []Fault{
		{Kind: Spike, From: 10, To: 11, Value: 85},
		{Kind: Open, From: 20, To: 30},
		{Kind: Stuck, From: 40, To: 50},
		{Kind: Silent, From: 60, To: 70},
		{Kind: Offset, From: 80, To: 90, Value: 3},
	}}
	tests := []struct {
		t, v   float64
		want   float64
		wantOK bool
	}{
		{0, 24.44, 24.4, true},
		{10, 24.44, 85, true},
		{20, 24.44, math.NaN(), true},
		{39, 25.0, 25.0, true},
		{45, 30.0, 25.0, true},
		{65, 30.0, 0, false},
		{85, 30.0, 33.0, true},
		{95, 30.04, 30.0, true},
	}
	for _, tc := range tests {
		got, ok := c.Read(tc.t, tc.v, rng)
		if ok != tc.wantOK || (ok && !(got == tc.want || math.IsNaN(got) && math.IsNaN(tc.want))) {
			t.Errorf("Read(%v, %v) = %v, %v; want %v, %v", tc.t, tc.v, got, ok, tc.want, tc.wantOK)
		}
	}
	clip := Channel{Min: -40, Max: 150}
	if v, _ := clip.Read(0, 700, rng); v != 150 {
		t.Errorf("clipped reading %v, want 150", v)
	}
}

// A thermistor between two cells sees their mean through its lag: after one
// time constant it has covered 63 % of a step.
func TestThermistorLag(t *testing.T) {
	r := newRack(t, NMC(), 2, 8, 1)
	th := NewThermistor(r, 0, 3, 0, 100)
	th.Update(r, 0)
	r.Cells[3].T, r.Cells[4].T = 45, 35 // mean +15 over 25
	var v float64
	for range 100 {
		v = th.Update(r, 1)
	}
	if want := 25 + 15*(1-math.Exp(-1)); math.Abs(v-want) > 0.05 {
		t.Errorf("after one time constant %.2f °C, want %.2f", v, want)
	}
}

// A loose joint drops voltage in the direction of the current: the
// string's terminal voltage is the sum of its cells plus I times the
// joint's resistance (lower under discharge, higher under charge), and
// the joint's heat is I² times its resistance.
func TestJointVoltage(t *testing.T) {
	tests := []struct {
		name  string
		drive Drive
	}{
		{"discharge", Drive{Kind: Discharge, Power: 20e3}},
		{"charge", Drive{Kind: Charge, VCell: 4.1, IMax: 30}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRack(t, NMC(), 4, 8, 1)
			const rc = 0.05
			r.Strings[0].Drive = tc.drive
			r.Strings[0].ContactR[1] = rc
			r.Step(5)
			st := &r.Strings[0]
			sum := 0.0
			for m := range 4 {
				sum += r.ModuleVoltage(m)
			}
			if st.I == 0 {
				t.Fatal("no current")
			}
			if got, want := st.V, sum+st.I*rc; math.Abs(got-want) > 1e-9 {
				t.Errorf("string %.4f V, cells %.4f V + I·R %.4f V = %.4f V", got, sum, st.I*rc, want)
			}
			if (tc.drive.Kind == Discharge) != (st.V < sum) {
				t.Errorf("%s at %.1f A: string %.3f V against cells %.3f V", tc.name, st.I, st.V, sum)
			}
		})
	}
}
