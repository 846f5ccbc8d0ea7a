package plugin

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// DefaultLiveHistory is how many recent events a new live subscriber gets
// before the stream's own frames.
const DefaultLiveHistory = 100

// maxLiveHistory bounds LiveHistory.
const maxLiveHistory = 1000

// Settings are the data source's settings as the ConfigEditor stores them.
type Settings struct {
	// URL is the exporter's base URL (jsonData.url).
	URL string `json:"url"`
	// LiveHistory is how many recent events a live subscriber starts with
	// (jsonData.liveHistory; 0 means DefaultLiveHistory).
	LiveHistory int `json:"liveHistory"`
	// Token is the exporter's bearer token (secureJsonData.token).
	Token string `json:"-"`
}

// LoadSettings reads the data source's settings.
func LoadSettings(s backend.DataSourceInstanceSettings) (Settings, error) {
	var set Settings
	if len(s.JSONData) > 0 {
		if err := json.Unmarshal(s.JSONData, &set); err != nil {
			return set, fmt.Errorf("read jsonData: %w", err)
		}
	}
	set.URL = strings.TrimSpace(set.URL)
	if set.URL == "" {
		set.URL = strings.TrimSpace(s.URL) // the data source's own URL field, if a provisioning file used it
	}
	set.Token = strings.TrimSpace(s.DecryptedSecureJSONData["token"])
	switch {
	case set.LiveHistory <= 0:
		set.LiveHistory = DefaultLiveHistory
	case set.LiveHistory > maxLiveHistory:
		set.LiveHistory = maxLiveHistory
	}
	return set, nil
}
