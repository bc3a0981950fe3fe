package nutd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
)

// DefaultListen is Config.Listen when empty.
const DefaultListen = "127.0.0.1:3493"

// Config is the nut: section of the site config.
type Config struct {
	// Enabled turns the endpoint on; it is off by default.
	Enabled bool `yaml:"enabled"`
	// Listen is host:port; DefaultListen if empty.
	Listen string `yaml:"listen"`
	// MaxClients bounds concurrent connections; 32 if zero.
	MaxClients int `yaml:"max_clients"`
}

// Options configures a Server; the zero value means defaults.
type Options struct {
	// MaxClients bounds concurrent connections; 32 if zero.
	MaxClients int
	// IdleTimeout closes a connection silent this long; 60s if zero
	// (upsmon polls every few seconds).
	IdleTimeout time.Duration
	// Logger; slog.Default() if nil.
	Logger *slog.Logger
}

// Version is what VER answers.
const Version = "Network UPS Tools upsd 2.8.0 compatible - Emberwatch (read-only)"

// Server is the endpoint. Update and SetFSD may be called at any time from
// any goroutine.
type Server struct {
	opts Options
	log  *slog.Logger

	mu     sync.RWMutex
	ups    map[string]*ups
	fsd    map[string]bool
	logins map[string]int
}

type ups struct {
	desc string
	vars map[string]string
}

// New returns a Server with no UPS yet.
func New(opts Options) *Server {
	if opts.MaxClients <= 0 {
		opts.MaxClients = 32
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 60 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Server{opts: opts, log: opts.Logger, ups: map[string]*ups{}, fsd: map[string]bool{}, logins: map[string]int{}}
}

// Update sets the description and variables of a UPS (a battery device or
// a shed group), replacing earlier ones. Names are NUT variable names
// (the contract's point vocabulary is built on them).
func (s *Server) Update(name, desc string, vars map[string]string) {
	cp := make(map[string]string, len(vars))
	for k, v := range vars {
		cp[k] = v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ups[name] = &ups{desc: desc, vars: cp}
}

// VarsFromReadings turns readings into NUT variables: numbers with up to
// three decimals, text as is; invalid readings are left out.
func VarsFromReadings(rs []drivers.Reading) map[string]string {
	vars := map[string]string{}
	for _, r := range rs {
		if !r.Valid() {
			continue
		}
		if r.Text != "" {
			vars[r.Point] = r.Text
			continue
		}
		v := strconv.FormatFloat(math.Round(r.Value*1000)/1000, 'f', -1, 64)
		vars[r.Point] = v
	}
	return vars
}

// SetFSD sets the names (UPS) that carry the FSD flag now; others lose it.
// Changes are logged.
func (s *Server) SetFSD(names []string) {
	next := map[string]bool{}
	for _, n := range names {
		next[n] = true
	}
	s.mu.Lock()
	prev := s.fsd
	s.fsd = next
	s.mu.Unlock()
	for n := range next {
		if !prev[n] {
			s.log.Warn("nut: FSD set", "ups", n)
		}
	}
	for n := range prev {
		if !next[n] {
			s.log.Warn("nut: FSD cleared", "ups", n)
		}
	}
}

// status returns ups.status of u with FSD in front when set; s.mu held.
func (s *Server) status(name string, u *ups) string {
	st := u.vars["ups.status"]
	if st == "" {
		st = "OL"
	}
	if s.fsd[name] && !slices.Contains(strings.Fields(st), "FSD") {
		st = "FSD " + st
	}
	return st
}

// vars returns the variables of a UPS, sorted, with ups.status resolved.
func (s *Server) vars(name string) ([][2]string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.ups[name]
	if !ok {
		return nil, false
	}
	out := make([][2]string, 0, len(u.vars)+1)
	for k, v := range u.vars {
		if k != "ups.status" {
			out = append(out, [2]string{k, v})
		}
	}
	out = append(out, [2]string{"ups.status", s.status(name, u)})
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out, true
}

// ListenAndServe listens on addr (DefaultListen if empty) and serves until
// ctx ends.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	if addr == "" {
		addr = DefaultListen
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("nut: listen %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve accepts connections on ln until ctx ends; it closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.log.Info("nut endpoint listening", "addr", ln.Addr().String())
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); wg.Wait() }()
	go func() { <-ctx.Done(); ln.Close() }()
	slots := make(chan struct{}, s.opts.MaxClients)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("nut: accept: %w", err)
		}
		select {
		case slots <- struct{}{}:
		default:
			fmt.Fprint(c, "ERR MAX-CLIENTS\n")
			c.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			s.serveConn(ctx, c)
		}()
	}
}

