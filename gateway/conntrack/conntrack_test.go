package conntrack

import (
	"slices"
	"testing"
)

// TestSet: connections are added until Shutdown; Shutdown's channel closes when the last
// one goes (nil when none is left); Close reaches every connection and refuses new ones.
func TestSet(t *testing.T) {
	var s Set[int]
	if s.Shutdown() != nil {
		t.Fatal("Shutdown of an empty set returned a channel")
	}
	if s.Add(1) {
		t.Fatal("Add succeeded after Shutdown")
	}

	var s2 Set[int]
	for i := range 3 {
		if !s2.Add(i) {
			t.Fatalf("Add(%d) refused", i)
		}
	}
	empty := s2.Shutdown()
	if empty == nil || s2.Add(9) || !s2.ShuttingDown() {
		t.Fatal("after Shutdown: want a channel, Add refused, ShuttingDown true")
	}
	var seen []int
	s2.Each(func(c int) { seen = append(seen, c) })
	if slices.Sort(seen); !slices.Equal(seen, []int{0, 1, 2}) {
		t.Fatalf("Each saw %v; want [0 1 2]", seen)
	}
	for i := range 3 {
		select {
		case <-empty:
			t.Fatalf("the channel closed with %d connections left", 3-i)
		default:
		}
		s2.Remove(i)
	}
	select {
	case <-empty:
	default:
		t.Fatal("the channel is still open after the last connection went")
	}

	var s3 Set[string]
	s3.Add("a")
	s3.Add("b")
	var closed []string
	s3.Close(func(c string) { closed = append(closed, c) })
	if slices.Sort(closed); !slices.Equal(closed, []string{"a", "b"}) || s3.Add("c") {
		t.Fatalf("Close reached %v (want [a b]) and must refuse new connections", closed)
	}
}
