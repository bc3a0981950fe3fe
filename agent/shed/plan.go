package shed

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/emberwatch/emberwatch/agent/detect"
)

// Plan is the shed plan: the shed: section of the site config.
type Plan struct {
	// Groups are the groups of hosts and outlets.
	Groups []Group `yaml:"groups"`
	// Tiers are shed in this order.
	Tiers []Tier `yaml:"tiers"`
	// Rules say which alerts shed which tiers.
	Rules []Rule `yaml:"rules"`
}

// Group is a set of hosts and PDU outlets shed together; hosts of a group
// listen on its shed topic.
type Group struct {
	Name string `yaml:"name"`
	// Hosts are the host names their listeners acknowledge as.
	Hosts []string `yaml:"hosts"`
	// Outlets are switched off after the hosts are down.
	Outlets []OutletSet `yaml:"outlets"`
	// FedBy are the battery devices (UPS, battery strings) that feed the
	// group; the NUT endpoint raises FSD on them when the group is shed.
	FedBy []string `yaml:"fed_by"`
	// Include names other groups that are part of this one.
	Include []string `yaml:"include"`
	// Line is the line of the group in its file.
	Line int `yaml:"-"`
}

// OutletSet is some outlets of one PDU.
type OutletSet struct {
	// PDU is the device name of the PDU in the site config.
	PDU string `yaml:"pdu"`
	// Outlets are 1-based outlet numbers.
	Outlets []int `yaml:"outlets"`
	// Line is the line of the set in its file.
	Line int `yaml:"-"`
}

// Tier is a step of shedding.
type Tier struct {
	Name string `yaml:"name"`
	// Groups are shed in this tier.
	Groups []string `yaml:"groups"`
	// Deadline is how long after the commands the outlets go off even if
	// hosts have not acknowledged.
	Deadline time.Duration `yaml:"deadline"`
	// Overlap lets the next tier begin as soon as every host of this one
	// has acknowledged shutting-down (or at this tier's deadline), instead
	// of after this tier's outlets are off; outlets still go off in tier
	// order. It shortens a room's shed to about one host shutdown time.
	Overlap bool `yaml:"overlap"`
	// Line is the line of the tier in its file.
	Line int `yaml:"-"`
}

// Rule maps alerts to tiers.
type Rule struct {
	// Kind is the alert kind (CONTRACTS section 4).
	Kind string `yaml:"kind"`
	// Level is the lowest level that matches.
	Level string `yaml:"level"`
	// Devices limit the rule to alerts on these devices; any if empty.
	Devices []string `yaml:"devices"`
	// Device is a single device, for short rules.
	Device string `yaml:"device"`
	// Subject limits the rule to this subject and its parts; any if empty.
	Subject string `yaml:"subject"`
	// Tiers are the tiers to shed, by name.
	Tiers []string `yaml:"tiers"`
	// Line is the line of the rule in its file.
	Line int `yaml:"-"`
}

// Outlet is one PDU outlet.
type Outlet struct {
	PDU    string `json:"pdu"`
	Outlet int    `json:"outlet"`
}

// strict decodes n into v (a pointer to a plain struct type), rejecting
// keys that are not in the struct's yaml tags.
func strict(n *yaml.Node, v any, keys ...string) error {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if !slices.Contains(keys, k.Value) {
				return fmt.Errorf("line %d: unknown key %q (want one of %s)", k.Line, k.Value, strings.Join(keys, ", "))
			}
		}
	}
	return n.Decode(v)
}

// UnmarshalYAML decodes a group strictly and records its line.
func (g *Group) UnmarshalYAML(n *yaml.Node) error {
	type plain Group
	g.Line = n.Line
	return strict(n, (*plain)(g), "name", "hosts", "outlets", "fed_by", "include")
}

// UnmarshalYAML decodes an outlet set strictly and records its line.
func (o *OutletSet) UnmarshalYAML(n *yaml.Node) error {
	type plain OutletSet
	o.Line = n.Line
	return strict(n, (*plain)(o), "pdu", "outlets")
}