// session is one client's state.
type session struct {
	user, pass bool
	login      string
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	var sess session
	defer func() {
		if sess.login != "" {
			s.mu.Lock()
			s.logins[sess.login]--
			s.mu.Unlock()
		}
	}()
	r := bufio.NewReaderSize(c, 512)
	w := bufio.NewWriter(c)
	for {
		_ = c.SetReadDeadline(time.Now().Add(s.opts.IdleTimeout))
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if len(line) > 510 {
			fmt.Fprint(w, "ERR INVALID-ARGUMENT\n")
			w.Flush()
			return
		}
		args, err := split(strings.TrimRight(line, "\r\n"))
		if err != nil {
			fmt.Fprint(w, "ERR INVALID-ARGUMENT\n")
		} else if quit := s.answer(w, &sess, args); quit {
			w.Flush()
			return
		}
		if err := w.Flush(); err != nil {
			return
		}
	}
}

// answer writes the reply to one command; it reports whether to close.
func (s *Server) answer(w *bufio.Writer, sess *session, args []string) bool {
	if len(args) == 0 {
		fmt.Fprint(w, "ERR UNKNOWN-COMMAND\n")
		return false
	}
	cmd := strings.ToUpper(args[0])
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch cmd {
	case "VER":
		fmt.Fprintf(w, "%s\n", Version)
	case "NETVER", "PROTVER":
		fmt.Fprint(w, "1.3\n")
	case "HELP":
		fmt.Fprint(w, "Commands: HELP VER GET LIST SET INSTCMD LOGIN LOGOUT USERNAME PASSWORD STARTTLS\n")
	case "USERNAME":
		if len(args) != 2 {
			fmt.Fprint(w, "ERR INVALID-ARGUMENT\n")
		} else if sess.user {
			fmt.Fprint(w, "ERR ALREADY-SET-USERNAME\n")
		} else {
			sess.user = true
			fmt.Fprint(w, "OK\n")
		}
	case "PASSWORD":
		if len(args) != 2 {
			fmt.Fprint(w, "ERR INVALID-ARGUMENT\n")
		} else if sess.pass {
			fmt.Fprint(w, "ERR ALREADY-SET-PASSWORD\n")
		} else {
			sess.pass = true
			fmt.Fprint(w, "OK\n")
		}
	case "LOGIN":
		name := arg(1)
		s.mu.Lock()
		_, ok := s.ups[name]
		switch {
		case len(args) != 2:
			fmt.Fprint(w, "ERR INVALID-ARGUMENT\n")
		case !ok:
			fmt.Fprint(w, "ERR UNKNOWN-UPS\n")
		case sess.login != "":
			fmt.Fprint(w, "ERR ALREADY-LOGGED-IN\n")
		default:
			sess.login = name
			s.logins[name]++
			fmt.Fprint(w, "OK\n")
		}
		s.mu.Unlock()
	case "LOGOUT":
		fmt.Fprint(w, "OK Goodbye\n")
		return true
	case "STARTTLS":
		fmt.Fprint(w, "ERR FEATURE-NOT-CONFIGURED\n")
	case "PRIMARY", "MASTER", "SET", "INSTCMD", "FSD":
		fmt.Fprint(w, "ERR ACCESS-DENIED\n")
	case "LIST":
		s.list(w, args[1:])
	case "GET":
		s.get(w, args[1:])
	default:
		fmt.Fprint(w, "ERR UNKNOWN-COMMAND\n")
	}
	return false
}

