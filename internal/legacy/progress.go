package legacy

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

// barWidth is the number of cells of the progress bar.
const barWidth = 30

// Progress reports how far an import has got. On a terminal it redraws one
// line in place (with \r) whenever the shown percentage changes; elsewhere it
// prints nothing until Done. Done always prints a summary line. It is safe for
// concurrent use; write errors are ignored, as progress is only a courtesy.
type Progress struct {
	mu      sync.Mutex
	w       io.Writer
	total   int
	isTTY   bool
	done    int
	shown   int // percentage last drawn, -1 before the first draw
	drawn   bool
	stopped bool
}

// NewProgress returns a Progress over total items writing to w. isTTY says
// whether w is a terminal.
func NewProgress(w io.Writer, total int, isTTY bool) *Progress {
	return &Progress{w: w, total: total, isTTY: isTTY, shown: -1}
}

// Add records n more items done and, on a terminal, redraws the bar when the
// percentage changed.
func (p *Progress) Add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.done += n
	if p.isTTY && p.percent() != p.shown {
		p.draw()
	}
}

// Done finishes the report: on a terminal it draws the final bar and ends its
// line, and in every case it prints a summary line. Later calls do nothing.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.stopped = true
	if p.isTTY {
		if p.total > 0 {
			p.draw()
		}
		if p.drawn {
			fmt.Fprint(p.w, "\n")
		}
	}
	fmt.Fprintf(p.w, "%d of %d files done\n", p.done, p.total)
}

// percent is the share done, capped to 0..100; an empty job is complete.
func (p *Progress) percent() int {
	if p.total <= 0 {
		return 100
	}
	return min(max(p.done*100/p.total, 0), 100)
}

// draw overwrites the current terminal line with the bar.
func (p *Progress) draw() {
	pct := p.percent()
	filled := pct * barWidth / 100
	fmt.Fprintf(p.w, "\r[%s%s] %3d%% %d/%d", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), pct, p.done, p.total)
	p.shown = pct
	p.drawn = true
}
