package snmp_test

import (
	"context"
	"fmt"
	"time"

	"github.com/emberwatch/emberwatch/drivers/snmp"
)

// A site's agent: a profile chosen from the built-in ones by sysObjectID,
// then one poll. (Not run: it needs an agent.)
func Example() {
	ps, err := snmp.DefaultProfiles()
	if err != nil {
		panic(err)
	}
	c, err := snmp.Dial(snmp.Config{Target: "10.0.0.9:161", Community: "public", Timeout: 2 * time.Second})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ctx := context.Background()
	p, sysObjectID, err := ps.Resolve(ctx, c)
	if err != nil {
		panic(err)
	}
	fmt.Println("profile", p.Name, "for", sysObjectID)
	dev := snmp.NewDevice("ups-1", p, c, snmp.Options{})
	readings, err := dev.Poll(ctx)
	if err != nil {
		panic(err)
	}
	for _, r := range readings {
		fmt.Println(r.Point, r.Value, r.Text, r.Unit)
	}
}

func ExampleParseURL() {
	cfg, profile, err := snmp.ParseURL("snmp://ops@10.0.0.9?version=3&auth=SHA&auth_pass=aaaaaaaa&priv=AES&priv_pass=bbbbbbbb&profile=apc-rpdu")
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Target, cfg.Version, cfg.User, cfg.AuthProto, cfg.PrivProto, profile)
	// Output: 10.0.0.9 3 ops SHA AES apc-rpdu
}

func ExampleProfiles_Select() {
	ps, err := snmp.DefaultProfiles()
	if err != nil {
		panic(err)
	}
	for _, id := range []string{"1.3.6.1.4.1.318.1.3.27", "1.3.6.1.4.1.534.6.6.7", "1.3.6.1.4.1.1718.3"} {
		p, _ := ps.Select(id)
		fmt.Println(id, p.Name)
	}
	// Output:
	// 1.3.6.1.4.1.318.1.3.27 apc-ups
	// 1.3.6.1.4.1.534.6.6.7 eaton-epdu
	// 1.3.6.1.4.1.1718.3 sentry3
}
