package config_test

import (
	"fmt"

	"github.com/emberwatch/emberwatch/agent/config"
)

func ExampleParse() {
	_, err := config.Parse("site.yaml", []byte(`site: dc1
gateway: rack-7
mqtt:
  broker: tcp://127.0.0.1:1883
devices:
  - name: bms-1
    driver: modbus
    address: tcp://127.0.0.1:502
    profile: sunspec
    intervall: 2s
    retries: many
`))
	fmt.Println(err)
	// Output:
	// site.yaml:10: devices[0].intervall: unknown field (did you mean interval?)
	// site.yaml:11: devices[0].retries: want an integer, got "many"
}
