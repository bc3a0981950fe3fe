package host

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultShutdown returns the shutdown command used when none is
// configured: systemctl poweroff.
func DefaultShutdown() []string { return []string{"systemctl", "poweroff"} }

// Config is the listener's configuration file (YAML). Unknown keys are
// errors.
type Config struct {
	// Broker is the MQTT broker URL (tcp://host:1883).
	Broker string `yaml:"broker"`
	// Username and Password authenticate to the broker.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// ClientID is the MQTT client id; default emberwatch-host-<site>-<host>.
	ClientID string `yaml:"client_id"`
	// Site, Group and Host name the listener: it subscribes to the shed
	// topic of Group and acknowledges as Host.
	Site  string `yaml:"site"`
	Group string `yaml:"group"`
	Host  string `yaml:"host"`
	// PublicKeys are files of trusted public keys (emberwatch keygen's
	// PREFIX.pub).
	PublicKeys []string `yaml:"public_keys"`
	// MaxAge is how old a command may be; command.DefaultMaxAge if zero.
	MaxAge time.Duration `yaml:"max_age"`
	// MaxSkew is how far in the future a command's issue time may be;
	// command.DefaultMaxSkew if zero.
	MaxSkew time.Duration `yaml:"max_skew"`
	// StateFile keeps the last accepted sequence per gateway; in memory
	// only if empty (a restart then relies on MaxAge against replays).
	StateFile string `yaml:"state_file"`
	// Shutdown is the command run to shut the host down, as a list of
	// arguments; DefaultShutdown if empty.
	Shutdown []string `yaml:"shutdown"`
	// Delay is how long to wait after a shutdown command before running
	// it; a cancel within it stops the shutdown. Zero runs it at once.
	Delay time.Duration `yaml:"delay"`
	// DryRun only logs and acknowledges; nothing is run.
	DryRun bool `yaml:"dry_run"`
	// DryRunOfflineAfter, in dry-run mode, makes the listener go offline
	// (publish offline and exit) this long after acknowledging
	// shutting-down, as a simulated host that takes that long to stop.
	// Zero stays online.
	DryRunOfflineAfter time.Duration `yaml:"dry_run_offline_after"`
}

// LoadConfig reads and validates a listener config. Errors name the file
// and line.
func LoadConfig(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("host config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Validate reports missing required fields and impossible values.
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct{ name, v string }{{"broker", c.Broker}, {"site", c.Site}, {"group", c.Group}, {"host", c.Host}} {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("%s: required", f.name))
		} else if strings.ContainsAny(f.v, "/+#") && f.name != "broker" {
			errs = append(errs, fmt.Errorf("%s: %q may not contain / + or #", f.name, f.v))
		}
	}
	if len(c.PublicKeys) == 0 {
		errs = append(errs, errors.New("public_keys: at least one public key file is required"))
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"max_age", c.MaxAge}, {"max_skew", c.MaxSkew}, {"delay", c.Delay}, {"dry_run_offline_after", c.DryRunOfflineAfter}} {
		if f.d < 0 {
			errs = append(errs, fmt.Errorf("%s: %v is negative", f.name, f.d))
		}
	}
	return errors.Join(errs...)
}
