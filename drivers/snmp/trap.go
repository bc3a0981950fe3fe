package snmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
	"github.com/gosnmp/gosnmp"
)

// OIDSnmpTrapOID is snmpTrapOID.0, the varbind naming a v2c/v3 notification.
const OIDSnmpTrapOID = "1.3.6.1.6.3.1.1.4.1.0"

// Event is one notification received from an agent, mapped through the
// profiles' traps: lists.
type Event struct {
	// Time is when the notification was received.
	Time time.Time
	// Agent is the sender's IP address.
	Agent string
	// Device is the configured name of the sender (TrapConfig.Devices),
	// or Agent.
	Device string
	// TrapOID is the notification OID (snmpTrapOID.0, or for v1
	// enterprise.0.specific).
	TrapOID string
	// Inform is true for an InformRequest (answered before Handle runs).
	Inform bool
	// Known is true when a profile maps TrapOID; Kind, Level, State,
	// Message and Profile are then set.
	Known   bool
	Profile string
	Kind    string
	Level   string
	State   string
	Message string
	// Readings are the readings the trap stands for at once (ups.status
	// OB on "on battery"), stamped Time.
	Readings []drivers.Reading
	// Vars are the notification's varbinds, without sysUpTime and
	// snmpTrapOID.
	Vars []gosnmp.SnmpPDU
}

// TrapConfig configures a TrapReceiver.
type TrapConfig struct {
	// Communities are the v1/v2c communities accepted; a trap with any
	// other community is dropped. Empty accepts none.
	Communities []string
	// Users are the SNMPv3 users accepted (User, AuthProto, AuthPass,
	// PrivProto, PrivPass of a Config); traps must be authenticated.
	Users []Config
	// Profiles map trap OIDs to events (traps: in each profile).
	Profiles *Profiles
	// Devices names senders by IP address.
	Devices map[string]string
	// Logger receives dropped notifications at debug level.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// EngineID is the receiver's SNMPv3 engine ID, which senders of v3
	// informs discover and localize their keys to (default: an RFC 3411
	// text-format ID "emberwatch").
	EngineID string
}

// TrapReceiver receives traps and informs on one UDP socket and hands
// each, mapped, to a handler at once. It is safe for concurrent use.
type TrapReceiver struct {
	cfg    TrapConfig
	handle func(Event)
	x      *gosnmp.GoSNMP // decodes with the configured users
	probe  *gosnmp.GoSNMP // decodes unauthenticated v3 discovery requests
	traps  map[string]trapRef
	voc    *drivers.PointVocabulary
	log    *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	conn  net.PacketConn
	ready chan struct{}
	start time.Time
	// unknownEngineIDs counts v3 engine discovery requests (usmStats).
	unknownEngineIDs uint32

	// Received counts notifications handled; Dropped those refused.
	received, dropped uint64
}

type trapRef struct {
	profile string
	t       *Trap
}

// NewTrapReceiver checks cfg and returns a receiver calling handle for
// every accepted notification, from the receiving goroutine: handle must
// not block for long.
func NewTrapReceiver(cfg TrapConfig, handle func(Event)) (*TrapReceiver, error) {
	r := &TrapReceiver{cfg: cfg, handle: handle, traps: map[string]trapRef{}, voc: drivers.NewVocabulary(),
		log: cfg.Logger, now: cfg.Now, ready: make(chan struct{})}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.start = time.Now()
	if r.cfg.EngineID == "" {
		r.cfg.EngineID = "\x80\x00\x1f\x88\x04emberwatch" // enterprise net-snmp, format 4 (text)
	}
	r.x = &gosnmp.GoSNMP{Version: gosnmp.Version2c, Timeout: time.Second}
	r.probe = &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel,
		MsgFlags: gosnmp.NoAuthNoPriv, SecurityParameters: &gosnmp.UsmSecurityParameters{}}
	if len(cfg.Users) > 0 {
		table := gosnmp.NewSnmpV3SecurityParametersTable(gosnmp.NewLogger(nil))
		for _, u := range cfg.Users {
			u.Version, u.Target = "3", "127.0.0.1"
			g, err := gosnmpFor(u)
			if err != nil {
				return nil, fmt.Errorf("trap user %q: %w", u.User, err)
			}
			if err := table.Add(u.User, g.SecurityParameters); err != nil {
				return nil, fmt.Errorf("trap user %q: %w", u.User, err)
			}
		}
		r.x.Version = gosnmp.Version3
		r.x.SecurityModel = gosnmp.UserSecurityModel
		r.x.SetTrapSecurityParametersTable(table)
	}
	if cfg.Profiles != nil {
		for _, p := range cfg.Profiles.list {
			for i := range p.Traps {
				if _, dup := r.traps[p.Traps[i].OID]; !dup {
					r.traps[p.Traps[i].OID] = trapRef{profile: p.Name, t: &p.Traps[i]}
				}
			}
		}
	}
	return r, nil
}