func (s *Server) list(w *bufio.Writer, args []string) {
	if len(args) == 0 {
		fmt.Fprint(w, "ERR INVALID-ARGUMENT\n")
		return
	}
	what := strings.ToUpper(args[0])
	if what == "UPS" {
		if len(args) != 1 {
			fmt.Fprint(w, "ERR INVALID-ARGUMENT\n")
			return
		}
		s.mu.RLock()
		names := make([]string, 0, len(s.ups))
		for n := range s.ups {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprint(w, "BEGIN LIST UPS\n")
		for _, n := range names {
			fmt.Fprintf(w, "UPS %s %s\n", n, quote(s.ups[n].desc))
		}
		fmt.Fprint(w, "END LIST UPS\n")
		s.mu.RUnlock()
		return
	}
	switch what {
	case "VAR", "CMD", "RW", "CLIENT":
		if len(args) != 2 {
			fmt.Fprint(w, "ERR INVALID-ARGUMENT\n")
			return
		}
	case "ENUM", "RANGE":
		if len(args) != 3 {
			fmt.Fprint(w, "ERR INVALID-ARGUMENT\n")
			return
		}
	default:
		fmt.Fprint(w, "ERR INVALID-ARGUMENT\n")
		return
	}
	name := args[1]
	vars, ok := s.vars(name)
	if !ok {
		fmt.Fprint(w, "ERR UNKNOWN-UPS\n")
		return
	}
	head := strings.Join(append([]string{what}, args[1:]...), " ")
	if what == "ENUM" || what == "RANGE" {
		fmt.Fprint(w, "ERR INVALID-ARGUMENT\n") // no writable variables
		return
	}
	fmt.Fprintf(w, "BEGIN LIST %s\n", head)
	if what == "VAR" {
		for _, kv := range vars {
			fmt.Fprintf(w, "VAR %s %s %s\n", name, kv[0], quote(kv[1]))
		}
	}
	fmt.Fprintf(w, "END LIST %s\n", head)
}

func (s *Server) get(w *bufio.Writer, args []string) {
	if len(args) < 2 {
		fmt.Fprint(w, "ERR INVALID-ARGUMENT\n")
		return
	}
	what, name := strings.ToUpper(args[0]), args[1]
	vars, ok := s.vars(name)
	if !ok {
		fmt.Fprint(w, "ERR UNKNOWN-UPS\n")
		return
	}
	lookup := func(v string) (string, bool) {
		for _, kv := range vars {
			if kv[0] == v {
				return kv[1], true
			}
		}
		return "", false
	}
	switch {
	case what == "VAR" && len(args) == 3:
		v, ok := lookup(args[2])
		if !ok {
			fmt.Fprint(w, "ERR VAR-NOT-SUPPORTED\n")
			return
		}
		fmt.Fprintf(w, "VAR %s %s %s\n", name, args[2], quote(v))
	case what == "TYPE" && len(args) == 3:
		v, ok := lookup(args[2])
		if !ok {
			fmt.Fprint(w, "ERR VAR-NOT-SUPPORTED\n")
			return
		}
		typ := "STRING:" + strconv.Itoa(len(v))
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			typ = "NUMBER"
		}
		fmt.Fprintf(w, "TYPE %s %s %s\n", name, args[2], typ)
	case what == "DESC" && len(args) == 3:
		fmt.Fprintf(w, "DESC %s %s %s\n", name, args[2], quote("Description unavailable"))
	case what == "UPSDESC" && len(args) == 2:
		s.mu.RLock()
		d := s.ups[name].desc
		s.mu.RUnlock()
		fmt.Fprintf(w, "UPSDESC %s %s\n", name, quote(d))
	case what == "NUMLOGINS" && len(args) == 2:
		s.mu.RLock()
		n := s.logins[name]
		s.mu.RUnlock()
		fmt.Fprintf(w, "NUMLOGINS %s %d\n", name, n)
	case what == "CMDDESC" && len(args) == 3:
		fmt.Fprint(w, "ERR CMD-NOT-SUPPORTED\n")
	default:
		fmt.Fprint(w, "ERR INVALID-ARGUMENT\n")
	}
}

// quote writes s in double quotes with " and \ escaped, as upsd does.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// split tokenises a command line: words separated by spaces, "quoted
// strings" with backslash escapes.
func split(line string) ([]string, error) {
	var args []string
	var cur strings.Builder
	in, have, esc := false, false, false
	for _, r := range line {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\':
			esc, have = true, true
		case r == '"':
			in, have = !in, true
		case (r == ' ' || r == '\t') && !in:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if in || esc {
		return nil, errors.New("unterminated quote")
	}
	if have {
		args = append(args, cur.String())
	}
	return args, nil
}
