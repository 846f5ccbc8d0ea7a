package stacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/proctest"
)

// Shared with the other process-level tests.
var (
	freeAddr = proctest.FreeAddr
	waitFor  = proctest.WaitFor
)

type lockedBuffer = proctest.Buffer

// process is a child started by a test in its own process group; the test's
// cleanup stops it with SIGTERM (SIGKILL after 10 s) and waits for it.
type process struct {
	name string
	logs *lockedBuffer
	done chan struct{}
}

func startProcess(tb testing.TB, name, bin string, args ...string) *process {
	tb.Helper()
	p := &process{name: name, logs: &lockedBuffer{}, done: make(chan struct{})}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return p
}

// exited reports an error when the process has ended.
func (p *process) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited early:\n%s", p.name, p.logs.String())
	default:
		return nil
	}
}

// httpOK reports whether GET url answers 200.
func httpOK(u, token string) bool {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return false
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// exporter is a running claude-hooks-exporter serve with a bearer token.
type exporter struct {
	*process
	addr     string
	token    string
	spoolDir string
	// transcriptDir is the directory the exporter may read transcripts from
	// (--transcripts.allowed-dirs).
	transcriptDir string
}

func startExporter(tb testing.TB) *exporter {
	tb.Helper()
	dir := tb.TempDir()
	e := &exporter{addr: freeAddr(tb), token: "stacktest-token-0123456789abcdef", spoolDir: filepath.Join(dir, "spool"),
		transcriptDir: filepath.Join(dir, "transcripts")}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(e.token), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.Mkdir(e.transcriptDir, 0o700); err != nil {
		tb.Fatal(err)
	}
	bin, _ := binaries(tb)
	e.process = startProcess(tb, "exporter", bin, "serve",
		"--web.listen-address="+e.addr,
		"--web.auth-token-file="+tokenFile,
		"--state.dir="+filepath.Join(dir, "state"),
		"--spool.dir="+e.spoolDir,
		"--spool.poll-interval=200ms",
		"--checkpoint.interval=200ms",
		"--transcripts.allowed-dirs="+e.transcriptDir,
	)
	waitFor(tb, 20*time.Second, "exporter ready", func() (bool, error) {
		return httpOK("http://"+e.addr+"/healthz", ""), e.exited()
	})
	return e
}

// metrics returns the exporter's /metrics text.
func (e *exporter) metrics(tb testing.TB) string {
	tb.Helper()
	return string(e.get(tb, "/metrics"))
}

// get returns the body of the exporter's answer to GET path, which must be 200.
func (e *exporter) get(tb testing.TB, path string) []byte {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+e.addr+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("%s: %s %v: %s", path, resp.Status, err, b)
	}
	return b
}

// hook sends each payload through the real hook command into the exporter's spool.
func (e *exporter) hook(tb testing.TB, payloads ...string) {
	tb.Helper()
	for _, p := range payloads {
		_, bin := binaries(tb)
		cmd := exec.Command(bin, "--spool.dir", e.spoolDir)
		cmd.Stdin = strings.NewReader(p)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil || out.Len() != 0 {
			tb.Fatalf("hook %s: %v stdout %q stderr %q", p, err, out.String(), errOut.String())
		}
	}
}

// prometheus is a real Prometheus started on a free loopback port.
type prometheus struct {
	*process
	addr string
}

func startPrometheus(tb testing.TB, addr, configFile string) *prometheus {
	tb.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		tb.Fatalf("prometheus not installed (make test-deps installs it): %v", err)
	}
	p := &prometheus{addr: addr}
	p.process = startProcess(tb, "prometheus", bin,
		"--config.file="+configFile,
		"--storage.tsdb.path="+filepath.Join(tb.TempDir(), "data"),
		"--web.listen-address="+addr,
	)
	waitFor(tb, 30*time.Second, "prometheus ready", func() (bool, error) {
		return httpOK("http://"+addr+"/-/ready", ""), p.exited()
	})
	return p
}

// apiResponse is the envelope of Prometheus's HTTP API.
type apiResponse struct {
	Status    string          `json:"status"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Data      json.RawMessage `json:"data"`
}

// sample is one series of an instant vector.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// value is the sample's value as a string ("NaN", "+Inf", "0.4").
func (s sample) value() string {
	v, _ := s.Value[1].(string)
	return v
}

// api calls GET /api/v1/<path> and decodes data into out.
func (p *prometheus) api(path string, params url.Values, out any) error {
	u := "http://" + p.addr + "/api/v1/" + path
	if params != nil {
		u += "?" + params.Encode()
	}
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("%s: decode: %w", path, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s: %s: %s", path, r.ErrorType, r.Error)
	}
	if len(r.Warnings) > 0 {
		return fmt.Errorf("%s: warnings: %v", path, r.Warnings)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(r.Data, out)
}

// query runs an instant query. Scalars and strings come back as one sample.
func (p *prometheus) query(q string) ([]sample, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := p.api("query", url.Values{"query": {q}}, &data); err != nil {
		return nil, err
	}
	switch data.ResultType {
	case "vector":
		var v []sample
		err := json.Unmarshal(data.Result, &v)
		return v, err
	case "scalar", "string":
		var s sample
		err := json.Unmarshal(data.Result, &s.Value)
		return []sample{s}, err
	default:
		return nil, fmt.Errorf("query %s: result type %s", q, data.ResultType)
	}
}
