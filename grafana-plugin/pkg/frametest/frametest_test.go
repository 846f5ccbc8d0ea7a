package frametest

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestColumns(t *testing.T) {
	var r Reader
	if _, err := r.Columns([]byte(`{"data":{"values":[[1]]}}`)); err == nil {
		t.Error("data before any schema read without an error")
	}
	cols, err := r.Columns([]byte(`{"schema":{"fields":[{"name":"seq"},{"name":"event"}]},"data":{"values":[[1,2],["a","b"]]}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]json.RawMessage{"seq": {json.RawMessage("1"), json.RawMessage("2")}, "event": {json.RawMessage(`"a"`), json.RawMessage(`"b"`)}}
	if diff := cmp.Diff(want, cols); diff != "" {
		t.Errorf("first frame (-want +got):\n%s", diff)
	}
	// A later frame without a schema uses the last one; no rows, no columns.
	cols, err = r.Columns([]byte(`{"data":{"values":[[3]]}}`))
	if err != nil || string(cols["seq"][0]) != "3" || cols["event"] != nil {
		t.Errorf("data-only frame: %v, %v", cols, err)
	}
	if _, err := r.Columns([]byte(`{`)); err == nil {
		t.Error("broken JSON read without an error")
	}
	if r.Schemas != 1 || r.DataOnly != 2 {
		t.Errorf("schemas %d, data only %d; want 1 and 2", r.Schemas, r.DataOnly)
	}
}
