package nutd

import (
	"bufio"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// FuzzAnswer feeds arbitrary command lines to the protocol: no panic, and
// every reply ends in a newline.
func FuzzAnswer(f *testing.F) {
	for _, s := range []string{"LIST UPS", "LIST VAR bms-1", `GET VAR "bms-1" ups.status`, "LOGIN bms-1", "LIST ENUM bms-1 x", `X "a\"`, "GET"} {
		f.Add(s)
	}
	s := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.Update("bms-1", "d", map[string]string{"ups.status": "OL"})
	f.Fuzz(func(t *testing.T, line string) {
		var b strings.Builder
		w := bufio.NewWriter(&b)
		var sess session
		if args, err := split(line); err == nil {
			s.answer(w, &sess, args)
		}
		w.Flush()
		if out := b.String(); out != "" && !strings.HasSuffix(out, "\n") {
			t.Fatalf("%q -> %q", line, out)
		}
		if sess.login != "" {
			s.mu.Lock()
			s.logins[sess.login]--
			s.mu.Unlock()
		}
	})
}
