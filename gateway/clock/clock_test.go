package clock

import (
	"net/http"
	"testing"
	"time"
)

func TestDeadline(t *testing.T) {
	// Short timeouts are exact.
	before := time.Now()
	d := Deadline(time.Second)
	if d.Before(before.Add(time.Second)) || d.After(time.Now().Add(time.Second)) {
		t.Errorf("Deadline(1s) = %v; want within [%v, now+1s]", d, before.Add(time.Second))
	}
	// Long ones are at most a tick early, never late, and equal within a tick.
	const long = time.Minute
	before = time.Now()
	d1, d2 := Deadline(long), Deadline(long)
	after := time.Now()
	if d1.Before(before.Add(long-Tick-10*time.Millisecond)) || d1.After(after.Add(long)) {
		t.Errorf("Deadline(1m) = %v; want within a tick before %v", d1, before.Add(long))
	}
	if d2.Before(d1) {
		t.Errorf("Deadline went back: %v, then %v", d1, d2)
	}
	// It moves: after two ticks, a later deadline.
	time.Sleep(2*Tick + 50*time.Millisecond)
	if d3 := Deadline(long); !d3.After(d1) {
		t.Errorf("Deadline(1m) after two ticks = %v; want after %v", d3, d1)
	}
}

// TestHTTPDate: the Date value parses as http.TimeFormat and is the current second.
func TestHTTPDate(t *testing.T) {
	before := time.Now().Truncate(time.Second)
	d, err := time.Parse(http.TimeFormat, HTTPDate())
	if err != nil {
		t.Fatalf("HTTPDate() = %q: %v", HTTPDate(), err)
	}
	if after := time.Now(); d.Before(before) || d.After(after) {
		t.Errorf("HTTPDate() = %v; want between %v and %v", d, before, after)
	}
}
