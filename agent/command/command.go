package command

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Actions of shed commands.
const (
	// ActionShutdown asks the hosts of a group to shut down cleanly.
	ActionShutdown = "shutdown"
	// ActionCancel withdraws an earlier shutdown of the same group that a
	// host has not started yet.
	ActionCancel = "cancel"
)

// Actions of operator commands for the alert lifecycle; Reason.ID names
// the alert.
const (
	// ActionAcknowledge marks an active alert as seen by an operator.
	ActionAcknowledge = "acknowledge"
	// ActionSilence silences an alert's notifications until Until.
	ActionSilence = "silence"
	// ActionUnsilence ends a silence early.
	ActionUnsilence = "unsilence"
	// ActionClearFSD clears the forced-shutdown flag of a shed group on
	// the NUT endpoint (Group names it).
	ActionClearFSD = "clear-fsd"
)

// Reason says which alert a command answers.
type Reason struct {
	// ID is the alert id (CONTRACTS section 4).
	ID string `json:"id,omitempty"`
	// Kind and Level are the alert's kind and level.
	Kind  string `json:"kind,omitempty"`
	Level string `json:"level,omitempty"`
	// Device is the device the alert is about.
	Device string `json:"device,omitempty"`
	// Subject is the part of the device (battery.string.2, ...).
	Subject string `json:"subject,omitempty"`
}

// Command is a signed command. Its JSON form is the wire format; see the
// package documentation for the canonical form that is signed.
type Command struct {
	// Site is the site the command is for.
	Site string `json:"site"`
	// Gateway is the issuer: the gateway (or operator console) whose
	// sequence Seq belongs to.
	Gateway string `json:"gateway"`
	// Group is the shed group the command addresses; empty for operator
	// commands that are not about a group.
	Group string `json:"group,omitempty"`
	// Tier is the 1-based shed tier the group is shed in; 0 for operator
	// commands.
	Tier int `json:"tier,omitempty"`
	// Action is one of the Action constants.
	Action string `json:"action"`
	// Reason names the alert behind the command.
	Reason Reason `json:"reason"`
	// Until ends a silence; zero otherwise.
	Until *time.Time `json:"until,omitempty"`
	// Seq is the issuer's sequence number; it only goes up.
	Seq int64 `json:"seq"`
	// Issued is when the command was signed, UTC.
	Issued time.Time `json:"issued"`
	// Key is the KeyID of the signing key.
	Key string `json:"key"`
	// Sig is the base64 Ed25519 signature of the canonical form without
	// sig.
	Sig string `json:"sig,omitempty"`
}

// Sign sets c.Key, c.Sig and normalises c.Issued to UTC, then returns the
// wire form of the signed command (which is itself canonical).
func Sign(c *Command, key ed25519.PrivateKey) ([]byte, error) {
	c.Issued = c.Issued.UTC()
	if c.Until != nil {
		u := c.Until.UTC()
		c.Until = &u
	}
	c.Key = KeyID(key.Public().(ed25519.PublicKey))
	c.Sig = ""
	body, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("command: encode: %w", err)
	}
	canon, err := Canonical(body, "")
	if err != nil {
		return nil, fmt.Errorf("command: %w", err)
	}
	c.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(key, canon))
	signed, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("command: encode: %w", err)
	}
	return Canonical(signed, "")
}

// Parse decodes a command strictly: unknown members, a missing or
// non-canonical field and a malformed signature encoding are errors
// wrapping ErrMalformed. It returns the command and the canonical bytes
// its signature covers. Parse checks neither the signature nor the
// sequence; Verifier.Verify does.
func Parse(data []byte) (Command, []byte, error) {
	var c Command
	if len(data) > MaxSize {
		return c, nil, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(data), MaxSize)
	}
	signed, err := Canonical(data, "sig")
	if err != nil {
		return c, nil, err
	}
	if err := exactNames(data); err != nil {
		return c, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	switch {
	case c.Site == "":
		return c, nil, fmt.Errorf("%w: no site", ErrMalformed)
	case c.Gateway == "":
		return c, nil, fmt.Errorf("%w: no gateway", ErrMalformed)
	case c.Action == "":
		return c, nil, fmt.Errorf("%w: no action", ErrMalformed)
	case c.Seq <= 0:
		return c, nil, fmt.Errorf("%w: seq %d is not positive", ErrMalformed, c.Seq)
	case c.Issued.IsZero():
		return c, nil, fmt.Errorf("%w: no issue time", ErrMalformed)
	case c.Key == "":
		return c, nil, fmt.Errorf("%w: no key", ErrMalformed)
	case c.Sig == "":
		return c, nil, fmt.Errorf("%w: no signature", ErrMalformed)
	}
	if sig, err := base64.StdEncoding.DecodeString(c.Sig); err != nil || len(sig) != ed25519.SignatureSize {
		return c, nil, fmt.Errorf("%w: sig is not a base64 Ed25519 signature", ErrMalformed)
	}
	return c, signed, nil
}

// names are the members of a command and of its reason, spelled exactly;
// encoding/json alone would match names regardless of case.
var (
	commandNames = map[string]bool{"site": true, "gateway": true, "group": true, "tier": true, "action": true,
		"reason": true, "until": true, "seq": true, "issued": true, "key": true, "sig": true}
	reasonNames = map[string]bool{"id": true, "kind": true, "level": true, "device": true, "subject": true}
)

// exactNames rejects members whose names are not spelled exactly as the
// schema's.
func exactNames(data []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	for k := range top {
		if !commandNames[k] {
			return fmt.Errorf("%w: unknown member %q", ErrMalformed, k)
		}
	}
	if r, ok := top["reason"]; ok {
		var reason map[string]json.RawMessage
		if err := json.Unmarshal(r, &reason); err != nil {
			return fmt.Errorf("%w: reason: %w", ErrMalformed, err)
		}
		for k := range reason {
			if !reasonNames[k] {
				return fmt.Errorf("%w: unknown member reason.%s", ErrMalformed, k)
			}
		}
	}
	return nil
}

// MaxSize is the largest command accepted, in bytes.
const MaxSize = 4096

// Errors a Verifier wraps, one per reason to reject a command.
var (
	ErrUnknownKey   = errors.New("unknown key")
	ErrBadSignature = errors.New("bad signature")
	ErrReplay       = errors.New("replayed or older sequence")
	ErrStale        = errors.New("stale command")
	ErrFuture       = errors.New("command issued in the future")
)

// RejectReason returns a short word for why err rejected a command, for
// acknowledgements and logs: "malformed", "unknown-key", "bad-signature",
// "replay", "stale", "future", or "error".
func RejectReason(err error) string {
	switch {
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrUnknownKey):
		return "unknown-key"
	case errors.Is(err, ErrBadSignature):
		return "bad-signature"
	case errors.Is(err, ErrReplay):
		return "replay"
	case errors.Is(err, ErrStale):
		return "stale"
	case errors.Is(err, ErrFuture):
		return "future"
	}
	return "error"
}
