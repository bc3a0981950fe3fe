package config

import (
	"fmt"
	"sort"
	"strings"
)

// FieldError is one problem in a file, located by line and field path.
type FieldError struct {
	// File is the path of the file as it was given to Load.
	File string
	// Line is the 1-based line of the offending key or value; 0 when the
	// problem has no line (a missing file).
	Line int
	// Field is the dotted path of the field, e.g. devices[1].interval;
	// empty for problems of the file as a whole.
	Field string
	// Msg says what is wrong.
	Msg string
}

// Error formats the problem as file:line: field: message.
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is a list of problems found in one load, in file and line order.
type Errors []*FieldError

// Error joins the problems, one a line.
func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Sort orders the problems by file, then line, then field.
func (es Errors) Sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Field < b.Field
	})
}

// err returns es as an error, or nil when it is empty.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	es.Sort()
	return es
}
