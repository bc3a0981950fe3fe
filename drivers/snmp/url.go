package snmp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
	firmwareconfig "github.com/emberwatch/emberwatch/firmware-config"
	"github.com/gosnmp/gosnmp"
)

// OIDSysObjectID is SNMPv2-MIB sysObjectID.0, read to choose a profile.
const OIDSysObjectID = "1.3.6.1.2.1.1.2.0"

// DefaultProfiles returns the profiles built into the binary
// (firmware-config/profiles/snmp).
func DefaultProfiles() (*Profiles, error) {
	return LoadProfiles(firmwareconfig.Profiles(), "snmp")
}

// ErrNoProfile means no profile fits the agent.
var ErrNoProfile = errors.New("no SNMP profile fits")

// Resolve picks the profile for the agent behind c: the longest
// sys_object_id prefix of its sysObjectID, using detect_oid to tell apart
// profiles that share that prefix; else the first profile (by name) whose
// detect_oid subtree holds an object. It returns the sysObjectID read.
func (ps *Profiles) Resolve(ctx context.Context, c Conn) (*Profile, string, error) {
	pkt, err := c.Get(ctx, []string{OIDSysObjectID})
	if err != nil {
		return nil, "", fmt.Errorf("snmp %s: GET sysObjectID %s: %w", c.String(), OIDSysObjectID, err)
	}
	var id string
	if pkt.Error == gosnmp.NoError && len(pkt.Variables) == 1 {
		if s, ok := pkt.Variables[0].Value.(string); ok {
			id = strings.TrimPrefix(s, ".")
		}
	}
	// Candidates with the longest matching prefix.
	var cands []*Profile
	bestLen := -1
	for _, p := range ps.list {
		for _, pre := range p.SysObjectID {
			if id == "" || !(id == pre || strings.HasPrefix(id, pre+".")) {
				continue
			}
			switch {
			case len(pre) > bestLen:
				cands, bestLen = []*Profile{p}, len(pre)
			case len(pre) == bestLen:
				cands = append(cands, p)
			}
		}
	}
	if len(cands) == 1 {
		return cands[0], id, nil
	}
	if len(cands) == 0 {
		cands = ps.detectors()
	}
	for _, p := range cands {
		if p.DetectOID == "" {
			continue
		}
		pkt, err := c.GetNext(ctx, []string{p.DetectOID})
		if err != nil {
			return nil, id, fmt.Errorf("snmp %s: GETNEXT %s: %w", c.String(), p.DetectOID, err)
		}
		if pkt.Error == gosnmp.NoError && len(pkt.Variables) == 1 && present(pkt.Variables[0]) &&
			hasPrefix(parseOID(pkt.Variables[0].Name), parseOID(p.DetectOID)) {
			return p, id, nil
		}
	}
	if len(cands) > 0 && cands[0].DetectOID == "" {
		return cands[0], id, nil
	}
	return nil, id, fmt.Errorf("snmp %s: sysObjectID %q: %w", c.String(), id, ErrNoProfile)
}

// MaxRate is the highest ?rate= of an snmp:// URL, in requests a second.
const MaxRate = 10000

// ParseURL reads an snmp:// URL into a Config and a profile name ("" or
// "auto" for automatic choice):
//
//	snmp://COMMUNITY@HOST[:161]?version=2c&profile=NAME
//	snmp://USER@HOST?version=3&auth=SHA&auth_pass=...&priv=AES&priv_pass=...
//
// Query keys: version (1, 2c, 3), profile, timeout (Go duration), retries,
// rate (requests a second), and for v3 level, auth, auth_pass, priv,
// priv_pass, context. Unknown keys are errors.
func ParseURL(raw string) (Config, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, "", fmt.Errorf("snmp URL: %w", err)
	}
	if u.Scheme != "snmp" {
		return Config{}, "", fmt.Errorf("snmp URL %q: scheme must be snmp", raw)
	}
	if u.Hostname() == "" {
		return Config{}, "", fmt.Errorf("snmp URL %q: no host", raw)
	}
	cfg := Config{Target: u.Host}
	q := u.Query()
	cfg.Version = q.Get("version")
	if u.User != nil {
		if strings.TrimPrefix(cfg.Version, "v") == "3" {
			cfg.User = u.User.Username()
		} else {
			cfg.Community = u.User.Username()
		}
	}
	profile := ""
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "version":
		case "profile":
			profile = v
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return Config{}, "", fmt.Errorf("snmp URL: timeout %q: want a positive duration like 2s", v)
			}
			cfg.Timeout = d
		case "retries":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return Config{}, "", fmt.Errorf("snmp URL: retries %q: want 0 or more", v)
			}
			cfg.Retries = n
			if n == 0 {
				cfg.Retries = -1
			}
		case "rate":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !(f > 0 && f <= MaxRate) {
				return Config{}, "", fmt.Errorf("snmp URL: rate %q: want requests a second, more than 0 and at most %d", v, MaxRate)
			}
			cfg.RateLimit = f
		case "level":
			cfg.SecurityLevel = v
		case "auth":
			cfg.AuthProto = v
		case "auth_pass":
			cfg.AuthPass = v
		case "priv":
			cfg.PrivProto = v
		case "priv_pass":
			cfg.PrivPass = v
		case "context":
			cfg.ContextName = v
		case "user":
			cfg.User = v
		case "community":
			cfg.Community = v
		default:
			return Config{}, "", fmt.Errorf("snmp URL: unknown key %q (want version, profile, timeout, retries, rate, level, auth, auth_pass, priv, priv_pass, context)", k)
		}
	}
	if _, err := gosnmpFor(cfg); err != nil {
		return Config{}, "", err
	}
	return cfg, profile, nil
}

// ProbeURL reads the agent an snmp:// URL names once, with the built-in
// profiles, for commissioning (emberwatch probe). The profile is the URL's
// ?profile=NAME, or chosen from sysObjectID.
func ProbeURL(ctx context.Context, raw string) ([]drivers.Reading, error) {
	ps, err := DefaultProfiles()
	if err != nil {
		return nil, err
	}
	return ProbeURLWith(ctx, raw, ps)
}

// ProbeURLWith is ProbeURL with a given set of profiles.
func ProbeURLWith(ctx context.Context, raw string, ps *Profiles) ([]drivers.Reading, error) {
	cfg, name, err := ParseURL(raw)
	if err != nil {
		return nil, err
	}
	var p *Profile
	if name != "" && name != "auto" {
		var ok bool
		if p, ok = ps.Get(name); !ok {
			return nil, fmt.Errorf("snmp profile %q: %w", name, ErrNoProfile)
		}
	}
	c, err := Dial(cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if p == nil {
		if p, _, err = ps.Resolve(ctx, c); err != nil {
			return nil, err
		}
	}
	return NewDevice(cfg.Target, p, c, Options{}).Poll(ctx)
}
