package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emberwatch/emberwatch/testbench/modbussim"
	"github.com/emberwatch/emberwatch/testbench/rack"
)

// controlHelp lists the commands read from standard input while serving.
const controlHelp = `commands (one a line on standard input):
  fault KIND [code=N] [from=ADDR] [to=ADDR] [delay=D] [times=N]
        KIND: none, no-reply, exception, close-mid-reply, late-reply, dead
  hot N WATTS     heat module N (0 W to stop)
  current AMPS    string current (> 0 charging)
  ambient C       room temperature
  status          counters and fault`

// command is one parsed control line, applied by the serving loop.
type command func(r *rack.Rack, s *modbussim.Sim) (string, error)

// parseCommand parses one control line.
func parseCommand(line string) (command, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil, nil
	}
	num := func(i int) (float64, error) {
		if len(f) <= i {
			return 0, fmt.Errorf("%s: missing argument", f[0])
		}
		return strconv.ParseFloat(f[i], 64)
	}
	switch f[0] {
	case "fault":
		if len(f) < 2 {
			return nil, fmt.Errorf("fault: missing kind")
		}
		kind, err := modbussim.ParseFaultKind(f[1])
		if err != nil {
			return nil, err
		}
		flt := modbussim.Fault{Kind: kind}
		for _, kv := range f[2:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("fault: %q is not key=value", kv)
			}
			var n uint64
			switch k {
			case "code", "from", "to", "times":
				bits := 16
				if k == "code" {
					bits = 8
				}
				if n, err = strconv.ParseUint(v, 0, bits); err != nil {
					return nil, fmt.Errorf("fault %s: %w", k, err)
				}
			}
			switch k {
			case "code":
				flt.Code = byte(n)
			case "from":
				flt.From = uint16(n)
			case "to":
				flt.To = uint16(n)
			case "times":
				flt.Times = int(n)
			case "delay":
				if flt.Delay, err = time.ParseDuration(v); err != nil {
					return nil, fmt.Errorf("fault delay: %w", err)
				}
			default:
				return nil, fmt.Errorf("fault: unknown key %q", k)
			}
		}
		return func(_ *rack.Rack, s *modbussim.Sim) (string, error) {
			return "fault " + kind.String(), s.SetFault(flt)
		}, nil
	case "hot":
		n, err := num(1)
		if err != nil {
			return nil, err
		}
		w, err := num(2)
		if err != nil {
			return nil, err
		}
		return func(r *rack.Rack, _ *modbussim.Sim) (string, error) {
			return fmt.Sprintf("module %d heated by %g W", int(n), w), r.HeatModule(int(n), w)
		}, nil
	case "current", "ambient":
		v, err := num(1)
		if err != nil {
			return nil, err
		}
		if f[0] == "current" {
			return func(r *rack.Rack, _ *modbussim.Sim) (string, error) {
				r.SetCurrent(v)
				return fmt.Sprintf("current %g A", v), nil
			}, nil
		}
		return func(r *rack.Rack, _ *modbussim.Sim) (string, error) {
			r.SetAmbient(v)
			return fmt.Sprintf("ambient %g °C", v), nil
		}, nil
	case "status":
		return func(r *rack.Rack, s *modbussim.Sim) (string, error) {
			c := s.Counters()
			return fmt.Sprintf("t=%v requests=%d registers=%d exceptions=%d dropped=%d fault=%s",
				r.Elapsed(), c.Requests, c.Registers, c.Exceptions, c.Dropped, s.Fault().Kind), nil
		}, nil
	case "help":
		return func(*rack.Rack, *modbussim.Sim) (string, error) { return controlHelp, nil }, nil
	}
	return nil, fmt.Errorf("unknown command %q (try help)", f[0])
}
