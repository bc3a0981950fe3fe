package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"unicode/utf8"
)

// maxSafeInt is 2^53-1, the largest integer every JSON reader keeps exactly.
const maxSafeInt = 1<<53 - 1

// ErrMalformed is wrapped by every error about a command that is not
// well-formed JSON of the command schema or has no canonical form.
var ErrMalformed = errors.New("malformed command")

// Canonical returns the canonical form (see the package documentation) of
// the JSON text data, leaving out the top-level member named omit when omit
// is not empty. It fails, wrapping ErrMalformed, on anything without a
// canonical form: non-integer numbers, duplicate names, invalid UTF-8,
// trailing data.
func Canonical(data []byte, omit string) ([]byte, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: invalid UTF-8", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the object", ErrMalformed)
	}
	if omit != "" {
		obj, ok := v.(object)
		if !ok {
			return nil, fmt.Errorf("%w: not an object", ErrMalformed)
		}
		delete(obj, omit)
	}
	var b bytes.Buffer
	if err := writeValue(&b, v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return b.Bytes(), nil
}

// object is a parsed JSON object.
type object map[string]any

// maxDepth bounds nesting, so hostile input cannot exhaust the stack.
const maxDepth = 16

func parseValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object name %v is not a string", kt)
				}
				if _, dup := obj[k]; dup {
					return nil, fmt.Errorf("duplicate name %q", k)
				}
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				obj[k] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return obj, nil
		case '[':
			var arr []any
			for dec.More() {
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			if arr == nil {
				arr = []any{}
			}
			return arr, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		n, err := strconv.ParseInt(string(t), 10, 64)
		if err != nil || n > maxSafeInt || n < -maxSafeInt {
			return nil, fmt.Errorf("number %s is not an integer within ±(2^53-1)", t)
		}
		return n, nil
	default:
		return t, nil // string, bool, nil
	}
}

func writeValue(b *bytes.Buffer, v any) error {
	switch t := v.(type) {
	case object:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys) // byte order: names are valid UTF-8, so this is code point order
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			if err := writeValue(b, t[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeValue(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case int64:
		b.WriteString(strconv.FormatInt(t, 10))
	case string:
		writeString(b, t)
	case bool:
		b.WriteString(strconv.FormatBool(t))
	case nil:
		b.WriteString("null")
	default:
		return fmt.Errorf("no canonical form for %T", v)
	}
	return nil
}

func writeString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
