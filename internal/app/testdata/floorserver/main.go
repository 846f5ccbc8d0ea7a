// Command floorserver is the floor that BenchmarkHTTPFloor measures the
// daemon's HTTP ingest against: a net/http server that answers POST /v1/hooks
// with 204 and does nothing else (-spool="") or only appends the body to a
// spool as the daemon does (-spool=DIR). It prints its address on stdout.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
)

func main() {
	dir := flag.String("spool", "", "spool directory to append each body to; none when empty")
	flag.Parse()
	var w *spool.Writer
	if *dir != "" {
		var err error
		if w, err = spool.OpenWriter(spool.Options{Dir: *dir}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/hooks", func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		if w != nil {
			if err := w.Append(spool.CaptureValid(body, time.Now(), "http", 0)); err != nil {
				http.Error(rw, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		rw.WriteHeader(http.StatusNoContent)
	})
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, ln.Addr())
	out.Flush()
	fmt.Fprintln(os.Stderr, http.Serve(ln, mux))
	os.Exit(1)
}
