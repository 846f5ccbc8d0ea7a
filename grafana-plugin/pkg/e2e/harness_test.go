package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/claudehooks/claude-hooks-exporter/internal/proctest"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// Binaries built once for the package: the exporter, the hook and the plugin.
var (
	exporterBin string
	hookBin     string
	pluginBin   string
)

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "chx-plugin-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	exporterBin = filepath.Join(dir, "claude-hooks-exporter")
	hookBin = filepath.Join(dir, "claude-hooks-hook")
	pluginBin = filepath.Join(dir, "gpx_claudehooks")
	builds := map[string]string{exporterBin: "../../../cmd/exporter", hookBin: "../../../cmd/hook", pluginBin: ".."}
	// make test builds each binary once and names them here.
	for v, bin := range map[string]*string{"CLAUDE_HOOKS_EXPORTER_BIN": &exporterBin, "CLAUDE_HOOKS_HOOK_BIN": &hookBin, "CLAUDE_HOOKS_PLUGIN_BIN": &pluginBin} {
		if p := os.Getenv(v); p != "" {
			delete(builds, *bin)
			*bin = p
		}
	}
	for out, pkg := range builds {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", pkg, err)
			return 1
		}
	}
	return m.Run()
}

// Shared with the other process-level tests.
var (
	freeAddr = proctest.FreeAddr
	waitFor  = proctest.WaitFor
)

type syncBuffer = proctest.Buffer

// exporter is a running `claude-hooks-exporter serve`.
type exporter struct {
	tb       testing.TB
	addr     string
	stateDir string
	spoolDir string
	args     []string
	cmd      *exec.Cmd
	done     chan struct{}
	logs     *syncBuffer
}

func startExporter(tb testing.TB, extra ...string) *exporter {
	tb.Helper()
	dir := tb.TempDir()
	e := &exporter{tb: tb, addr: freeAddr(tb), stateDir: dir, spoolDir: filepath.Join(dir, "spool"), logs: &syncBuffer{}}
	e.args = append([]string{"serve",
		"--web.listen-address=" + e.addr,
		"--state.dir=" + e.stateDir,
		"--spool.dir=" + e.spoolDir,
		"--log.level=debug",
		"--checkpoint.interval=200ms",
		"--spool.poll-interval=200ms",
	}, extra...)
	e.start()
	tb.Cleanup(e.stop)
	return e
}

func (e *exporter) url() string { return "http://" + e.addr }

