package app

import (
	"flag"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/server"
)

// webLimits are the flags that bound what HTTP clients can make the daemon
// hold, and the browser-origin protection (docs/reliability.md).
type webLimits struct {
	allowCrossSite   bool
	maxInflightBytes int64
	readTimeout      time.Duration
	idleTimeout      time.Duration
}

func webLimitFlags(fs *flag.FlagSet) *webLimits {
	l := &webLimits{}
	fs.BoolVar(&l.allowCrossSite, "web.allow-cross-site", false, "accept POSTs a browser marks as cross-site and ingest in any content type; off, a web page the user visits cannot post events")
	fs.Int64Var(&l.maxInflightBytes, "web.max-inflight-bytes", server.DefaultMaxInflightBytes, "request body bytes ingest holds at once, for all clients together (loopback included); more wait their turn")
	fs.DurationVar(&l.readTimeout, "web.read-timeout", time.Minute, "longest time to read a request, headers and body (streams are exempt)")
	fs.DurationVar(&l.idleTimeout, "web.idle-timeout", 2*time.Minute, "how long an idle kept-alive connection is kept")
	return l
}