// UnmarshalYAML decodes a tier strictly and records its line.
func (t *Tier) UnmarshalYAML(n *yaml.Node) error {
	type plain Tier
	t.Line = n.Line
	return strict(n, (*plain)(t), "name", "groups", "deadline", "overlap")
}

// UnmarshalYAML decodes a rule strictly and records its line.
func (r *Rule) UnmarshalYAML(n *yaml.Node) error {
	type plain Rule
	r.Line = n.Line
	return strict(n, (*plain)(r), "kind", "level", "devices", "device", "subject", "tiers")
}

// UnmarshalYAML decodes a plan strictly.
func (p *Plan) UnmarshalYAML(n *yaml.Node) error {
	type plain Plan
	return strict(n, (*plain)(p), "groups", "tiers", "rules")
}

// LoadPlan reads a file holding a plan, either at its top level or under
// a shed: key (a site file), and validates it.
func LoadPlan(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("shed plan: %w", err)
	}
	return ParsePlan(path, b)
}

// ParsePlan is LoadPlan on data read from file.
func ParsePlan(file string, data []byte) (*Plan, error) {
	var root yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&root); err != nil {
		return nil, fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	n := &root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "shed" {
				n = n.Content[i+1]
				break
			}
		}
	}
	return DecodePlan(file, n)
}

// DecodePlan decodes and validates a plan from its YAML node (the value
// of the shed: key of a site file), naming file in errors.
func DecodePlan(file string, n *yaml.Node) (*Plan, error) {
	var p Plan
	if err := n.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if errs := p.Validate(file); len(errs) > 0 {
		return nil, errs
	}
	return &p, nil
}

// PlanError is one problem of a plan, at a line of its file.
type PlanError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

// Error formats the problem as file:line: field: message.
func (e *PlanError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
}

// PlanErrors are the problems of a plan, in line order.
type PlanErrors []*PlanError

