package app_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/claudehooks/claude-hooks-exporter/internal/proctest"
)

// Shared with the other process-level tests.
var (
	freeAddr = proctest.FreeAddr
	waitFor  = proctest.WaitFor
)

type syncBuffer = proctest.Buffer

// Binaries built once for every end-to-end test of this package.
var (
	exporterBin string
	hookBin     string
)

// TestMain builds the two binaries once, or takes them from
// $CLAUDE_HOOKS_EXPORTER_BIN and $CLAUDE_HOOKS_HOOK_BIN (make test builds them
// once for every package's tests).
func TestMain(m *testing.M) {
	exporterBin, hookBin = os.Getenv("CLAUDE_HOOKS_EXPORTER_BIN"), os.Getenv("CLAUDE_HOOKS_HOOK_BIN")
	if exporterBin != "" && hookBin != "" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "chx-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	exporterBin = filepath.Join(dir, "claude-hooks-exporter")
	hookBin = filepath.Join(dir, "claude-hooks-hook")
	for out, pkg := range map[string]string{exporterBin: "../../cmd/exporter", hookBin: "../../cmd/hook"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", pkg, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is a running claude-hooks-exporter serve process.
type daemon struct {
	tb       testing.TB
	cmd      *exec.Cmd
	addr     string
	stateDir string
	spoolDir string
	args     []string
	env      []string
	logs     *syncBuffer
	done     chan struct{}
}

// startDaemon starts serve on a free port with its state under stateDir.
func startDaemon(tb testing.TB, stateDir string, env []string, extra ...string) *daemon {
	tb.Helper()
	d := &daemon{
		tb:       tb,
		addr:     freeAddr(tb),
		stateDir: stateDir,
		spoolDir: filepath.Join(stateDir, "spool"),
		env:      env,
		logs:     &syncBuffer{},
	}
	// The command line refuses a repeated flag: a default the caller sets in
	// extra is left out.
	d.args = []string{"serve"}
	for _, def := range []string{
		"--web.listen-address=" + d.addr,
		"--state.dir=" + stateDir,
		"--spool.dir=" + d.spoolDir,
		"--log.level=debug",
		"--checkpoint.interval=200ms",
		"--spool.poll-interval=200ms",
	} {
		name, _, _ := strings.Cut(def, "=")
		if !slices.ContainsFunc(extra, func(a string) bool { return a == name || strings.HasPrefix(a, name+"=") }) {
			d.args = append(d.args, def)
		}
	}
	d.args = append(d.args, extra...)
	d.start()
	tb.Cleanup(func() { d.stop() })
	return d
}

func (d *daemon) start() {
	d.tb.Helper()
	d.cmd = exec.Command(exporterBin, d.args...)
	d.cmd.Env = append(os.Environ(), d.env...)
	d.cmd.Stdout = d.logs
	d.cmd.Stderr = d.logs
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		d.tb.Fatal(err)
	}
	d.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(d.cmd, d.done)
	waitFor(d.tb, 20*time.Second, "daemon ready", func() (bool, error) {
		select {
		case <-d.done:
			d.tb.Fatalf("daemon exited early:\n%s", d.logs.String())
		default:
		}
		resp, err := http.Get("http://" + d.addr + "/healthz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// kill sends SIGKILL: no shutdown code runs.
func (d *daemon) kill() {
	d.tb.Helper()
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

// stop asks for a clean shutdown and waits for it.
func (d *daemon) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	select {
	case <-d.done:
		return
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
		d.tb.Errorf("daemon did not stop within 15s on SIGTERM; logs:\n%s", tailOf(d.logs.String(), 3000))
	}
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// metrics scrapes /metrics and parses it.
func (d *daemon) metrics() (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get("http://" + d.addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("/metrics: %s: %s", resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// sum adds up every sample of a counter or gauge family whose labels include match.
func sum(mfs map[string]*dto.MetricFamily, name string, match map[string]string) float64 {
	mf, ok := mfs[name]
	if !ok {
		return 0
	}
	total := 0.0
outer:
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, lp := range m.GetLabel() {
			labels[lp.GetName()] = lp.GetValue()
		}
		for k, v := range match {
			if labels[k] != v {
				continue outer
			}
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Untyped != nil:
			total += m.GetUntyped().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

// runHook runs bin (a hook entry point) with payload on stdin.
func runHook(ctx context.Context, bin string, args []string, payload []byte) (stdout, stderr []byte, code int, err error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = bytes.NewReader(payload)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if _, ok := err.(*exec.ExitError); ok {
		err = nil
	}
	return o.Bytes(), e.Bytes(), code, err
}

// countLines counts non-empty lines in every spool file of dir.
func countRecords(tb testing.TB, dir string) int {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "spool-*.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) > 0 {
				n++
			}
		}
		fh.Close()
	}
	return n
}
