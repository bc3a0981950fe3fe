package probe

import (
	"context"
	"fmt"
	"io"
	"log"
	"sync"

	"github.com/emberwatch/emberwatch/drivers/modbus"
	mb "github.com/simonvetter/modbus"
)

// Client reads registers over one Modbus connection with
// github.com/simonvetter/modbus's client. It is safe for concurrent use;
// requests are serialised.
type Client struct {
	mu   sync.Mutex
	c    *mb.ModbusClient
	name string
}

// Dial opens the connection a Target names. The caller closes it.
func Dial(t *Target) (*Client, error) {
	conf := &mb.ClientConfiguration{Timeout: t.Timeout, Logger: log.New(io.Discard, "", 0)}
	switch t.Scheme {
	case ModbusTCP:
		conf.URL = "tcp://" + t.Address
	case ModbusRTUTCP:
		conf.URL = "rtuovertcp://" + t.Address
		conf.Speed = DefaultBaud // paces frames only
	case ModbusRTU:
		conf.URL = "rtu://" + t.Device
		conf.Speed, conf.DataBits, conf.StopBits = uint(t.Baud), uint(t.DataBits), uint(t.StopBits)
		switch t.Parity {
		case "N":
			conf.Parity = mb.PARITY_NONE
		case "O":
			conf.Parity = mb.PARITY_ODD
		default:
			conf.Parity = mb.PARITY_EVEN
		}
	default:
		return nil, fmt.Errorf("%s: %w", t.Scheme, ErrNotSupported)
	}
	c, err := mb.NewClient(conf)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", conf.URL, err)
	}
	if err := c.Open(); err != nil {
		return nil, fmt.Errorf("%s: %w", conf.URL, err)
	}
	return &Client{c: c, name: conf.URL}, nil
}

// ReadRegisters reads count holding or input registers from addr of unit.
func (c *Client) ReadRegisters(ctx context.Context, unit byte, table modbus.Table, addr, count uint16) ([]uint16, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rt mb.RegType
	switch table {
	case modbus.Holding, "":
		rt = mb.HOLDING_REGISTER
	case modbus.Input:
		rt = mb.INPUT_REGISTER
	default:
		return nil, fmt.Errorf("%s: %s table: registers are read from holding or input", c.name, table)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.c.SetUnitId(unit); err != nil {
		return nil, err
	}
	return c.c.ReadRegisters(addr, count, rt)
}

// Close closes the connection.
func (c *Client) Close() error { return c.c.Close() }
