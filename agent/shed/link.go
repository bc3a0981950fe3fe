package shed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/emberwatch/emberwatch/agent/command"
)

// LinkOptions configure a Link. Broker and Site are required.
type LinkOptions struct {
	// Broker is the MQTT broker URL.
	Broker string
	// ClientID defaults to emberwatch-shed-<site>-<gateway>.
	ClientID string
	// Username and Password authenticate to the broker.
	Username, Password string
	// Site and Gateway name the topics and the client.
	Site, Gateway string
	// OnAck is called with every host acknowledgement of the site, from
	// paho's goroutine, in arrival order; it must not block for long.
	OnAck func(command.Ack)
	// Logger; slog.Default() if nil.
	Logger *slog.Logger
}

// Link is the gateway's MQTT connection for shedding: it publishes
// commands (a Publisher) and receives acknowledgements. It owns its
// connection.
type Link struct {
	c   paho.Client
	log *slog.Logger
}

// Dial connects and subscribes to the site's acknowledgements; it returns
// once both are done, or fails when ctx ends first.
func Dial(ctx context.Context, opts LinkOptions) (*Link, error) {
	if opts.Broker == "" || opts.Site == "" {
		return nil, errors.New("shed: link needs a broker and a site")
	}
	if opts.ClientID == "" {
		opts.ClientID = "emberwatch-shed-" + opts.Site + "-" + opts.Gateway
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	l := &Link{log: opts.Logger}
	onAck := func(_ paho.Client, m paho.Message) {
		var a command.Ack
		if err := json.Unmarshal(m.Payload(), &a); err != nil {
			l.log.Warn("malformed acknowledgement", "topic", m.Topic(), "err", err)
			return
		}
		if opts.OnAck != nil {
			opts.OnAck(a)
		}
	}
	co := paho.NewClientOptions().
		AddBroker(opts.Broker).
		SetClientID(opts.ClientID).
		SetKeepAlive(15 * time.Second).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(5 * time.Second).
		SetCleanSession(true).
		SetOrderMatters(true).
		SetOnConnectHandler(func(c paho.Client) {
			tok := c.Subscribe(command.AckWildcard(opts.Site), 1, onAck)
			if tok.WaitTimeout(10*time.Second) && tok.Error() != nil {
				l.log.Error("subscribe to acknowledgements failed", "err", tok.Error())
			}
		})
	if opts.Username != "" {
		co.SetUsername(opts.Username)
		co.SetPassword(opts.Password)
	}
	l.c = paho.NewClient(co)
	if err := wait(ctx, l.c.Connect()); err != nil {
		return nil, fmt.Errorf("shed: connect to %s: %w", opts.Broker, err)
	}
	// Subscribe once more synchronously, so acks are flowing on return.
	if err := wait(ctx, l.c.Subscribe(command.AckWildcard(opts.Site), 1, onAck)); err != nil {
		l.c.Disconnect(0)
		return nil, fmt.Errorf("shed: subscribe %s: %w", command.AckWildcard(opts.Site), err)
	}
	return l, nil
}

// Publish sends payload at QoS 1 and waits for the broker.
func (l *Link) Publish(ctx context.Context, topic string, payload []byte, retain bool) error {
	if err := wait(ctx, l.c.Publish(topic, 1, retain, payload)); err != nil {
		return fmt.Errorf("shed: publish %s: %w", topic, err)
	}
	return nil
}

// Close disconnects.
func (l *Link) Close() { l.c.Disconnect(250) }

func wait(ctx context.Context, tok paho.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

var _ Publisher = (*Link)(nil)
