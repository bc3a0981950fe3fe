package command_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/emberwatch/emberwatch/agent/command"
)

func Example() {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	signer, _ := command.NewSigner(key, "dc-1", "gw-1", "")
	now := time.Date(2026, 3, 1, 1, 2, 3, 0, time.UTC)
	wire, _, _ := signer.Sign(command.Command{Group: "rack-a", Tier: 1, Action: command.ActionShutdown,
		Reason: command.Reason{ID: "a1", Kind: "thermal_runaway", Level: "critical", Device: "bms-1"}}, now)

	v, _ := command.NewVerifier(command.VerifierOptions{Keys: []ed25519.PublicKey{signer.PublicKey()}})
	c, err := v.Verify(wire, now.Add(50*time.Millisecond))
	fmt.Println(c.Action, c.Group, c.Tier, err)
	_, err = v.Verify(wire, now.Add(60*time.Millisecond))
	fmt.Println(command.RejectReason(err))
	// Output:
	// shutdown rack-a 1 <nil>
	// replay
}
