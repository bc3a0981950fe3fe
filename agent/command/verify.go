package command

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Defaults of VerifierOptions.
const (
	DefaultMaxAge  = 60 * time.Second
	DefaultMaxSkew = 10 * time.Second
)

// VerifierOptions configures a Verifier. Keys is required; zero values of
// the others mean defaults.
type VerifierOptions struct {
	// Keys are the trusted public keys.
	Keys []ed25519.PublicKey
	// MaxAge is how long after its issue time a command is still accepted;
	// DefaultMaxAge if zero.
	MaxAge time.Duration
	// MaxSkew is how far in the future an issue time may be (clocks
	// differ); DefaultMaxSkew if zero.
	MaxSkew time.Duration
	// Accept, if set, is called after the signature and age checks and
	// before the sequence is checked and recorded; an error from it
	// rejects the command without consuming its sequence (a command meant
	// for another group or site, an action the receiver does not do).
	Accept func(Command) error
	// StateFile keeps the highest sequence accepted per gateway across
	// restarts; in memory only if empty.
	StateFile string
}

// Verifier checks signed commands: signature by a trusted key, age, and a
// sequence above the last accepted one of the same gateway. It is safe for
// concurrent use; Verify calls are serialised.
type Verifier struct {
	opts VerifierOptions
	keys map[string]ed25519.PublicKey

	mu   sync.Mutex
	last map[string]int64
}

// NewVerifier returns a Verifier, reading the state file if it exists.
func NewVerifier(opts VerifierOptions) (*Verifier, error) {
	if len(opts.Keys) == 0 {
		return nil, errors.New("command: verifier: no trusted public keys")
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.MaxSkew <= 0 {
		opts.MaxSkew = DefaultMaxSkew
	}
	v := &Verifier{opts: opts, keys: map[string]ed25519.PublicKey{}, last: map[string]int64{}}
	for _, k := range opts.Keys {
		v.keys[KeyID(k)] = k
	}
	if opts.StateFile != "" {
		st, err := readState(opts.StateFile)
		if err != nil {
			return nil, err
		}
		v.last = st.Gateways
	}
	return v, nil
}

// Verify parses data and accepts it only if it is well-formed, signed by a
// trusted key, issued within [now-MaxAge, now+MaxSkew] and has a sequence
// above the last one accepted from its gateway; the new sequence is then
// recorded (and written to the state file) before Verify returns. A
// rejection wraps one of ErrMalformed, ErrUnknownKey, ErrBadSignature,
// ErrStale, ErrFuture, ErrReplay (see RejectReason); the returned command
// is filled as far as it could be parsed, for logging.
func (v *Verifier) Verify(data []byte, now time.Time) (Command, error) {
	c, signed, err := Parse(data)
	if err != nil {
		return c, err
	}
	pub, ok := v.keys[c.Key]
	if !ok {
		return c, fmt.Errorf("command from %s seq %d: %w %q", c.Gateway, c.Seq, ErrUnknownKey, c.Key)
	}
	sig, _ := base64.StdEncoding.DecodeString(c.Sig) // checked by Parse
	if !ed25519.Verify(pub, signed, sig) {
		return c, fmt.Errorf("command from %s seq %d: %w (key %s)", c.Gateway, c.Seq, ErrBadSignature, c.Key)
	}
	if age := now.Sub(c.Issued); age > v.opts.MaxAge {
		return c, fmt.Errorf("command from %s seq %d: %w: issued %v ago, max %v", c.Gateway, c.Seq, ErrStale, age.Round(time.Millisecond), v.opts.MaxAge)
	} else if -age > v.opts.MaxSkew {
		return c, fmt.Errorf("command from %s seq %d: %w: issued %v ahead, max %v", c.Gateway, c.Seq, ErrFuture, (-age).Round(time.Millisecond), v.opts.MaxSkew)
	}
	if v.opts.Accept != nil {
		if err := v.opts.Accept(c); err != nil {
			return c, err
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if last := v.last[c.Gateway]; c.Seq <= last {
		return c, fmt.Errorf("command from %s seq %d: %w (last accepted %d)", c.Gateway, c.Seq, ErrReplay, last)
	}
	prev, had := v.last[c.Gateway]
	v.last[c.Gateway] = c.Seq
	if v.opts.StateFile != "" {
		if err := writeState(v.opts.StateFile, state{Gateways: v.last}, true); err != nil {
			if had {
				v.last[c.Gateway] = prev
			} else {
				delete(v.last, c.Gateway)
			}
			return c, fmt.Errorf("command from %s seq %d: %w", c.Gateway, c.Seq, err)
		}
	}
	return c, nil
}

// Last returns the highest sequence accepted from gateway, 0 if none.
func (v *Verifier) Last(gateway string) int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.last[gateway]
}

// Signer signs commands of one issuer with increasing sequence numbers. It
// is safe for concurrent use.
type Signer struct {
	key           ed25519.PrivateKey
	site, gateway string
	stateFile     string

	mu   sync.Mutex
	last int64
}

// NewSigner returns a Signer for commands of site issued by gateway. With a
// stateFile the last sequence survives restarts; without one, sequences
// still rise across restarts as long as the clock does (see the package
// documentation).
func NewSigner(key ed25519.PrivateKey, site, gateway, stateFile string) (*Signer, error) {
	s := &Signer{key: key, site: site, gateway: gateway, stateFile: stateFile}
	if stateFile != "" {
		st, err := readState(stateFile)
		if err != nil {
			return nil, err
		}
		s.last = st.Gateways[gateway]
	}
	return s, nil
}

// PublicKey returns the signer's public key.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// Sign fills c's site, gateway (the issuer), sequence and issue time (now),
// signs it, and returns the wire form and the signed command.
func (s *Signer) Sign(c Command, now time.Time) ([]byte, Command, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := max(s.last+1, now.UnixMilli())
	c.Site, c.Gateway, c.Seq, c.Issued = s.site, s.gateway, seq, now
	data, err := Sign(&c, s.key)
	if err != nil {
		return nil, c, err
	}
	if s.stateFile != "" {
		if err := writeState(s.stateFile, state{Gateways: map[string]int64{s.gateway: seq}}, false); err != nil {
			return nil, c, err
		}
	}
	s.last = seq
	return data, c, nil
}

// state is the JSON of a state file.
type state struct {
	// Gateways maps an issuer to its last sequence.
	Gateways map[string]int64 `json:"gateways"`
}

func readState(path string) (state, error) {
	st := state{Gateways: map[string]int64{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("command: state %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("command: state %s: %w", path, err)
	}
	if st.Gateways == nil {
		st.Gateways = map[string]int64{}
	}
	return st, nil
}

// writeState replaces path atomically (write, optionally fsync, rename).
func writeState(path string, st state, sync bool) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("command: state %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("command: state %s: %w", path, err)
	}
	_, err = tmp.Write(append(b, '\n'))
	if err == nil && sync {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("command: state %s: %w", path, err)
	}
	return nil
}