// Ready is closed once Listen has bound its socket.
func (r *TrapReceiver) Ready() <-chan struct{} { return r.ready }

// Addr is the bound address, nil before Ready.
func (r *TrapReceiver) Addr() net.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		return nil
	}
	return r.conn.LocalAddr()
}

// Listen receives on the UDP address addr ("127.0.0.1:162", port 0 for
// any) until ctx ends. A malformed or unauthenticated datagram is dropped
// and receiving goes on.
func (r *TrapReceiver) Listen(ctx context.Context, addr string) error {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("snmp trap listener %s: %w", addr, err)
	}
	r.mu.Lock()
	r.conn = conn
	r.mu.Unlock()
	close(r.ready)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	buf := make([]byte, 65535)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			r.log.Debug("snmp trap read", "err", err)
			continue
		}
		ua, _ := from.(*net.UDPAddr)
		pkt, err := r.decode(buf[:n])
		if errors.Is(err, errDiscovery) {
			r.reportEngineID(conn, pkt, from)
			continue
		}
		if err != nil {
			r.mu.Lock()
			r.dropped++
			r.mu.Unlock()
			r.log.Debug("snmp trap dropped", "from", from, "err", err)
			continue
		}
		if pkt.PDUType == gosnmp.InformRequest {
			pkt.PDUType = gosnmp.GetResponse
			pkt.Error, pkt.ErrorIndex = gosnmp.NoError, 0
			if out, err := pkt.MarshalMsg(); err == nil {
				_, _ = conn.WriteTo(out, from)
			}
			pkt.PDUType = gosnmp.InformRequest
		}
		var ip string
		if ua != nil {
			ip = ua.IP.String()
		}
		ev := r.event(pkt, ip)
		r.mu.Lock()
		r.received++
		r.mu.Unlock()
		if r.handle != nil {
			r.handle(ev)
		}
	}
}

// TrapStats counts notifications.
type TrapStats struct{ Received, Dropped uint64 }

// Stats returns the counters.
func (r *TrapReceiver) Stats() TrapStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return TrapStats{Received: r.received, Dropped: r.dropped}
}

// errTrap marks a datagram that is not an accepted notification.
var errTrap = errors.New("not an accepted notification")

// errDiscovery marks an SNMPv3 engine discovery request (RFC 3414 4):
// the sender of an inform asks for the receiver's engine ID.
var errDiscovery = errors.New("SNMPv3 engine discovery")

// usmStatsUnknownEngineIDs.0, the Report that answers a discovery.
const oidUsmStatsUnknownEngineIDs = "1.3.6.1.6.3.15.1.1.4.0"

// reportEngineID answers a discovery request with the receiver's engine ID.
func (r *TrapReceiver) reportEngineID(conn net.PacketConn, req *gosnmp.SnmpPacket, to net.Addr) {
	r.mu.Lock()
	r.unknownEngineIDs++
	count := r.unknownEngineIDs
	r.mu.Unlock()
	rep := &gosnmp.SnmpPacket{
		Version:       gosnmp.Version3,
		MsgFlags:      gosnmp.NoAuthNoPriv,
		SecurityModel: gosnmp.UserSecurityModel,
		SecurityParameters: &gosnmp.UsmSecurityParameters{
			AuthoritativeEngineID:    r.cfg.EngineID,
			AuthoritativeEngineBoots: 1,
			AuthoritativeEngineTime:  uint32(time.Since(r.start) / time.Second),
		},
		ContextEngineID: r.cfg.EngineID,
		MsgID:           req.MsgID,
		MsgMaxSize:      65507,
		RequestID:       req.RequestID,
		PDUType:         gosnmp.Report,
		Variables:       []gosnmp.SnmpPDU{{Name: oidUsmStatsUnknownEngineIDs, Type: gosnmp.Counter32, Value: uint(count)}},
	}
	out, err := rep.MarshalMsg()
	if err != nil {
		r.log.Debug("snmp engine discovery report", "err", err)
		return
	}
	_, _ = conn.WriteTo(out, to)
}

