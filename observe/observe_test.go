package observe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMessageIDsAreUniqueAndOrdered(t *testing.T) {
	seen := map[string]bool{}
	t0 := time.Now()
	for i := range 1000 {
		id := NewMessageID(t0.Add(time.Duration(i) * time.Millisecond))
		if seen[id] || !strings.HasPrefix(id, "tg-") || len(id) != 27 {
			t.Fatalf("id %q: duplicate or malformed", id)
		}
		seen[id] = true
	}
	a, b := NewMessageID(t0), NewMessageID(t0.Add(time.Second))
	if a[:15] >= b[:15] {
		t.Errorf("%s is not before %s", a, b)
	}
}

func TestFindingsRing(t *testing.T) {
	s := NewFindings(3)
	for i := range 5 {
		s.Put(&Finding{MessageID: fmt.Sprint(i), Cause: "c"})
	}
	for i, want := range []bool{false, false, true, true, true} {
		if _, ok := s.Get(fmt.Sprint(i)); ok != want {
			t.Errorf("finding %d kept %v; want %v", i, ok, want)
		}
	}
	var ids []string
	for _, f := range s.Recent(10) {
		ids = append(ids, f.MessageID)
	}
	if got := strings.Join(ids, ","); got != "4,3,2" {
		t.Errorf("recent %s; want 4,3,2", got)
	}
}

func TestAccessLogLines(t *testing.T) {
	var buf bytes.Buffer
	l := NewAccessLog(&buf)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.Write(&AccessRecord{MessageID: fmt.Sprint(i), Status: 503, FaultCode: "x", Cause: "truststore.missing-anchor"})
		}()
	}
	wg.Wait()
	l.Close()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines; want 50", len(lines))
	}
	for _, line := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil || r["cause"] != "truststore.missing-anchor" || r["status"] != float64(503) {
			t.Fatalf("line %q: %v", line, err)
		}
	}
}
