package mqtt

import (
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// nullStore is a paho Store that keeps nothing. The Publisher retries
// unacknowledged messages itself (and spools alerts to disk), so paho's
// own resending of stored messages after a reconnect is not wanted: it
// would duplicate ours, and paho's in-memory resume races with its writer.
type nullStore struct{}

var _ paho.Store = nullStore{}

func (nullStore) Open()                             {}
func (nullStore) Put(string, packets.ControlPacket) {}
func (nullStore) Get(string) packets.ControlPacket  { return nil }
func (nullStore) All() []string                     { return nil }
func (nullStore) Del(string)                        {}
func (nullStore) Close()                            {}
func (nullStore) Reset()                            {}
