package host_test

import (
	"fmt"

	"github.com/emberwatch/emberwatch/agent/host"
)

func ExampleConfig() {
	cfg := host.Config{
		Broker:     "tcp://127.0.0.1:1883",
		Site:       "dc-1",
		Group:      "rack-a",
		Host:       "web-1",
		PublicKeys: []string{"/etc/emberwatch/gw-1.pub"},
		DryRun:     true,
	}
	fmt.Println(cfg.Validate(), host.DefaultShutdown())
	// Output: <nil> [systemctl poweroff]
}
