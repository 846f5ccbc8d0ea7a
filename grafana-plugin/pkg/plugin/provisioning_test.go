package plugin_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"go.yaml.in/yaml/v3"

	"github.com/claudehooks/claude-hooks-exporter/grafana-plugin/pkg/plugin"
)

// The provisioning file shipped with the plugin (provisioning/, as
// create-plugin lays it out) configures a data source of this plugin that
// its settings loader accepts, with the token from the environment.
func TestProvisioningFile(t *testing.T) {
	b, err := os.ReadFile("../../provisioning/datasources/claude-hooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			UID            string            `yaml:"uid"`
			Type           string            `yaml:"type"`
			Access         string            `yaml:"access"`
			JSONData       map[string]any    `yaml:"jsonData"`
			SecureJSONData map[string]string `yaml:"secureJsonData"`
		} `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if f.APIVersion != 1 || len(f.Datasources) != 1 {
		t.Fatalf("apiVersion %d, %d data sources; want 1 and 1", f.APIVersion, len(f.Datasources))
	}
	ds := f.Datasources[0]
	if ds.Type != plugin.ID || ds.Access != "proxy" {
		t.Errorf("type %q access %q, want %s and proxy", ds.Type, ds.Access, plugin.ID)
	}
	if !strings.HasPrefix(ds.SecureJSONData["token"], "$") {
		t.Errorf("token %q: want it from Grafana's environment, not in the file", ds.SecureJSONData["token"])
	}
	js, err := json.Marshal(ds.JSONData)
	if err != nil {
		t.Fatal(err)
	}
	s, err := plugin.LoadSettings(backend.DataSourceInstanceSettings{UID: ds.UID, JSONData: js,
		DecryptedSecureJSONData: map[string]string{"token": "t0ken"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.URL != "http://127.0.0.1:9469" || s.Token != "t0ken" || s.LiveHistory != 100 {
		t.Errorf("settings %+v", s)
	}
}