func (e *exporter) start() {
	e.tb.Helper()
	e.cmd = exec.Command(exporterBin, e.args...)
	e.cmd.Stdout, e.cmd.Stderr = e.logs, e.logs
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		e.tb.Fatal(err)
	}
	e.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(e.cmd, e.done)
	waitFor(e.tb, 30*time.Second, "exporter ready", func() (bool, error) {
		select {
		case <-e.done:
			return false, fmt.Errorf("exporter exited:\n%s", e.logs)
		default:
		}
		resp, err := http.Get(e.url() + "/healthz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// stop asks for a clean shutdown (SIGTERM) and waits for it.
func (e *exporter) stop() {
	if e.cmd == nil {
		return
	}
	select {
	case <-e.done:
		return
	default:
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(20 * time.Second):
		e.cmd.Process.Kill()
		<-e.done
		e.tb.Errorf("exporter ignored SIGTERM for 20 s; logs:\n%s", e.logs)
	}
}

// status reads /api/v1/status (without a token).
func (e *exporter) status() (wire.Status, error) {
	var st wire.Status
	resp, err := http.Get(e.url() + "/api/v1/status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("status: %s", resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// waitApplied waits until the exporter applied at least n events.
func (e *exporter) waitApplied(n uint64) {
	e.tb.Helper()
	waitFor(e.tb, 30*time.Second, fmt.Sprintf("%d events applied", n), func() (bool, error) {
		st, err := e.status()
		return err == nil && st.EventsApplied >= n, nil
	})
}

// hook runs the real hook command once per payload, as Claude Code does.
func hook(tb testing.TB, spoolDir string, payloads ...[]byte) {
	tb.Helper()
	for _, p := range payloads {
		cmd := exec.Command(hookBin, "--spool.dir="+spoolDir)
		cmd.Stdin = bytes.NewReader(p)
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("hook: %v: %s", err, out)
		}
	}
}

func readLines(tb testing.TB, name string) [][]byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// pluginProc is the plugin binary started the way Grafana starts backend
// plugins, with the pluginv2 clients Grafana uses.
type pluginProc struct {
	client      *goplugin.Client
	diagnostics pluginv2.DiagnosticsClient
	data        pluginv2.DataClient
	stream      pluginv2.StreamClient
	pid         int
	logs        *syncBuffer
}

// query runs one query of queryType with model over [from, now+1m) through
// the plugin's QueryData, as a panel does, and returns its response.
func (p *pluginProc) query(tb testing.TB, pc *pluginv2.PluginContext, queryType string, model map[string]any, from time.Time) *pluginv2.DataResponse {
	tb.Helper()
	js, _ := json.Marshal(model)
	resp, err := p.data.QueryData(ctxTimeout(tb, 20*time.Second), &pluginv2.QueryDataRequest{
		PluginContext: pc,
		Queries: []*pluginv2.DataQuery{{
			RefId: "A", QueryType: queryType, Json: js, IntervalMS: 60000, MaxDataPoints: 500,
			TimeRange: &pluginv2.TimeRange{FromEpochMS: from.UnixMilli(), ToEpochMS: time.Now().Add(time.Minute).UnixMilli()},
		}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return resp.Responses["A"]
}

// startPlugin mirrors Grafana's pkg/plugins/backendplugin/grpcplugin: the
// handshake (protocol 2, grafana_plugin_type=datasource), gRPC only, and the
// SDK's plugin set for protocol version 2.
func startPlugin(tb testing.TB) *pluginProc {
	tb.Helper()
	logs := &syncBuffer{}
	cmd := exec.Command(pluginBin)
	client := goplugin.NewClient(&goplugin.ClientConfig{
		Cmd: cmd,
		HandshakeConfig: goplugin.HandshakeConfig{
			ProtocolVersion:  grpcplugin.ProtocolVersion,
			MagicCookieKey:   grpcplugin.MagicCookieKey,
			MagicCookieValue: grpcplugin.MagicCookieValue,
		},
		VersionedPlugins: map[int]goplugin.PluginSet{
			grpcplugin.ProtocolVersion: {
				"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{},
				"resource":    &grpcplugin.ResourceGRPCPlugin{},
				"data":        &grpcplugin.DataGRPCPlugin{},
				"stream":      &grpcplugin.StreamGRPCPlugin{},
			},
		},
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "plugin", Output: logs, Level: hclog.Debug}),
	})
	tb.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		tb.Fatalf("start plugin: %v\n%s", err, logs)
	}
	if client.NegotiatedVersion() != grpcplugin.ProtocolVersion || client.Protocol() != goplugin.ProtocolGRPC {
		tb.Fatalf("negotiated protocol %d over %s, want %d over grpc", client.NegotiatedVersion(), client.Protocol(), grpcplugin.ProtocolVersion)
	}
	p := &pluginProc{client: client, logs: logs}
	if rc := client.ReattachConfig(); rc != nil {
		p.pid = rc.Pid
	}
	for name, dst := range map[string]any{"diagnostics": &p.diagnostics, "data": &p.data, "stream": &p.stream} {
		raw, err := rpc.Dispense(name)
		if err != nil {
			tb.Fatalf("dispense %s: %v", name, err)
		}
		switch d := dst.(type) {
		case *pluginv2.DiagnosticsClient:
			*d = raw.(pluginv2.DiagnosticsClient)
		case *pluginv2.DataClient:
			*d = raw.(pluginv2.DataClient)
		case *pluginv2.StreamClient:
			*d = raw.(pluginv2.StreamClient)
		}
	}
	return p
}

// dsSettings is a configured data source as Grafana sends it in the plugin
// context. Each distinct uid gets its own instance in the plugin.
func dsSettings(uid, url, token string) *pluginv2.PluginContext {
	js, _ := json.Marshal(map[string]any{"url": url, "liveHistory": 5})
	s := &pluginv2.DataSourceInstanceSettings{
		Id: 1, Uid: uid, Name: "Claude Code hooks (" + uid + ")", JsonData: js, LastUpdatedMS: 1,
	}
	if token != "" {
		s.DecryptedSecureJsonData = map[string]string{"token": token}
	}
	return &pluginv2.PluginContext{OrgId: 1, PluginId: "claudehooks-live-datasource", DataSourceInstanceSettings: s}
}

func ctxTimeout(tb testing.TB, d time.Duration) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// str and num read one JSON value of a column.
func str(v json.RawMessage) string {
	var s string
	_ = json.Unmarshal(v, &s)
	return s
}

func num(v json.RawMessage) int64 {
	var n int64
	_ = json.Unmarshal(v, &n)
	return n
}
