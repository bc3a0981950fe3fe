// Package profileyaml holds what every driver's profile loader shares: the
// located error ("file:line: field: message") and the translation of
// gopkg.in/yaml.v3 decoding errors into such errors.
package profileyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem in a profile file, located by file, line and
// field. It prints as "file:line: field: message", or "field: message"
// when there is no file (a probe URL).
type Error struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *Error) Error() string {
	if e.File == "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
}

var (
	lineRe = regexp.MustCompile(`line (\d+): (.*)`)
	// Go type names yaml.v3 puts in its messages mean nothing to the
	// engineer editing the file.
	goTypeRe = regexp.MustCompile(` (?:into|in type) [A-Za-z0-9_]+\.[A-Za-z0-9_]+`)
)

// Add reports one located problem.
type Add func(line int, field, format string, a ...any)

// DecodeStrict decodes the YAML document data into v, an unknown key
// being an error, and reports every problem through add. It returns false
// when nothing decoded can be trusted: an empty document or a syntax
// error. After type errors the rest of v is decoded and it returns true.
func DecodeStrict(data []byte, v any, add Add) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(v)
	switch {
	case err == nil:
		return true
	case errors.Is(err, io.EOF):
		add(1, "profile", "empty profile")
		return false
	}
	DecodeErrors(err, add)
	var te *yaml.TypeError
	return errors.As(err, &te)
}

// DecodeErrors turns an error of yaml.v3's Decode into located problems:
// one per message of a *yaml.TypeError, else one for the syntax error.
// "field X not found" (strict decoding) becomes field X, "unknown field".
func DecodeErrors(err error, add Add) {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	for _, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		line := 1
		if sm := lineRe.FindStringSubmatch(m); sm != nil {
			line, _ = strconv.Atoi(sm[1])
			m = sm[2]
		}
		field := "yaml"
		if f, ok := strings.CutPrefix(m, "field "); ok {
			name, _, _ := strings.Cut(f, " ")
			field = name
			m = "unknown field"
		}
		add(line, field, "%s", goTypeRe.ReplaceAllString(m, ""))
	}
}

// StripLine removes yaml.v3's "line N: " from a message.
func StripLine(msg string) string { return lineRe.ReplaceAllString(msg, "$2") }
