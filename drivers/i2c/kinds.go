package i2c

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/emberwatch/emberwatch/drivers/i2c/ads1115"
	"github.com/emberwatch/emberwatch/drivers/i2c/bme280"
	"github.com/emberwatch/emberwatch/drivers/i2c/chip"
	"github.com/emberwatch/emberwatch/drivers/i2c/lm75"
	"github.com/emberwatch/emberwatch/drivers/i2c/mcp9808"
	"github.com/emberwatch/emberwatch/drivers/i2c/sht3x"
	"github.com/emberwatch/emberwatch/drivers/i2c/sht4x"
	"github.com/emberwatch/emberwatch/drivers/i2c/tmp102"
	"periph.io/x/conn/v3/i2c"
)

// The values a chip gives, by role name in a profile's points.
const (
	RoleTemperature = "temperature" // °C
	RoleHumidity    = "humidity"    // %
	RoleValue       = "value"       // an ADC input scaled by the profile
)

// SenseFunc reads a probed chip once and returns its values by role.
type SenseFunc func(ctx context.Context) (map[string]float64, error)

// Kind wires one chip to its driver: where it answers, what it gives,
// which settings it takes and how to open it.
type Kind struct {
	// Name is the sensor name of profiles and probe URLs.
	Name string
	// Addresses are the chip's selectable 7-bit addresses.
	Addresses []uint16
	// Roles are the values it gives (temperature, humidity, value).
	Roles []string
	// Settings are the Spec keys it takes beyond the common ones.
	Settings []string
	// DefaultPoints are the points of a probe that names none.
	DefaultPoints map[string]string

	check func(s *Spec) error
	open  func(b i2c.Bus, s *Spec) (SenseFunc, error)
}

// unit returns the unit of role and whether the chip gives it; the empty
// unit means any (the ADS1115 value takes the point's unit).
func (k *Kind) unit(role string) (string, bool) {
	if !slices.Contains(k.Roles, role) {
		return "", false
	}
	switch role {
	case RoleTemperature:
		return "°C", true
	case RoleHumidity:
		return "%", true
	}
	return "", true
}

// Open probes the chip of s on b and returns its reader.
func (k *Kind) Open(b i2c.Bus, s *Spec) (SenseFunc, error) {
	return k.open(b, s)
}

