package console

import (
	"context"
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Watch connects to the broker at url (tcp://host:port) as clientID,
// subscribes to the view's topics with QoS 1 and feeds the view until ctx
// is done. The client reconnects and subscribes again after a lost
// connection. Watch returns an error when the first connection fails.
func Watch(ctx context.Context, url, clientID string, v *View) error {
	filters := map[string]byte{}
	for _, t := range v.Topics() {
		filters[t] = 1
	}
	handler := func(_ paho.Client, m paho.Message) { v.Handle(m.Topic(), m.Payload()) }
	opts := paho.NewClientOptions().
		AddBroker(url).
		SetClientID(clientID).
		SetCleanSession(true).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(2 * time.Second).
		SetConnectTimeout(5 * time.Second).
		SetOnConnectHandler(func(c paho.Client) {
			v.SetConnected(true)
			c.SubscribeMultiple(filters, handler)
		}).
		SetConnectionLostHandler(func(paho.Client, error) { v.SetConnected(false) })
	c := paho.NewClient(opts)
	tok := c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("console: connect to %s: %w", url, err)
	}
	<-ctx.Done()
	c.Disconnect(100)
	v.SetConnected(false)
	return nil
}
