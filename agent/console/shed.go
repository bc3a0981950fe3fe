package console

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// MaxShedEvents is how many recent shed events a State keeps.
const MaxShedEvents = 8

// Tier is one load-shedding tier as the gateway's shed status reports it.
type Tier struct {
	Tier  int    `json:"tier"`
	Name  string `json:"name"`
	State string `json:"state"`
	Down  int    `json:"down"`
	Hosts int    `json:"hosts"`
	Why   string `json:"why"`
}

// Host is the last acknowledgement of one host listening for shed
// commands.
type Host struct {
	Group  string
	Status string
	DryRun bool
	Seen   time.Time
}

// ShedEvent is one line of the shed history: a command sent to a group,
// outlets switched, a host's acknowledgement.
type ShedEvent struct {
	Time time.Time
	Text string
}

// shedState is the part of State about load shedding.
type shedState struct {
	// Tiers is the gateway's shed status, tier by tier.
	Tiers []Tier
	// FSD lists the names carrying the forced-shutdown flag.
	FSD []string
	// Hosts holds each host's last acknowledgement, by host name.
	Hosts map[string]Host
	// ShedEvents are the most recent shed events, oldest first.
	ShedEvents []ShedEvent
}

// shedEvent records a shed event and returns its update.
func (s *State) shedEvent(at time.Time, text string) Update {
	s.ShedEvents = append(s.ShedEvents, ShedEvent{Time: at, Text: text})
	if len(s.ShedEvents) > MaxShedEvents {
		s.ShedEvents = append([]ShedEvent(nil), s.ShedEvents[len(s.ShedEvents)-MaxShedEvents:]...)
	}
	return Update{Kind: ShedUpdate, Shed: text}
}

// siteTopic returns the rest of topic under emberwatch/v1/<site>/ and
// whether it is there.
func (s *State) siteTopic(topic string) (string, bool) {
	return strings.CutPrefix(topic, "emberwatch/v1/"+s.Site+"/")
}

// applyCommand takes a signed shed command sent to a group.
func (s *State) applyCommand(group string, payload []byte, now time.Time) (Update, error) {
	var c struct {
		Action string `json:"action"`
		Tier   int    `json:"tier"`
		Seq    int64  `json:"seq"`
		Reason struct {
			Device  string `json:"device"`
			Subject string `json:"subject"`
			Kind    string `json:"kind"`
			Level   string `json:"level"`
		} `json:"reason"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return Update{}, err
	}
	text := fmt.Sprintf("command %s to %s", c.Action, group)
	if c.Tier > 0 {
		text += fmt.Sprintf(" (tier %d)", c.Tier)
	}
	if r := c.Reason; r.Kind != "" {
		text += fmt.Sprintf(": %s %s %s %s", r.Kind, r.Level, r.Device, r.Subject)
	}
	return s.shedEvent(now, strings.TrimSpace(text)), nil
}

// applyAck takes a host's acknowledgement.
func (s *State) applyAck(host string, payload []byte, now time.Time) (Update, error) {
	var a struct {
		Group  string `json:"group"`
		Status string `json:"status"`
		Reason string `json:"reason"`
		DryRun bool   `json:"dry_run"`
	}
	if err := json.Unmarshal(payload, &a); err != nil {
		return Update{}, err
	}
	if s.Hosts == nil {
		s.Hosts = map[string]Host{}
	}
	s.Hosts[host] = Host{Group: a.Group, Status: a.Status, DryRun: a.DryRun, Seen: now}
	if a.Status == "received" {
		// shutting-down (or rejected) follows at once: keep the history short
		return Update{Kind: ShedUpdate, Shed: fmt.Sprintf("host %s (%s) received", host, a.Group)}, nil
	}
	text := fmt.Sprintf("host %s (%s) %s", host, a.Group, a.Status)
	if a.Reason != "" {
		text += ": " + a.Reason
	}
	if a.DryRun {
		text += " (dry run)"
	}
	return s.shedEvent(now, text), nil
}

// applyShedStatus takes the gateway's retained shed status.
func (s *State) applyShedStatus(payload []byte) (Update, error) {
	var st struct {
		Tiers []Tier   `json:"tiers"`
		FSD   []string `json:"fsd"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		return Update{}, err
	}
	s.Tiers, s.FSD = st.Tiers, st.FSD
	return Update{Kind: ShedUpdate}, nil
}

// applyOutcome takes what became of one shed action.
func (s *State) applyOutcome(payload []byte, now time.Time) (Update, error) {
	var o struct {
		Kind    string `json:"kind"`
		Tier    int    `json:"tier"`
		Group   string `json:"group"`
		Why     string `json:"why"`
		Outlets []struct {
			PDU    string `json:"pdu"`
			Outlet int    `json:"outlet"`
			On     bool   `json:"on"`
		} `json:"outlets"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(payload, &o); err != nil {
		return Update{}, err
	}
	if o.Kind != "outlets-off" && o.Error == "" {
		return Update{Kind: Ignored}, nil // a sent command shows as the command itself
	}
	var outs []string
	for _, x := range o.Outlets {
		st := "off"
		if x.On {
			st = "ON"
		}
		outs = append(outs, fmt.Sprintf("%s/%d %s", x.PDU, x.Outlet, st))
	}
	text := fmt.Sprintf("tier %d %s", o.Tier, o.Kind)
	if len(outs) > 0 {
		text += " " + strings.Join(outs, ", ")
	}
	if o.Why != "" {
		text += " (" + o.Why + ")"
	}
	if o.Error != "" {
		text += ": FAILED: " + o.Error
	}
	return s.shedEvent(now, text), nil
}

// shedScreen renders the shedding section, "" when nothing is known.
func shedScreen(s *State) string {
	if len(s.Tiers) == 0 && len(s.Hosts) == 0 && len(s.ShedEvents) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\nshedding:")
	for _, t := range s.Tiers {
		fmt.Fprintf(&b, "  tier %d %s %s (%d/%d down", t.Tier, t.Name, t.State, t.Down, t.Hosts)
		if t.Why != "" && t.State != "idle" {
			b.WriteString(", " + shorten(t.Why, 24))
		}
		b.WriteString(")")
	}
	b.WriteString("\n")
	if len(s.Hosts) > 0 {
		names := make([]string, 0, len(s.Hosts))
		for n := range s.Hosts {
			names = append(names, n)
		}
		sort.Strings(names)
		items := make([]string, 0, len(names))
		for _, n := range names {
			items = append(items, n+" "+s.Hosts[n].Status)
		}
		b.WriteString(wrap("  hosts: ", items, 78))
	}
	if len(s.FSD) > 0 {
		fmt.Fprintf(&b, "  forced shutdown: %s\n", strings.Join(s.FSD, " "))
	}
	for i := len(s.ShedEvents) - 1; i >= 0; i-- {
		e := s.ShedEvents[i]
		fmt.Fprintf(&b, "  %s %s\n", clock(e.Time), e.Text)
	}
	return b.String()
}

// shedLine renders a shed update as a log line.
func shedLine(s *State, u Update, at string) string {
	if u.Shed != "" {
		return fmt.Sprintf("%s shed %s", at, u.Shed)
	}
	parts := make([]string, 0, len(s.Tiers))
	for _, t := range s.Tiers {
		parts = append(parts, fmt.Sprintf("%s %s (%d/%d down)", t.Name, t.State, t.Down, t.Hosts))
	}
	return fmt.Sprintf("%s shed tiers: %s", at, strings.Join(parts, ", "))
}

func shorten(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
