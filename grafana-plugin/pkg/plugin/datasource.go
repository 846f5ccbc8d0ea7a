package plugin

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"

	"github.com/claudehooks/claude-hooks-exporter/grafana-plugin/pkg/exporterapi"
)

// ID is the plugin id, as in plugin.json.
const ID = "claudehooks-live-datasource"

// Backoff bounds the waits between reconnections of a live stream: the first
// wait is about Min, each further one doubles, up to Max (internal/retry, jittered).
type Backoff struct {
	Min, Max time.Duration
}

// DefaultBackoff is the reconnection backoff used when Options leave it zero.
var DefaultBackoff = Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}

// Options configure every data source instance the factory builds.
type Options struct {
	// Logger receives the plugin's logs; nil discards them.
	Logger *slog.Logger
	// Version is reported in the User-Agent of requests to the exporter.
	Version string
	// Backoff between stream reconnections; zero fields take DefaultBackoff's.
	Backoff Backoff
	// StreamIdleTimeout ends an upstream stream that stayed silent that long;
	// zero means exporterapi.DefaultIdleTimeout.
	StreamIdleTimeout time.Duration
	// Transport carries requests to the exporter; nil means a default one.
	Transport http.RoundTripper
}

// NewFactory returns the instance factory that datasource.Manage calls for
// each configured data source (and again when its settings change).
func NewFactory(opts Options) datasource.InstanceFactoryFunc {
	return func(_ context.Context, s backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
		return New(s, opts), nil
	}
}

// Datasource is one configured claude-hooks-exporter data source.
type Datasource struct {
	settings Settings
	// client is nil when the settings are unusable; settingsErr says why,
	// and every call answers with it instead of failing instance creation.
	client      *exporterapi.Client
	settingsErr error
	uid, name   string
	log         *slog.Logger
	backoff     Backoff
	idle        time.Duration
	resume      resumeHints
}

var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.StreamHandler         = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// New builds a data source from its instance settings.
func New(s backend.DataSourceInstanceSettings, opts Options) *Datasource {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	b := opts.Backoff
	if b.Min <= 0 {
		b.Min = DefaultBackoff.Min
	}
	if b.Max < b.Min {
		b.Max = max(DefaultBackoff.Max, b.Min)
	}
	d := &Datasource{uid: s.UID, name: s.Name, log: l.With("datasource_uid", s.UID), backoff: b, idle: opts.StreamIdleTimeout}
	d.settings, d.settingsErr = LoadSettings(s)
	if d.settingsErr != nil {
		return d
	}
	ua := ID
	if opts.Version != "" {
		ua += "/" + opts.Version
	}
	d.client, d.settingsErr = exporterapi.New(exporterapi.Options{
		URL:       d.settings.URL,
		Token:     d.settings.Token,
		UserAgent: ua,
		Transport: opts.Transport,
	})
	return d
}

// Dispose releases the instance's idle connections; the SDK calls it when the
// settings changed and a new instance replaces this one.
func (d *Datasource) Dispose() {
	if d.client != nil {
		d.client.CloseIdleConnections()
	}
}

// resumeHints remember, per channel path, the newest event that SubscribeStream
// handed out as initial data, so that the RunStream started right after it
// continues from there instead of from the live edge: no event falls between
// the initial data and the stream.
type resumeHints struct {
	mu sync.Mutex
	m  map[string]resumeHint
}

type resumeHint struct {
	seq int64
	at  time.Time
}

// hintTTL is how long a hint is good for: RunStream follows the first
// subscription within moments.
const hintTTL = time.Minute

func (r *resumeHints) set(path string, seq int64, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]resumeHint{}
	}
	for p, h := range r.m {
		if now.Sub(h.at) > hintTTL {
			delete(r.m, p)
		}
	}
	r.m[path] = resumeHint{seq: seq, at: now}
}

// take returns and forgets the hint for path, if it is fresh.
func (r *resumeHints) take(path string, now time.Time) (int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.m[path]
	delete(r.m, path)
	if !ok || now.Sub(h.at) > hintTTL {
		return 0, false
	}
	return h.seq, true
}
