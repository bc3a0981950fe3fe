// Package peers finds and starts the real protocol peers that interop tests
// run against (mosquitto, snmpd, snmpsim, qemu-user, NUT clients) and the
// shared device recordings in ../shared/data.
//
// When the environment variable CI is "true" a missing peer or recording
// fails the test; elsewhere the test is skipped with a message naming what
// is missing and how to install it.
package peers

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// missing fails under CI and skips elsewhere.
func missing(t testing.TB, format string, a ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, a...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("interop peer missing under CI: %s", msg)
	}
	t.Skipf("skipping: %s", msg)
}

// Require returns the path of the named program, or fails (CI) / skips.
// pkg is the Debian package that provides it, named in the message.
func Require(t testing.TB, program, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
			if _, serr := os.Stat(filepath.Join(dir, program)); serr == nil {
				return filepath.Join(dir, program)
			}
		}
		missing(t, "%s not found (apt-get install %s, or run make check)", program, pkg)
	}
	return p
}

// SharedData returns the path of a file or folder under ../shared/data,
// found by walking up from the working directory, or fails (CI) / skips.
func SharedData(t testing.TB, rel string) string {
	t.Helper()
	if p, ok := FindSharedData(rel); ok {
		return p
	}
	missing(t, "shared data %s not found (expected ../shared/data beside the checkout)", rel)
	return ""
}

// FindSharedData looks for ../shared/data/rel above the working directory
// and above this source file.
func FindSharedData(rel string) (string, bool) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	if d := os.Getenv("EMBERWATCH_SHARED"); d != "" {
		p := filepath.Join(d, "data", rel)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	for _, dir := range starts {
		for {
			p := filepath.Join(dir, "shared", "data", rel)
			if _, err := os.Stat(p); err == nil {
				return p, true
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", false
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// peers that cannot be told to listen on port 0.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// FreeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free udp port: %v", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// WaitTCP waits until addr accepts connections or the timeout passes.
func WaitTCP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not accepting connections after %v: %w", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Mosquitto is a mosquitto broker started for one test.
type Mosquitto struct {
	// Addr is host:port of the plain listener on 127.0.0.1.
	Addr string
	// URL is tcp://Addr.
	URL  string
	cmd  *exec.Cmd
	conf string
	log  *strings.Builder
}

// StartMosquitto starts mosquitto on a free 127.0.0.1 port with anonymous
// access and extra config lines appended; it is stopped when the test ends.
func StartMosquitto(t testing.TB, extra ...string) *Mosquitto {
	t.Helper()
	bin := Require(t, "mosquitto", "mosquitto")
	port := FreePort(t)
	dir := t.TempDir()
	m := &Mosquitto{Addr: fmt.Sprintf("127.0.0.1:%d", port), log: &strings.Builder{}}
	m.URL = "tcp://" + m.Addr
	lines := []string{
		fmt.Sprintf("listener %d 127.0.0.1", port),
		"allow_anonymous true",
		"persistence false",
	}
	lines = append(lines, extra...)
	m.conf = filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(m.conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m.start(t, bin)
	t.Cleanup(m.Stop)
	return m
}

func (m *Mosquitto) start(t testing.TB, bin string) {
	t.Helper()
	m.cmd = exec.Command(bin, "-c", m.conf)
	out, _ := m.cmd.StderrPipe()
	m.cmd.Stdout = nil
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("start mosquitto: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			m.log.WriteString(sc.Text() + "\n")
		}
	}()
	if err := WaitTCP(m.Addr, 10*time.Second); err != nil {
		t.Fatalf("mosquitto: %v", err)
	}
}

// Stop stops the broker; it may be restarted with Restart.
func (m *Mosquitto) Stop() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = m.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = m.cmd.Process.Kill()
		<-done
	}
	m.cmd = nil
}

// Restart starts a stopped broker again on the same port.
func (m *Mosquitto) Restart(t testing.TB) {
	t.Helper()
	m.start(t, Require(t, "mosquitto", "mosquitto"))
}

// Run runs a program with a timeout and returns its combined output.
func Run(ctx context.Context, timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}