// Kinds returns the supported chips by name. The table is built on each
// call; callers keep the result.
func Kinds() map[string]*Kind {
	ambient := map[string]string{RoleTemperature: "ambient.temperature"}
	ambientRH := map[string]string{RoleTemperature: "ambient.temperature", RoleHumidity: "ambient.humidity"}
	temp := []string{RoleTemperature}
	tempRH := []string{RoleTemperature, RoleHumidity}
	ks := []*Kind{
		{
			Name: "tmp102", Addresses: addrRange(0x48, 0x4B), Roles: temp, Settings: []string{"resolution"},
			DefaultPoints: ambient,
			check: func(s *Spec) error {
				return oneOf(s, "resolution", s.Resolution, 0, 12, 13)
			},
			open: func(b i2c.Bus, s *Spec) (SenseFunc, error) {
				d, err := tmp102.New(b, s.Address, &tmp102.Opts{Extended: s.Resolution != 12})
				if err != nil {
					return nil, err
				}
				return func(ctx context.Context) (map[string]float64, error) {
					t, err := d.Sense(ctx)
					return map[string]float64{RoleTemperature: t}, err
				}, nil
			},
		},
		lm75Kind("lm75", 9, ambient),
		lm75Kind("lm75a", 11, ambient),
		{
			Name: "mcp9808", Addresses: addrRange(0x18, 0x1F), Roles: temp, Settings: []string{"resolution"},
			DefaultPoints: ambient,
			check: func(s *Spec) error {
				return oneOf(s, "resolution", s.Resolution, 0, 9, 10, 11, 12)
			},
			open: func(b i2c.Bus, s *Spec) (SenseFunc, error) {
				res := mcp9808.Res0_0625
				if s.Resolution != 0 {
					res = mcp9808.Resolution(s.Resolution - 9)
				}
				d, err := mcp9808.New(b, s.Address, &mcp9808.Opts{Resolution: res})
				if err != nil {
					return nil, err
				}
				return func(ctx context.Context) (map[string]float64, error) {
					v, err := d.Sense(ctx)
					return map[string]float64{RoleTemperature: v.Temperature}, err
				}, nil
			},
		},
		{
			Name: "sht3x", Addresses: []uint16{0x44, 0x45}, Roles: tempRH, Settings: []string{"repeatability"},
			DefaultPoints: ambientRH,
			check: func(s *Spec) error {
				_, err := level(s, "repeatability", s.Repeatability)
				return err
			},
			open: func(b i2c.Bus, s *Spec) (SenseFunc, error) {
				l, _ := level(s, "repeatability", s.Repeatability)
				d, err := sht3x.New(b, s.Address, &sht3x.Opts{Repeatability: sht3x.Repeatability(l)})
				if err != nil {
					return nil, err
				}
				return func(ctx context.Context) (map[string]float64, error) {
					v, err := d.Sense(ctx)
					return map[string]float64{RoleTemperature: v.Temperature, RoleHumidity: v.Humidity}, err
				}, nil
			},
		},
		{
			Name: "sht4x", Addresses: []uint16{0x44, 0x45, 0x46}, Roles: tempRH, Settings: []string{"precision"},
			DefaultPoints: ambientRH,
			check: func(s *Spec) error {
				_, err := level(s, "precision", s.Precision)
				return err
			},
			open: func(b i2c.Bus, s *Spec) (SenseFunc, error) {
				l, _ := level(s, "precision", s.Precision)
				d, err := sht4x.New(b, s.Address, &sht4x.Opts{Precision: sht4x.Precision(l)})
				if err != nil {
					return nil, err
				}
				return func(ctx context.Context) (map[string]float64, error) {
					v, err := d.Sense(ctx)
					return map[string]float64{RoleTemperature: v.Temperature, RoleHumidity: v.Humidity}, err
				}, nil
			},
		},
		{
			Name: "bme280", Addresses: []uint16{0x76, 0x77}, Roles: tempRH, Settings: []string{"oversampling", "filter"},
			DefaultPoints: ambientRH,
			check: func(s *Spec) error {
				if err := oneOf(s, "oversampling", s.Oversampling, 0, 1, 2, 4, 8, 16); err != nil {
					return err
				}
				return oneOf(s, "filter", s.Filter, 0, 2, 4, 8, 16)
			},
			open: func(b i2c.Bus, s *Spec) (SenseFunc, error) {
				o := bme280.DefaultOpts
				if s.Oversampling > 1 {
					ov := bme280.Oversampling(1 + log2(s.Oversampling))
					o.Temperature, o.Pressure, o.Humidity = ov, ov, ov
				}
				if s.Filter > 0 {
					o.Filter = bme280.Filter(log2(s.Filter))
				}
				d, err := bme280.New(b, s.Address, &o)
				if err != nil {
					return nil, err
				}
				return func(ctx context.Context) (map[string]float64, error) {
					v, err := d.Sense(ctx)
					return map[string]float64{RoleTemperature: v.Temperature, RoleHumidity: v.Humidity}, err
				}, nil
			},
		},
		{
			Name: "ads1115", Addresses: addrRange(0x48, 0x4B), Roles: []string{RoleValue},
			Settings: []string{"channel", "gain", "data_rate", "scale", "offset", "min", "max"},
			check:    checkADS1115,
			open:     openADS1115,
		},
	}
	m := make(map[string]*Kind, len(ks))
	for _, k := range ks {
		m[k.Name] = k
	}
	return m
}

// KindNames returns the supported chip names, sorted.
func KindNames() []string {
	var names []string
	for n := range Kinds() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func lm75Kind(name string, bits int, points map[string]string) *Kind {
	return &Kind{
		Name: name, Addresses: addrRange(0x48, 0x4F), Roles: []string{RoleTemperature}, Settings: []string{"resolution"},
		DefaultPoints: points,
		check: func(s *Spec) error {
			return oneOf(s, "resolution", s.Resolution, 0, 9, 11)
		},
		open: func(b i2c.Bus, s *Spec) (SenseFunc, error) {
			r := bits
			if s.Resolution != 0 {
				r = s.Resolution
			}
			d, err := lm75.New(b, s.Address, &lm75.Opts{Resolution: r})
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) (map[string]float64, error) {
				t, err := d.Sense(ctx)
				return map[string]float64{RoleTemperature: t}, err
			}, nil
		},
	}
}

