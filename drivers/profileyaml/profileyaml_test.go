package profileyaml

import (
	"bytes"
	"fmt"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestDecodeErrors(t *testing.T) {
	type plain struct {
		Name  string `yaml:"name"`
		Count int    `yaml:"count"`
	}
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
