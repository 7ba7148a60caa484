// Package clock gives deadlines that change only once a tick, so that a connection which
// sets the same timeout before each request changes its deadline a few times a second,
// not once per request: setting a deadline takes a clock read and a change to the
// runtime's timers.
package clock

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Tick is how often the coarse time moves.
const Tick = 250 * time.Millisecond

// MinCoarse is the shortest timeout given a coarse deadline: a coarse deadline may come up
// to a tick early, which is at most 2.5 % of a timeout this long.
const MinCoarse = 40 * Tick

var (
	coarse atomic.Int64 // Unix nanoseconds, at most a tick old
	start  sync.Once
)

// Deadline returns the deadline timeout from now: for timeouts of at least MinCoarse, a
// coarse one, the same for every call within a tick (and up to a tick early); for shorter
// ones, an exact one.
func Deadline(timeout time.Duration) time.Time {
	if timeout < MinCoarse {
		return time.Now().Add(timeout)
	}
	return Coarse().Add(timeout)
}

// Coarse returns the time to within a tick (up to a tick behind): for measuring spans of
// at least MinCoarse without a clock read each time.
func Coarse() time.Time {
	start.Do(run)
	return time.Unix(0, coarse.Load())
}

// run starts the ticking, for the life of the process.
func run() {
	coarse.Store(time.Now().UnixNano())
	go func() {
		for t := range time.Tick(Tick) {
			coarse.Store(t.UnixNano())
		}
	}()
}

// HTTPDate returns the current time as an HTTP Date field's value (http.TimeFormat),
// formatted once a second rather than for every response.
func HTTPDate() string {
	now := time.Now().Unix()
	if d := lastDate.Load(); d != nil && d.unix == now {
		return d.text
	}
	d := &dateText{unix: now, text: time.Unix(now, 0).UTC().Format(http.TimeFormat)}
	lastDate.Store(d)
	return d.text
}

type dateText struct {
	unix int64
	text string
}

var lastDate atomic.Pointer[dateText]
