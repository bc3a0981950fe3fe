package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder walks a YAML node tree into a Go value strictly: unknown keys,
// duplicate keys and values of the wrong kind are recorded as errors with
// the line and the field path, and decoding goes on with the next field so
// that every problem is reported at once.
type decoder struct {
	file  string
	errs  Errors
	lines map[string]int
}

func (d *decoder) errorf(line int, field, format string, a ...any) {
	d.errs = append(d.errs, &FieldError{File: d.file, Line: line, Field: field, Msg: fmt.Sprintf(format, a...)})
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	nodeType        = reflect.TypeFor[yaml.Node]()
	durationType    = reflect.TypeFor[time.Duration]()
)

// decode stores n into v (addressable), recording the line of path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if path != "" {
		d.lines[path] = n.Line
	}
	if v.Type() == nodeType {
		v.Set(reflect.ValueOf(*n))
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // an empty value keeps the default
	}
	if reflect.PointerTo(v.Type()).Implements(unmarshalerType) {
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.errorf(n.Line, path, "%s", cleanYAMLError(err))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem(), path)
		v.Set(p)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n.Line, path, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errorf(n.Line, path, "want a mapping, got %s", describe(n))
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.errorf(n.Line, path, "%s", cleanYAMLError(err))
		}
	default:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n.Line, path, "want %s, got %s", kindName(v.Kind()), describe(n))
			return
		}
		if v.Kind() == reflect.String && n.ShortTag() == "!!bool" {
			// yes/no/on/off are strings in YAML 1.2 as yaml.v3 reads it;
			// true/false where a word is expected is most likely a slip.
			d.errorf(n.Line, path, "want a string, got %s", describe(n))
			return
		}
		if v.Type() == durationType {
			var dd Duration
			if err := dd.UnmarshalYAML(n); err != nil {
				d.errorf(n.Line, path, "%v", err)
				return
			}
			v.SetInt(int64(dd))
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.errorf(n.Line, path, "want %s, got %s", kindName(v.Kind()), describe(n))
		}
	}
}

// decodeStruct decodes a mapping into the struct's yaml-tagged fields.
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "want a mapping, got %s", describe(n))
		return
	}
	fields := map[string]int{}
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !t.Field(i).IsExported() {
			continue
		}
		fields[name] = i
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		field := join(path, k.Value)
		if prev, dup := seen[k.Value]; dup {
			d.errorf(k.Line, field, "defined twice (first at line %d)", prev)
			continue
		}
		seen[k.Value] = k.Line
		idx, ok := fields[k.Value]
		if !ok {
			d.errorf(k.Line, field, "unknown field%s", suggest(k.Value, fields))
			continue
		}
		d.lines[field] = k.Line
		d.decode(val, v.Field(idx), field)
		d.lines[field] = k.Line
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// suggest names the known field closest to an unknown one, if any is close.
func suggest(key string, fields map[string]int) string {
	best, bestD := "", 3
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		if dd := distance(key, f); dd < bestD {
			best, bestD = f, dd
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return fmt.Sprintf(" (known: %s)", strings.Join(names, ", "))
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return k.String()
}

// describe names what a node holds, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

// cleanYAMLError strips yaml.v3's "yaml: unmarshal errors:\n  line N:"
// framing, since our errors carry the line already.
func cleanYAMLError(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "yaml: unmarshal errors:\n")
	s = strings.TrimSpace(strings.TrimPrefix(s, "yaml: "))
	if strings.HasPrefix(s, "line ") {
		if _, rest, ok := strings.Cut(s, ": "); ok {
			s = rest
		}
	}
	return s
}
