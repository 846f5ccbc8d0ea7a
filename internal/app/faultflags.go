package app

import (
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/claudehooks/claude-hooks-exporter/internal/server"
)

// webLimits are the flags that bound what HTTP clients can make the daemon
// hold, and the browser-origin protection (docs/reliability.md).
type webLimits struct {
	allowCrossSite   bool
	maxInflightBytes byteSize
	readTimeout      time.Duration
	idleTimeout      time.Duration
}

func webLimitFlags(cmd *kingpin.CmdClause) *webLimits {
	l := &webLimits{maxInflightBytes: byteSize(server.DefaultMaxInflightBytes)}
	cmd.Flag("web.allow-cross-site", "Accept POSTs a browser marks as cross-site and ingest in any content type; off, a web page the user visits cannot post events.").BoolVar(&l.allowCrossSite)
	cmd.Flag("web.max-inflight-bytes", "Request body bytes ingest holds at once, for all clients together (loopback included); more wait their turn.").Default(l.maxInflightBytes.String()).SetValue(&l.maxInflightBytes)
	cmd.Flag("web.read-timeout", "Longest time to read a request, headers and body (streams are exempt).").Default("1m").DurationVar(&l.readTimeout)
	cmd.Flag("web.idle-timeout", "How long an idle kept-alive connection is kept.").Default("2m").DurationVar(&l.idleTimeout)
	return l
}
