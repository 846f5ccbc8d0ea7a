package frametest

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Reader reads the frames of one stream: the schema comes with the first
// frame, later frames may carry data only. Names may be set to a schema
// received before the reader started.
type Reader struct {
	Names    []string // the field names of the last schema
	Schemas  int      // frames read that carried a schema
	DataOnly int      // frames read that did not
}

// Columns decodes one frame sent as JSON into its columns by field name.
func (r *Reader) Columns(b []byte) (map[string][]json.RawMessage, error) {
	var msg struct {
		Schema *struct {
			Fields []struct {
				Name string `json:"name"`
			} `json:"fields"`
		} `json:"schema"`
		Data struct {
			Values [][]json.RawMessage `json:"values"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &msg); err != nil {
		return nil, fmt.Errorf("decode frame: %w", err)
	}
	if msg.Schema != nil {
		r.Schemas++
		r.Names = r.Names[:0]
		for _, f := range msg.Schema.Fields {
			r.Names = append(r.Names, f.Name)
		}
	} else {
		r.DataOnly++
	}
	if len(r.Names) == 0 {
		return nil, errors.New("frame data before any schema")
	}
	out := make(map[string][]json.RawMessage, len(r.Names))
	for i, n := range r.Names {
		if i < len(msg.Data.Values) {
			out[n] = msg.Data.Values[i]
		}
	}
	return out, nil
}
