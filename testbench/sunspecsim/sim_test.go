package sunspecsim_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers/modbus"
	"github.com/emberwatch/emberwatch/drivers/modbus/sunspec"
	"github.com/emberwatch/emberwatch/testbench/sunspecsim"
	mb "github.com/simonvetter/modbus"
)

func TestServer(t *testing.T) {
	models, err := sunspec.DefaultModels()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		base sunspecsim.Base
		addr uint16
	}{{sunspecsim.Base40000, 40000}, {sunspecsim.Base0, 0}, {sunspecsim.Base50000, 50000}} {
		sim, err := sunspecsim.New(models, &sunspecsim.Opts{Base: tc.base, Unit: 3})
		if err != nil {
			t.Fatal(err)
		}
		addr, err := sim.Listen()
		if err != nil {
			t.Fatal(err)
		}
		c, err := mb.NewClient(&mb.ClientConfiguration{URL: "tcp://" + addr, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Open(); err != nil {
			t.Fatal(err)
		}
		_ = c.SetUnitId(3)
		w, err := c.ReadRegisters(tc.addr, 4, mb.HOLDING_REGISTER)
		if err != nil || w[0] != 0x5375 || w[1] != 0x6e53 || w[2] != 1 || w[3] != 66 {
			t.Errorf("base %d: %04x, %v; want SunS, model 1 of length 66", tc.addr, w, err)
		}
		last := tc.addr + uint16(sim.Len()) - 2
		if w, err := c.ReadRegisters(last, 2, mb.HOLDING_REGISTER); err != nil || w[0] != 0xFFFF || w[1] != 0 {
			t.Errorf("base %d: end marker %04x, %v", tc.addr, w, err)
		}
		for _, bad := range []struct {
			name string
			call func() error
			want error
		}{
			{"past the end", func() error { _, err := c.ReadRegisters(last+1, 2, mb.HOLDING_REGISTER); return err }, mb.ErrIllegalDataAddress},
			{"input registers", func() error { _, err := c.ReadRegisters(tc.addr, 2, mb.INPUT_REGISTER); return err }, mb.ErrIllegalFunction},
			{"write", func() error { return c.WriteRegister(tc.addr, 1) }, mb.ErrIllegalFunction},
			{"other unit", func() error {
				_ = c.SetUnitId(4)
				_, err := c.ReadRegisters(tc.addr, 2, mb.HOLDING_REGISTER)
				_ = c.SetUnitId(3)
				return err
			}, mb.ErrGWTargetFailedToRespond},
		} {
			if err := bad.call(); !errors.Is(err, bad.want) {
				t.Errorf("base %d: %s: %v, want %v", tc.addr, bad.name, err, bad.want)
			}
		}
		_ = c.Close()
		if err := sim.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestValuesAreDeterministic(t *testing.T) {
	models, err := sunspec.DefaultModels()
	if err != nil {
		t.Fatal(err)
	}
	a, _ := sunspecsim.New(models, &sunspecsim.Opts{Seed: 5})
	b, _ := sunspecsim.New(models, &sunspecsim.Opts{Seed: 5})
	c, _ := sunspecsim.New(models, &sunspecsim.Opts{Seed: 6})
	va, vb, vc := a.Values(), b.Values(), c.Values()
	same, differ := true, false
	for k, v := range va {
		if v != vb[k] && !(math.IsNaN(v) && math.IsNaN(vb[k])) {
			same = false
		}
		if v != vc[k] {
			differ = true
		}
	}
	if !same || !differ {
		t.Errorf("same seed same values: %v; another seed other values: %v", same, differ)
	}
	w, err := a.ReadRegisters(context.Background(), 1, modbus.Holding, 40000, 2)
	if err != nil || w[0] != 0x5375 {
		t.Errorf("in-process read: %04x %v", w, err)
	}
}
