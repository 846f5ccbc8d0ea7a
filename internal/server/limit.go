package server

import (
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// clientLimiter keeps one token bucket per non-loopback client address. Idle
// buckets are forgotten so that many distinct clients cannot grow it forever.
type clientLimiter struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	clients map[string]*clientBucket
	swept   time.Time
}

type clientBucket struct {
	l    *rate.Limiter
	seen time.Time
}

// maxClients bounds the table; beyond it the oldest idle entries are swept.
const (
	maxClients   = 10000
	clientIdleAt = 5 * time.Minute
)

func newClientLimiter(perSecond float64) *clientLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &clientLimiter{limit: rate.Limit(perSecond), burst: max(1, int(2*perSecond)), clients: map[string]*clientBucket{}}
}

// allow reports whether a request from remoteAddr may proceed now.
func (c *clientLimiter) allow(remoteAddr string, now time.Time) bool {
	if c == nil {
		return true
	}
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.clients[host]
	if !ok {
		if len(c.clients) >= maxClients || now.Sub(c.swept) > clientIdleAt {
			c.sweep(now)
		}
		b = &clientBucket{l: rate.NewLimiter(c.limit, c.burst)}
		c.clients[host] = b
	}
	b.seen = now
	return b.l.AllowN(now, 1)
}

func (c *clientLimiter) sweep(now time.Time) {
	c.swept = now
	for k, b := range c.clients {
		if now.Sub(b.seen) > clientIdleAt {
			delete(c.clients, k)
		}
	}
}
