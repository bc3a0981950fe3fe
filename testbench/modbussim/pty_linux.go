package modbussim

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"github.com/creack/pty"
)

// OpenPTY opens a pseudo-terminal pair in raw mode (8 data bits, no echo,
// no line editing, no output processing). The caller closes it.
func OpenPTY() (*PTY, error) {
	master, tty, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("modbussim: open pty: %w", err)
	}
	if err := makeRaw(tty); err != nil {
		_ = master.Close()
		_ = tty.Close()
		return nil, fmt.Errorf("modbussim: pty %s raw mode: %w", tty.Name(), err)
	}
	// pty.Open leaves the master in blocking mode; a non-blocking copy
	// goes through the runtime poller, so reads honour deadlines.
	fd, err := syscall.Dup(int(master.Fd()))
	_ = master.Close()
	if err != nil {
		_ = tty.Close()
		return nil, fmt.Errorf("modbussim: pty dup: %w", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		_ = tty.Close()
		return nil, fmt.Errorf("modbussim: pty non-blocking: %w", err)
	}
	return &PTY{Server: os.NewFile(uintptr(fd), "/dev/ptmx"), Path: tty.Name(), tty: tty}, nil
}

// makeRaw does what cfmakeraw(3) does to the tty's termios.
func makeRaw(f *os.File) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ioErr error
	err = sc.Control(func(fd uintptr) {
		var t syscall.Termios
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCGETS, uintptr(unsafe.Pointer(&t))); e != 0 {
			ioErr = e
			return
		}
		t.Iflag &^= syscall.IGNBRK | syscall.BRKINT | syscall.PARMRK | syscall.ISTRIP |
			syscall.INLCR | syscall.IGNCR | syscall.ICRNL | syscall.IXON
		t.Oflag &^= syscall.OPOST
		t.Lflag &^= syscall.ECHO | syscall.ECHONL | syscall.ICANON | syscall.ISIG | syscall.IEXTEN
		t.Cflag &^= syscall.CSIZE | syscall.PARENB
		t.Cflag |= syscall.CS8
		t.Cc[syscall.VMIN] = 1
		t.Cc[syscall.VTIME] = 0
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCSETS, uintptr(unsafe.Pointer(&t))); e != 0 {
			ioErr = e
		}
	})
	if err != nil {
		return err
	}
	return ioErr
}
