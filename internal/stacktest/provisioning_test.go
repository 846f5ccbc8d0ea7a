package stacktest

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/claudehooks/claude-hooks-exporter/internal/jaegertest"
)

// TestGrafanaDatasources: the provisioned data sources point at the compose
// services on the ports they listen on, and the plugin gets the exporter's token
// from the file the init service writes.
func TestGrafanaDatasources(t *testing.T) {
	var f struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name           string            `yaml:"name"`
			UID            string            `yaml:"uid"`
			Type           string            `yaml:"type"`
			URL            string            `yaml:"url"`
			IsDefault      bool              `yaml:"isDefault"`
			JSONData       map[string]any    `yaml:"jsonData"`
			SecureJSONData map[string]string `yaml:"secureJsonData"`
		} `yaml:"datasources"`
	}
	readYAML(t, repoPath("deploy", "grafana", "provisioning", "datasources", "datasources.yml"), &f)
	if f.APIVersion != 1 {
		t.Errorf("apiVersion %d, want 1", f.APIVersion)
	}
	type want struct{ typ, url string }
	wants := map[string]want{
		"prometheus":   {"prometheus", "http://prometheus:9090"},
		"jaeger":       {"jaeger", "http://jaeger:16686"},
		"claude-hooks": {"claudehooks-live-datasource", ""},
	}
	defaults := 0
	for _, d := range f.Datasources {
		w, ok := wants[d.UID]
		if !ok {
			t.Errorf("unexpected data source uid %q", d.UID)
			continue
		}
		delete(wants, d.UID)
		if d.Type != w.typ || d.URL != w.url {
			t.Errorf("%s: type %q url %q, want %q %q", d.UID, d.Type, d.URL, w.typ, w.url)
		}
		if d.IsDefault {
			defaults++
		}
		if d.UID == "claude-hooks" {
			if d.JSONData["url"] != "http://exporter:9469" {
				t.Errorf("plugin jsonData.url %v, want http://exporter:9469", d.JSONData["url"])
			}
			if d.SecureJSONData["token"] != "$__file{/run/claude-hooks/token}" {
				t.Errorf("plugin token %q, want the exporter's token file", d.SecureJSONData["token"])
			}
		}
	}
	for uid := range wants {
		t.Errorf("no data source %q", uid)
	}
	if defaults != 1 {
		t.Errorf("%d default data sources, want 1", defaults)
	}
}

// TestJaegerConfig: Jaeger v2 (the version the trace tests run) accepts
// deploy/jaeger/config.yaml, which listens where compose and the exporter expect.
func TestJaegerConfig(t *testing.T) {
	cfg := repoPath("deploy", "jaeger", "config.yaml")
	out, err := exec.Command(jaegertest.Binary(t), "validate", "--config", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("jaeger validate: %v\n%s", err, out)
	}
	var c struct {
		Extensions struct {
			JaegerQuery struct {
				HTTP struct {
					Endpoint string `yaml:"endpoint"`
				} `yaml:"http"`
			} `yaml:"jaeger_query"`
			Health struct {
				HTTP struct {
					Endpoint string `yaml:"endpoint"`
				} `yaml:"http"`
			} `yaml:"healthcheckv2"`
			Storage struct {
				Backends map[string]struct {
					Badger *struct {
						Directories struct {
							Keys   string `yaml:"keys"`
							Values string `yaml:"values"`
						} `yaml:"directories"`
						Ephemeral bool `yaml:"ephemeral"`
					} `yaml:"badger"`
				} `yaml:"backends"`
			} `yaml:"jaeger_storage"`
		} `yaml:"extensions"`
		Receivers struct {
			OTLP struct {
				Protocols struct {
					HTTP struct {
						Endpoint string `yaml:"endpoint"`
					} `yaml:"http"`
				} `yaml:"protocols"`
			} `yaml:"otlp"`
		} `yaml:"receivers"`
	}
	readYAML(t, cfg, &c)
	checks := []struct{ what, got, want string }{
		{"query UI (compose publishes 16686)", c.Extensions.JaegerQuery.HTTP.Endpoint, "0.0.0.0:16686"},
		{"health check (compose probes 13133)", c.Extensions.Health.HTTP.Endpoint, "0.0.0.0:13133"},
		{"OTLP/HTTP (the exporter sends to jaeger:4318)", c.Receivers.OTLP.Protocols.HTTP.Endpoint, "0.0.0.0:4318"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s: endpoint %q, want %q", ck.what, ck.got, ck.want)
		}
	}
	persisted := false
	for _, b := range c.Extensions.Storage.Backends {
		if b.Badger != nil && !b.Badger.Ephemeral && strings.HasPrefix(b.Badger.Directories.Keys, "/badger/") &&
			strings.HasPrefix(b.Badger.Directories.Values, "/badger/") {
			persisted = true
		}
	}
	if !persisted {
		t.Error("traces are not kept in Badger under /badger (the jaeger-data volume)")
	}
}
