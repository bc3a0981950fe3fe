package profileyaml

import (
	"bytes"
	"fmt"
	"testing"

	"gopkg.in/yaml.v3"
)

// plain is the document the tests decode.
type plain struct {
	Name  string `yaml:"name"`
	Count int    `yaml:"count"`
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"unknown key", "name: a\nbogus: 1\n", []string{"p.yaml:2: bogus: unknown field"}},
		{"wrong type", "name: a\ncount: many\n", []string{"p.yaml:2: yaml: cannot unmarshal !!str `many` into int"}},
		{"syntax", "name: [a\n", []string{"p.yaml:1: yaml: did not find expected ',' or ']'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec := yaml.NewDecoder(bytes.NewReader([]byte(tt.doc)))
			dec.KnownFields(true)
			var p plain
			err := dec.Decode(&p)
			if err == nil {
				t.Fatal("no error")
			}
			var got []string
			DecodeErrors(err, func(line int, field, format string, a ...any) {
				got = append(got, (&Error{File: "p.yaml", Line: line, Field: field, Msg: fmt.Sprintf(format, a...)}).Error())
			})
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorWithoutFile(t *testing.T) {
	if got := (&Error{Field: "addr", Msg: "bad"}).Error(); got != "addr: bad" {
		t.Errorf("got %q", got)
	}
}

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		name, doc string
		ok        bool
		wantName  string
		want      []string
	}{
		{"valid", "name: a\ncount: 2\n", true, "a", nil},
		{"empty", "", false, "", []string{"p.yaml:1: profile: empty profile"}},
		{"syntax error: nothing trusted", "name: [a\n", false, "", []string{"p.yaml:1: yaml: did not find expected ',' or ']'"}},
		{"type error: the rest decoded", "name: a\ncount: many\n", true, "a", []string{"p.yaml:2: yaml: cannot unmarshal !!str `many` into int"}},
		{"unknown key: the rest decoded", "bogus: 1\nname: b\n", true, "b", []string{"p.yaml:1: bogus: unknown field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p plain
			var got []string
			ok := DecodeStrict([]byte(tt.doc), &p, func(line int, field, format string, a ...any) {
				got = append(got, (&Error{File: "p.yaml", Line: line, Field: field, Msg: fmt.Sprintf(format, a...)}).Error())
			})
			if ok != tt.ok || fmt.Sprint(got) != fmt.Sprint(tt.want) || (ok && p.Name != tt.wantName) {
				t.Errorf("got ok=%v name=%q problems %q, want ok=%v name=%q problems %q", ok, p.Name, got, tt.ok, tt.wantName, tt.want)
			}
		})
	}
}
