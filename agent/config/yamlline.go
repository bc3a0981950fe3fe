package config

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// yamlErrorLine locates a yaml.v3 syntax error in data. yaml.v3 names the
// line in most errors ("yaml: line 3: ..."), but not a problem on the
// first line (its marks count from 0 and line 0 is left out), nor a byte
// the reader refuses (invalid UTF-8, a control character), nor an alias of
// an unknown anchor; those are found here, so that every syntax error has
// a line.
func yamlErrorLine(err error, data []byte) int {
	if l := syntaxLine(err); l > 0 {
		return l
	}
	lineAt := func(off int) int { return yamlLines(data[:off]) }
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, "unknown anchor '"); ok {
		if name, _, ok := strings.Cut(rest, "' referenced"); ok {
			if i := bytes.Index(data, []byte("*"+name)); i >= 0 {
				return lineAt(i)
			}
		}
	}
	for off := 0; off < len(data); {
		r, n := utf8.DecodeRune(data[off:])
		if (r == utf8.RuneError && n <= 1) || !yamlPrintable(r) {
			return lineAt(off)
		}
		off += n
	}
	return 1
}

// yamlPrintable reports whether YAML allows r in a stream (YAML 1.2
// c-printable, as yaml.v3's reader checks it).
func yamlPrintable(r rune) bool {
	switch {
	case r == '\t', r == '\n', r == '\r', r >= 0x20 && r <= 0x7E, r == 0x85:
		return true
	case r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD && r != 0xFEFF, r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return r == 0xFEFF // a byte order mark
}

// yamlLines counts the lines of b as YAML does: CR LF, CR, LF, NEL, LS
// and PS each end one.
func yamlLines(b []byte) int {
	n := 1
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch r {
		case '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				size++
			}
			n++
		case '\n', 0x85, 0x2028, 0x2029:
			n++
		}
		i += size
	}
	return n
}
