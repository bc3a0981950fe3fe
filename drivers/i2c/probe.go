package i2c

import (
	"context"
	"errors"
	"fmt"
	"github.com/emberwatch/emberwatch/drivers/profileyaml"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/emberwatch/emberwatch/drivers"
	"gopkg.in/yaml.v3"
	"periph.io/x/conn/v3/i2c"
)

// ParseURL parses an I²C device address:
//
//	i2c:///dev/i2c-1                                   a bus; the sensors come from a profile
//	i2c:///dev/i2c-1?addr=0x48&sensor=tmp102           one sensor, default points
//	i2c:///dev/i2c-1?addr=0x44&sensor=sht3x&temperature=ambient.2.temperature&humidity=ambient.2.humidity
//	i2c:///dev/i2c-1?addr=0x48&sensor=ads1115&channel=AIN0&gain=4.096&scale=625&offset=-250&point=gas.h2
//
// Query keys are the profile's sensor keys (addr is short for address);
// temperature=, humidity= and value= set the points of those values, and
// point= the first value of the chip. Without points, a temperature and
// humidity chip feeds ambient.temperature and ambient.humidity.
//
// It returns the bus and, when the URL names a sensor, its checked spec;
// spec is nil for a bare bus.
func ParseURL(raw string) (bus string, spec *Spec, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", nil, fmt.Errorf("i2c: %q is not a URL", raw)
	}
	if u.Scheme != "i2c" {
		return "", nil, fmt.Errorf("i2c: %q: scheme is not i2c", raw)
	}
	bus = u.Path
	if bus == "" {
		bus = u.Host
	}
	if bus == "" {
		return "", nil, fmt.Errorf("i2c: %q has no bus (write i2c:///dev/i2c-1?addr=0x48&sensor=tmp102)", raw)
	}
	q := u.Query()
	if len(q) == 0 {
		return bus, nil, nil
	}
	if q.Get("sensor") == "" {
		return "", nil, fmt.Errorf("i2c: %q: no sensor= (one of %s)", raw, strings.Join(KindNames(), ", "))
	}
	kind, ok := Kinds()[strings.ToLower(q.Get("sensor"))]
	if !ok {
		return "", nil, fmt.Errorf("i2c: %q: unknown sensor %q (one of %s)", raw, q.Get("sensor"), strings.Join(KindNames(), ", "))
	}
	m := &yaml.Node{Kind: yaml.MappingNode}
	points := &yaml.Node{Kind: yaml.MappingNode}
	plain := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }
	str := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }
	for _, k := range slices.Sorted(maps.Keys(q)) {
		v := q[k][len(q[k])-1]
		switch k {
		case "addr":
			k = "address"
		case "point":
			points.Content = append(points.Content, str(kind.Roles[0]), str(v))
			continue
		case RoleTemperature, RoleHumidity, RoleValue:
			points.Content = append(points.Content, str(k), str(v))
			continue
		case "points":
			return "", nil, fmt.Errorf("i2c: %q: unknown parameter points (use point=, temperature=, humidity= or value=)", raw)
		}
		n := plain(v)
		if k == "sensor" || k == "name" || k == "bus" || k == "channel" || k == "repeatability" || k == "precision" {
			n = str(v)
		}
		m.Content = append(m.Content, str(k), n)
	}
	if len(points.Content) > 0 {
		m.Content = append(m.Content, str("points"), points)
	}
	var s Spec
	if err := m.Decode(&s); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			var msgs []string
			for _, e := range te.Errors {
				e = profileyaml.StripLine(e)
				e = strings.Replace(e, "field ", "unknown parameter ", 1)
				e = strings.ReplaceAll(e, " not found", "")
				msgs = append(msgs, strings.ReplaceAll(strings.ReplaceAll(e, " into i2c.plain", ""), " in type i2c.plain", ""))
			}
			return "", nil, fmt.Errorf("i2c: %q: %s", raw, strings.Join(msgs, "; "))
		}
		return "", nil, fmt.Errorf("i2c: %q: %w", raw, err)
	}
	if s.Points == nil && kind.DefaultPoints != nil {
		s.Points = maps.Clone(kind.DefaultPoints)
		s.Lines["points"] = 0
	}
	if !s.set("address") {
		return "", nil, fmt.Errorf("i2c: %q: no addr= (the %s answers at %s)", raw, kind.Name, addrList(kind.Addresses))
	}
	var errs []error
	checkSpec(&s, Kinds(), drivers.NewVocabulary(), func(_ int, field, format string, a ...any) {
		errs = append(errs, &ProfileError{Field: field, Msg: fmt.Sprintf(format, a...)})
	})
	if errs != nil {
		return "", nil, fmt.Errorf("i2c: %q: %w", raw, errors.Join(errs...))
	}
	s.Bus = bus
	return bus, &s, nil
}

// Probe reads one sensor once for commissioning: it opens busName with
// OpenBus, probes the chip at addr and returns its readings on the default
// points (ambient.temperature, ambient.humidity). An ADS1115 needs a
// scale and a point: use ProbeURL.
func Probe(ctx context.Context, busName string, addr uint16, sensor string) ([]drivers.Reading, error) {
	k, ok := Kinds()[strings.ToLower(sensor)]
	if !ok {
		return nil, fmt.Errorf("i2c: unknown sensor %q (one of %s)", sensor, strings.Join(KindNames(), ", "))
	}
	spec := Spec{Sensor: k.Name, Bus: busName, Address: addr, Points: maps.Clone(k.DefaultPoints)}
	return probeSpec(ctx, busName, spec)
}

// ProbeURL is Probe for an address such as
// i2c:///dev/i2c-1?addr=0x48&sensor=tmp102 (see ParseURL).
func ProbeURL(ctx context.Context, raw string) ([]drivers.Reading, error) {
	bus, spec, err := ParseURL(raw)
	if err != nil {
		return nil, err
	}
	if spec == nil {
		return nil, fmt.Errorf("i2c: %q names no sensor (add ?addr=0x48&sensor=tmp102)", raw)
	}
	return probeSpec(ctx, bus, *spec)
}

func probeSpec(ctx context.Context, busName string, spec Spec) ([]drivers.Reading, error) {
	b, err := OpenBus(busName)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return ProbeBus(ctx, b, spec)
}

// ProbeBus reads the sensor of spec on b once. Unlike a Device poll, any
// failure is returned as the error (with the NaN readings).
func ProbeBus(ctx context.Context, b i2c.Bus, spec Spec) ([]drivers.Reading, error) {
	// The error is the caller's to print; no log line repeats it.
	s, err := NewSensor(spec, b, &Opts{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	return s.Poll(ctx)
}
