package claudecli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Version is the Claude Code release the tests pin (internal/claudecli/npm/package-lock.json);
// CLAUDE_CODE_VERSION selects another one installed by scripts/claude-code.sh.
const Version = "2.1.337"

// BridgeEnv, when set in the environment of a test binary, makes its TestMain
// run Bridge instead of the tests: the process that runs the CLI inside the
// private network namespace. Its value is the model server's Unix socket.
const BridgeEnv = "CHX_CLAUDECLI_BRIDGE"

// bridgePort is where the model server appears inside the namespace. The
// namespace is private, so a fixed port cannot collide with anything.
const bridgePort = "127.0.0.1:4080"

// WantedVersion is the CLI version the tests run: CLAUDE_CODE_VERSION or Version.
func WantedVersion() string {
	if v := os.Getenv("CLAUDE_CODE_VERSION"); v != "" {
		return v
	}
	return Version
}

// Binary returns the path of the installed CLI of WantedVersion:
// $CLAUDE_CODE_BIN if set, else the copy scripts/claude-code.sh installs under
// the cache (${CLAUDE_HOOKS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-hooks-exporter}/claude-code/<version>).
func Binary() (string, error) {
	if b := os.Getenv("CLAUDE_CODE_BIN"); b != "" {
		return checkExec(b)
	}
	cache := os.Getenv("CLAUDE_HOOKS_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("claude-code: no cache directory: %w", err)
			}
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "claude-hooks-exporter")
	}
	return checkExec(filepath.Join(cache, "claude-code", WantedVersion(), "node_modules", ".bin", "claude"))
}

func checkExec(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("claude-code %s is not installed (%w): run scripts/claude-code.sh (make test-deps) to install it", WantedVersion(), err)
	}
	if st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("claude-code %s at %s is not executable", WantedVersion(), path)
	}
	return path, nil
}

// Options says how to run one CLI process.
type Options struct {
	Binary string
	// Dir is the project directory (the CLI's cwd); Home its HOME.
	Dir, Home string
	// Socket is the Unix socket the model server listens on.
	Socket string
	// Args are the CLI's arguments after the stream-json ones.
	Args []string
	// Env is added to the CLI's environment.
	Env []string
	// Stderr receives the CLI's and the bridge's standard error.
	Stderr io.Writer
}

// Process is a CLI in print mode with stream-json input and output, running
// in a private network namespace.
type Process struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan Message
	done  chan struct{}
	err   error
	mu    sync.Mutex
	// Log holds every line the CLI printed.
	log []json.RawMessage
}

// Message is one stream-json line of the CLI's output.
type Message struct {
	Type    string          `json:"type"`
	Subtype string          `json:"subtype"`
	Request json.RawMessage `json:"request"`
	ReqID   string          `json:"request_id"`
	Raw     json.RawMessage `json:"-"`
}

// Start runs the CLI through this test binary in bridge mode (see Bridge) in
// a new network namespace. It fails with a clear error when the namespace
// cannot be made.
func Start(opts Options) (*Process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("claude-code: find the test binary: %w", err)
	}
	args := append([]string{"-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose"}, opts.Args...)
	cmd := exec.Command(self, append([]string{opts.Binary}, args...)...)
	cmd.Dir = opts.Dir
	cmd.Env = append(cliEnv(opts.Home), opts.Env...)
	cmd.Env = append(cmd.Env, BridgeEnv+"="+opts.Socket)
	cmd.Stderr = opts.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("claude-code: cannot start the CLI in a private network namespace "+
			"(CLONE_NEWNET, what `unshare -n` does; needs root or CAP_SYS_ADMIN): %w", err)
	}
	p := &Process{cmd: cmd, stdin: stdin, lines: make(chan Message, 256), done: make(chan struct{})}
	go p.read(stdout)
	return p, nil
}

// cliEnv is the environment of an offline CLI: no inherited variables beyond
// PATH, the model server as its API, and every kind of outbound traffic off.
func cliEnv(home string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"TMPDIR=" + filepath.Join(home, "tmp"),
		"LANG=C.UTF-8",
		"ANTHROPIC_BASE_URL=http://" + bridgePort,
		"ANTHROPIC_API_KEY=sk-ant-api03-offline-test-key-0000000000000000",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"DISABLE_AUTOUPDATER=1",
		"DISABLE_ERROR_REPORTING=1",
		"DISABLE_TELEMETRY=1",
	}
}

