package detect

import (
	"math"
	"math/rand"
	"strconv"
	"time"
)

// simRack is a small lumped thermal model of one battery string for the
// tests: modules in a row conducting to their neighbours and to the room,
// Joule heating from the string current, an optional internal heat source
// in one module, thermistors with lag, noise and resolution.
type simRack struct {
	n        int
	temp     []float64 // module temperatures
	sensor   []float64 // lagged sensor temperatures
	offset   []float64 // constant sensor offset (hot aisle)
	cool     []float64 // conductance to the room, W/K
	heat     []float64 // extra heat, W
	capJ     float64   // heat capacity, J/K
	link     float64   // conductance between neighbours, W/K
	rOhm     float64   // module resistance
	room     float64
	current  float64
	soc      float64
	sagV     []float64 // module voltage offsets
	gasH2    float64
	rng      *rand.Rand
	noise    float64
	res      float64
	every    time.Duration
	start    time.Time
	device   string
	withAmb  bool
	withCurr bool
	withVolt bool
	withGas  bool
}

func newSimRack(n int, seed int64) *simRack {
	r := &simRack{n: n, capJ: 40000, link: 1.5, rOhm: 0.004, room: 24, soc: 1,
		rng: rand.New(rand.NewSource(seed)), noise: 0.15, res: 0.1, every: 10 * time.Second,
		start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), device: "bms-1",
		withAmb: true, withCurr: true, withVolt: true, withGas: true}
	for i := 0; i < n; i++ {
		r.temp = append(r.temp, 24)
		r.sensor = append(r.sensor, 24)
		r.offset = append(r.offset, 0)
		c := 4.0
		if i == 0 || i == n-1 {
			c = 5.5 // end modules see more air
		}
		r.cool = append(r.cool, c)
		r.heat = append(r.heat, 0)
		r.sagV = append(r.sagV, 0)
	}
	return r
}

// step advances the model by dt seconds.
func (r *simRack) step(dt float64) {
	next := make([]float64, r.n)
	for i := range r.temp {
		q := r.current*r.current*r.rOhm + r.heat[i]
		q -= r.cool[i] * (r.temp[i] - r.room)
		if i > 0 {
			q -= r.link * (r.temp[i] - r.temp[i-1])
		}
		if i < r.n-1 {
			q -= r.link * (r.temp[i] - r.temp[i+1])
		}
		next[i] = r.temp[i] + q*dt/r.capJ
		r.sensor[i] += (r.temp[i] - r.sensor[i]) * dt / 120
	}
	r.temp = next
	r.soc += r.current * dt / 3600 / 100
	r.soc = math.Max(0, math.Min(1, r.soc))
}

func (r *simRack) read(v float64) float64 {
	v += r.rng.NormFloat64() * r.noise
	return math.Round(v/r.res) * r.res
}

// run simulates for d, calling change every second of model time, and
// feeds samples to emit every r.every.
func (r *simRack) run(d time.Duration, change func(t time.Duration, r *simRack), emit func(Sample)) {
	next := time.Duration(0)
	for t := time.Duration(0); t <= d; t += time.Second {
		if change != nil {
			change(t, r)
		}
		r.step(1)
		if t < next {
			continue
		}
		next += r.every
		at := r.start.Add(t)
		for i := 0; i < r.n; i++ {
			idx := strconv.Itoa(i + 1)
			emit(Sample{at, r.device, "battery.module." + idx + ".temperature", r.read(r.sensor[i] + r.offset[i])})
			if r.withVolt {
				v := 52.8 + 2*(r.soc-1) + r.current*r.rOhm + r.sagV[i] + r.rng.NormFloat64()*0.01
				emit(Sample{at, r.device, "battery.module." + idx + ".voltage", math.Round(v*100) / 100})
			}
		}
		if r.withCurr {
			emit(Sample{at, r.device, "battery.current", math.Round((r.current+r.rng.NormFloat64()*0.05)*100) / 100})
		}
		if r.withAmb {
			emit(Sample{at, "env-1", "ambient.temperature", r.read(r.room)})
		}
		if r.withGas {
			emit(Sample{at, "env-1", "gas.h2", math.Max(0, math.Round(r.gasH2+r.rng.NormFloat64()*0.5))})
		}
	}
}