// decode parses one datagram and checks its credentials. It never panics.
func (r *TrapReceiver) decode(data []byte) (pkt *gosnmp.SnmpPacket, err error) {
	defer func() {
		if p := recover(); p != nil {
			pkt, err = nil, fmt.Errorf("%w: malformed packet (%v)", errTrap, p)
		}
	}()
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", errTrap)
	}
	pkt, err = r.x.UnmarshalTrap(data, true)
	if err != nil {
		if len(r.cfg.Users) > 0 {
			if p, perr := r.probe.UnmarshalTrap(data, true); perr == nil && isDiscovery(p) {
				return p, errDiscovery
			}
		}
		return nil, fmt.Errorf("%w: %v", errTrap, err)
	}
	if isDiscovery(pkt) {
		return pkt, errDiscovery
	}
	switch pkt.PDUType {
	case gosnmp.Trap, gosnmp.SNMPv2Trap, gosnmp.InformRequest:
	default:
		return nil, fmt.Errorf("%w: PDU type %v", errTrap, pkt.PDUType)
	}
	switch pkt.Version {
	case gosnmp.Version1, gosnmp.Version2c:
		ok := false
		for _, c := range r.cfg.Communities {
			if c == pkt.Community {
				ok = true
			}
		}
		if !ok {
			return nil, fmt.Errorf("%w: community not accepted", errTrap)
		}
	case gosnmp.Version3:
		if pkt.MsgFlags&gosnmp.AuthNoPriv == 0 {
			return nil, fmt.Errorf("%w: SNMPv3 trap without authentication", errTrap)
		}
	}
	return pkt, nil
}

// isDiscovery tells an SNMPv3 engine discovery request: an empty,
// unauthenticated GetRequest naming no user and no engine.
func isDiscovery(p *gosnmp.SnmpPacket) bool {
	usm, ok := p.SecurityParameters.(*gosnmp.UsmSecurityParameters)
	return ok && p.Version == gosnmp.Version3 && p.PDUType == gosnmp.GetRequest && len(p.Variables) == 0 &&
		usm.UserName == "" && usm.AuthoritativeEngineID == ""
}

// event maps a decoded notification.
func (r *TrapReceiver) event(pkt *gosnmp.SnmpPacket, ip string) Event {
	ev := Event{Time: r.now(), Agent: ip, Device: ip, Inform: pkt.PDUType == gosnmp.InformRequest}
	if name, ok := r.cfg.Devices[ip]; ok {
		ev.Device = name
	}
	if pkt.PDUType == gosnmp.Trap { // v1
		if pkt.GenericTrap == 6 {
			ev.TrapOID = strings.TrimPrefix(pkt.Enterprise, ".") + ".0." + strconv.Itoa(pkt.SpecificTrap)
		} else {
			ev.TrapOID = "1.3.6.1.6.3.1.1.5." + strconv.Itoa(pkt.GenericTrap+1)
		}
	}
	for _, v := range pkt.Variables {
		name := strings.TrimPrefix(v.Name, ".")
		switch name {
		case OIDSnmpTrapOID:
			if s, ok := v.Value.(string); ok {
				ev.TrapOID = strings.TrimPrefix(s, ".")
			}
			continue
		case "1.3.6.1.2.1.1.3.0": // sysUpTime.0
			continue
		}
		ev.Vars = append(ev.Vars, v)
	}
	if ref, ok := r.traps[ev.TrapOID]; ok {
		t := ref.t
		ev.Known, ev.Profile = true, ref.profile
		ev.Kind, ev.Level, ev.State, ev.Message = t.Kind, t.Level, t.State, t.Message
		if t.Point != "" {
			spec, _ := r.voc.Lookup(t.Point)
			rd := drivers.Reading{Point: t.Point, Value: math.NaN(), Text: t.Text, Unit: spec.Unit, Time: ev.Time}
			ev.Readings = append(ev.Readings, rd)
		}
	}
	return ev
}
