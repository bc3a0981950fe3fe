package command

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"
)

// Config is the commands: section of the site config: how the gateway
// signs its shed commands and whom it trusts for operator commands.
//
//	commands:
//	  key: /etc/emberwatch/gw-1.key          # emberwatch keygen -o /etc/emberwatch/gw-1
//	  seq_file: /var/lib/emberwatch/seq.json
//	  operator_keys: [/etc/emberwatch/console.pub]
//	  max_age: 60s
type Config struct {
	// Key is the private key file shed commands are signed with.
	Key string `yaml:"key"`
	// SeqFile keeps the last sequence issued (see NewSigner); optional.
	SeqFile string `yaml:"seq_file"`
	// OperatorKeys are public key files trusted for operator commands
	// (acknowledge, silence, cancel, clear-fsd).
	OperatorKeys []string `yaml:"operator_keys"`
	// OperatorSeqFile keeps the last operator sequence accepted; optional.
	OperatorSeqFile string `yaml:"operator_seq_file"`
	// MaxAge is how old an operator command may be; DefaultMaxAge if zero.
	MaxAge time.Duration `yaml:"max_age"`
}

// Signer loads the key and returns the gateway's signer.
func (c Config) Signer(site, gateway string) (*Signer, error) {
	if c.Key == "" {
		return nil, errors.New("commands.key: required to sign shed commands")
	}
	key, err := LoadPrivateKey(c.Key)
	if err != nil {
		return nil, fmt.Errorf("commands.key: %w", err)
	}
	return NewSigner(key, site, gateway, c.SeqFile)
}

// OperatorVerifier loads the operator keys and returns their verifier;
// accept may restrict the commands further (see VerifierOptions.Accept).
func (c Config) OperatorVerifier(accept func(Command) error) (*Verifier, error) {
	var keys []ed25519.PublicKey
	for _, f := range c.OperatorKeys {
		k, err := LoadPublicKey(f)
		if err != nil {
			return nil, fmt.Errorf("commands.operator_keys: %w", err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("commands.operator_keys: none; operator commands are refused")
	}
	return NewVerifier(VerifierOptions{Keys: keys, MaxAge: c.MaxAge, StateFile: c.OperatorSeqFile, Accept: accept})
}