var channels = map[string]ads1115.Channel{
	"AIN0": ads1115.AIN0, "AIN1": ads1115.AIN1, "AIN2": ads1115.AIN2, "AIN3": ads1115.AIN3,
	"0": ads1115.AIN0, "1": ads1115.AIN1, "2": ads1115.AIN2, "3": ads1115.AIN3,
	"AIN0-AIN1": ads1115.AIN0AIN1, "AIN0-AIN3": ads1115.AIN0AIN3,
	"AIN1-AIN3": ads1115.AIN1AIN3, "AIN2-AIN3": ads1115.AIN2AIN3,
}

func checkADS1115(s *Spec) error {
	if _, ok := channels[strings.ToUpper(s.Channel)]; !ok {
		if s.Channel == "" {
			return &ProfileError{Field: "channel", Msg: "missing (AIN0-AIN3, or a pair such as AIN0-AIN1)"}
		}
		return &ProfileError{Field: "channel", Msg: fmt.Sprintf("%q is not AIN0-AIN3 or AIN0-AIN1, AIN0-AIN3, AIN1-AIN3, AIN2-AIN3", s.Channel)}
	}
	if s.Gain != 0 && !slices.Contains([]float64{6.144, 4.096, 2.048, 1.024, 0.512, 0.256}, s.Gain) {
		return &ProfileError{Field: "gain", Msg: fmt.Sprintf("%g V is not a full-scale range (6.144, 4.096, 2.048, 1.024, 0.512, 0.256)", s.Gain)}
	}
	if err := oneOf(s, "data_rate", s.DataRate, 0, 8, 16, 32, 64, 128, 250, 475, 860); err != nil {
		return err
	}
	if s.Scale == nil {
		return &ProfileError{Field: "scale", Msg: "missing: the point's units per volt (value = volts * scale + offset)"}
	}
	if *s.Scale == 0 || math.IsNaN(*s.Scale) || math.IsInf(*s.Scale, 0) {
		return &ProfileError{Field: "scale", Msg: fmt.Sprintf("%g is not a usable scale", *s.Scale)}
	}
	if s.Min != nil && s.Max != nil && *s.Min >= *s.Max {
		return &ProfileError{Field: "max", Msg: fmt.Sprintf("max %g is not above min %g", *s.Max, *s.Min)}
	}
	return nil
}

func openADS1115(b i2c.Bus, s *Spec) (SenseFunc, error) {
	d, err := ads1115.New(b, s.Address, &ads1115.Opts{Gain: s.Gain, DataRate: s.DataRate})
	if err != nil {
		return nil, err
	}
	ch := channels[strings.ToUpper(s.Channel)]
	scale, offset := *s.Scale, s.Offset
	lo, hi := math.Inf(-1), math.Inf(1)
	if s.Min != nil {
		lo = *s.Min
	}
	if s.Max != nil {
		hi = *s.Max
	}
	return func(ctx context.Context) (map[string]float64, error) {
		v, err := d.Read(ctx, ch)
		if err != nil {
			return nil, err
		}
		x := v*scale + offset
		if x < lo || x > hi {
			return nil, fmt.Errorf("ads1115: 0x%02X: %s %.4f V = %g, outside %g..%g: %w", s.Address, s.Channel, v, x, lo, hi, chip.ErrRange)
		}
		return map[string]float64{RoleValue: x}, nil
	}, nil
}

func addrRange(lo, hi uint16) []uint16 {
	var as []uint16
	for a := lo; a <= hi; a++ {
		as = append(as, a)
	}
	return as
}

// oneOf checks an integer setting; 0 means the chip's default.
func oneOf(s *Spec, key string, v int, allowed ...int) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	want := make([]string, 0, len(allowed))
	for _, a := range allowed[1:] {
		want = append(want, fmt.Sprint(a))
	}
	return &ProfileError{Field: key, Msg: fmt.Sprintf("%d is not one of %s for the %s", v, strings.Join(want, ", "), s.Sensor)}
}

// level parses high/medium/low (empty is high) into 0/1/2.
func level(s *Spec, key, v string) (int, error) {
	switch strings.ToLower(v) {
	case "", "high":
		return 0, nil
	case "medium":
		return 1, nil
	case "low":
		return 2, nil
	}
	return 0, &ProfileError{Field: key, Msg: fmt.Sprintf("%q is not high, medium or low", v)}
}

func log2(n int) int {
	l := 0
	for n > 1 {
		n >>= 1
		l++
	}
	return l
}