// Error joins the problems, one a line.
func (es PlanErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// ErrPlan is matched by errors.Is for any PlanErrors.
var ErrPlan = errors.New("invalid shed plan")

// Is makes errors.Is(err, ErrPlan) true.
func (es PlanErrors) Is(target error) bool { return target == ErrPlan }

var (
	kinds = []string{detect.KindThermalRunaway, detect.KindOffgas, detect.KindOverTemperature, detect.KindEnvironment,
		detect.KindCellImbalance, detect.KindSensorFault, detect.KindCommsLost, "power"}
	levels = []string{detect.LevelAdvisory, detect.LevelWarning, detect.LevelCritical}
)

// Validate returns the plan's problems; file names the file in them.
func (p *Plan) Validate(file string) PlanErrors {
	var errs PlanErrors
	add := func(line int, field, format string, a ...any) {
		errs = append(errs, &PlanError{File: file, Line: line, Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	groups := map[string]*Group{}
	for i := range p.Groups {
		g := &p.Groups[i]
		f := fmt.Sprintf("shed.groups[%d]", i)
		switch {
		case g.Name == "":
			add(g.Line, f+".name", "required")
		case strings.ContainsAny(g.Name, "/+# "):
			add(g.Line, f+".name", "%q may not contain / + # or spaces (it is an MQTT topic level)", g.Name)
		case groups[g.Name] != nil:
			add(g.Line, f+".name", "group %q defined twice (first on line %d)", g.Name, groups[g.Name].Line)
		default:
			groups[g.Name] = g
		}
		if len(g.Hosts) == 0 && len(g.Outlets) == 0 && len(g.Include) == 0 {
			add(g.Line, f, "group %q is empty: no hosts, outlets or include", g.Name)
		}
		for j, o := range g.Outlets {
			of := fmt.Sprintf("%s.outlets[%d]", f, j)
			if o.PDU == "" {
				add(o.Line, of+".pdu", "required")
			}
			if len(o.Outlets) == 0 {
				add(o.Line, of+".outlets", "no outlets")
			}
			for _, n := range o.Outlets {
				if n < 1 {
					add(o.Line, of+".outlets", "outlet %d: outlets are numbered from 1", n)
				}
			}
		}
	}
	for i := range p.Groups {
		g := &p.Groups[i]
		for _, inc := range g.Include {
			if groups[inc] == nil {
				add(g.Line, fmt.Sprintf("shed.groups[%d].include", i), "unknown group %q", inc)
			}
		}
	}
	// Include cycles, each reported once, at the first group of the cycle.
	reported := map[string]bool{}
	for i := range p.Groups {
		g := &p.Groups[i]
		if cyc := findCycle(groups, g.Name); cyc != nil && !reported[cyc[0]] {
			for _, n := range cyc {
				reported[n] = true
			}
			add(g.Line, fmt.Sprintf("shed.groups[%d].include", i), "include cycle: %s", strings.Join(append(cyc, cyc[0]), " -> "))
		}
	}
	tiers := map[string]*Tier{}
	inTier := map[string]string{}
	for i := range p.Tiers {
		t := &p.Tiers[i]
		f := fmt.Sprintf("shed.tiers[%d]", i)
		switch {
		case t.Name == "":
			add(t.Line, f+".name", "required")
		case tiers[t.Name] != nil:
			add(t.Line, f+".name", "tier %q defined twice (first on line %d)", t.Name, tiers[t.Name].Line)
		default:
			tiers[t.Name] = t
		}
		if len(t.Groups) == 0 {
			add(t.Line, f+".groups", "tier %q is empty", t.Name)
		}
		for _, gn := range t.Groups {
			if groups[gn] == nil {
				add(t.Line, f+".groups", "unknown group %q", gn)
				continue
			}
			for _, member := range closure(groups, gn) {
				if other, ok := inTier[member]; ok && other != t.Name {
					add(t.Line, f+".groups", "group %q is already shed in tier %q", member, other)
				}
				inTier[member] = t.Name
			}
		}
		if t.Deadline <= 0 {
			add(t.Line, f+".deadline", "required and positive (e.g. 120s): outlets go off at the deadline even without acknowledgements")
		}
	}
	for i := range p.Rules {
		r := &p.Rules[i]
		f := fmt.Sprintf("shed.rules[%d]", i)
		if !slices.Contains(kinds, r.Kind) {
			add(r.Line, f+".kind", "unknown kind %q (want one of %s)", r.Kind, strings.Join(kinds, ", "))
		}
		if !slices.Contains(levels, r.Level) {
			add(r.Line, f+".level", "unknown level %q (want advisory, warning or critical)", r.Level)
		}
		if len(r.Tiers) == 0 {
			add(r.Line, f+".tiers", "no tiers to shed")
		}
		for _, tn := range r.Tiers {
			if tiers[tn] == nil {
				add(r.Line, f+".tiers", "unknown tier %q", tn)
			}
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	return errs
}

// findCycle returns the groups of an include cycle through start, or nil.
func findCycle(groups map[string]*Group, start string) []string {
	var path []string
	onPath := map[string]bool{}
	var walk func(string) []string
	walk = func(n string) []string {
		if onPath[n] {
			if n == start {
				return slices.Clone(path)
			}
			return nil // a cycle that does not pass through start
		}
		g := groups[n]
		if g == nil {
			return nil
		}
		onPath[n] = true
		path = append(path, n)
		for _, inc := range g.Include {
			if c := walk(inc); c != nil {
				return c
			}
		}
		path = path[:len(path)-1]
		onPath[n] = false
		return nil
	}
	return walk(start)
}

// closure returns name and every group it includes, directly or not,
// each once, in first-seen order. It stops at cycles.
func closure(groups map[string]*Group, name string) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		if seen[n] || groups[n] == nil {
			return
		}
		seen[n] = true
		out = append(out, n)
		for _, inc := range groups[n].Include {
			walk(inc)
		}
	}
	walk(name)
	return out
}