func (p *Process) read(r io.Reader) {
	defer close(p.done)
	defer close(p.lines)
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		raw := json.RawMessage(append([]byte(nil), sc.Bytes()...))
		var m Message
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		m.Raw = raw
		p.mu.Lock()
		p.log = append(p.log, raw)
		p.mu.Unlock()
		p.lines <- m
	}
	p.err = p.cmd.Wait()
}

// Send writes one stream-json input line.
func (p *Process) Send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = p.stdin.Write(append(b, '\n'))
	return err
}

// Prompt sends a user message.
func (p *Process) Prompt(text string) error {
	return p.Send(map[string]any{"type": "user", "message": map[string]any{"role": "user", "content": text}})
}

// Control sends a control request (interrupt, set_model, ...).
func (p *Process) Control(id string, req map[string]any) error {
	return p.Send(map[string]any{"type": "control_request", "request_id": id, "request": req})
}

// Answer sends the success response of a control request the CLI made.
func (p *Process) Answer(id string, resp any) error {
	return p.Send(map[string]any{"type": "control_response", "response": map[string]any{
		"subtype": "success", "request_id": id, "response": resp,
	}})
}

// ErrExited is returned by Next when the CLI's output ended.
var ErrExited = errors.New("claude-code exited")

// Next returns the next output line, waiting at most timeout.
func (p *Process) Next(timeout time.Duration) (Message, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case m, ok := <-p.lines:
		if !ok {
			return Message{}, fmt.Errorf("%w: %v", ErrExited, p.err)
		}
		return m, nil
	case <-t.C:
		return Message{}, fmt.Errorf("claude-code: no output for %s", timeout)
	}
}

// CloseInput closes the CLI's standard input: it finishes and exits.
func (p *Process) CloseInput() error { return p.stdin.Close() }

// Wait waits for the CLI to exit, draining its output; after timeout it kills
// the process group.
func (p *Process) Wait(timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case _, ok := <-p.lines:
			if !ok {
				<-p.done
				return p.err
			}
		case <-t.C:
			p.Kill()
			<-p.done
			return fmt.Errorf("claude-code did not exit within %s", timeout)
		}
	}
}

// Kill kills the CLI's process group.
func (p *Process) Kill() {
	if p.cmd.Process != nil {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// Output returns every line the CLI printed so far.
func (p *Process) Output() []json.RawMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]json.RawMessage(nil), p.log...)
}

// Bridge is the main of the bridge process, which Start runs in a new network
// namespace: it brings the loopback interface up, forwards 127.0.0.1:4080 to
// the model server's Unix socket outside, and runs the CLI (args) as its child
// with its own standard streams. It returns the CLI's exit code.
func Bridge(socket string, args []string) int {
	if err := loopbackUp(); err != nil {
		fmt.Fprintf(os.Stderr, "claudecli bridge: bring up lo in the new network namespace: %v\n", err)
		return 70
	}
	ln, err := net.Listen("tcp", bridgePort)
	if err != nil {
		fmt.Fprintf(os.Stderr, "claudecli bridge: %v\n", err)
		return 70
	}
	go forward(ln, socket)
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "claudecli bridge: no command")
		return 70
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	env := os.Environ()
	for i, kv := range env {
		if len(kv) > len(BridgeEnv) && kv[:len(BridgeEnv)+1] == BridgeEnv+"=" {
			env = append(env[:i], env[i+1:]...)
			break
		}
	}
	cmd.Env = env
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "claudecli bridge: run %s: %v\n", args[0], err)
		return 70
	}
	return 0
}

func forward(ln net.Listener, socket string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("unix", socket)
			if err != nil {
				return
			}
			defer u.Close()
			go func() { io.Copy(u, c); u.(*net.UnixConn).CloseWrite() }()
			io.Copy(c, u)
		}()
	}
}

// loopbackUp sets IFF_UP on lo: a new network namespace starts with it down.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr [40]byte
	copy(ifr[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	flags := (*uint16)(unsafe.Pointer(&ifr[16]))
	*flags |= syscall.IFF_UP | syscall.IFF_RUNNING
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	return nil
}

// RunMain handles the helper modes of a test binary that uses this package:
// the bridge (BridgeEnv) and the MCP server (MCPEnv). It returns false when
// the binary should run its tests.
func RunMain() (int, bool) {
	if sock := os.Getenv(BridgeEnv); sock != "" {
		return Bridge(sock, os.Args[1:]), true
	}
	if os.Getenv(MCPEnv) == "1" {
		if err := ServeMCP(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// MCPEnv, set to 1, makes a test binary's TestMain serve MCP on stdio.
const MCPEnv = "CHX_CLAUDECLI_MCP"
