package tooltest

import (
	"runtime"
	"testing"
)

// TestNeed: a missing tool fails the test under CI and skips it elsewhere; a present one
// lets it run.
func TestNeed(t *testing.T) {
	for _, tt := range []struct {
		name, ci        string
		failed, skipped bool
	}{
		{"sh", "true", false, false},
		{"no-such-tool-tlsgate", "true", true, false},
		{"no-such-tool-tlsgate", "", false, true},
	} {
		t.Setenv("CI", tt.ci)
		var failed, skipped bool
		done := make(chan struct{})
		go func() { // Fatalf and Skipf end the goroutine, as in a test
			defer close(done)
			ft := &fakeT{TB: t}
			defer func() { failed, skipped = ft.failed, ft.skipped }()
			Need(ft, tt.name, "apt-get install x")
		}()
		<-done
		if failed != tt.failed || skipped != tt.skipped {
			t.Errorf("Need(%q) with CI=%q: failed %v skipped %v; want %v %v", tt.name, tt.ci, failed, skipped, tt.failed, tt.skipped)
		}
	}
}

// fakeT records Fatalf and Skipf instead of ending the real test.
type fakeT struct {
	testing.TB
	failed, skipped bool
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(string, ...any) {
	f.failed = true
	runtime.Goexit()
}
func (f *fakeT) Skipf(string, ...any) {
	f.skipped = true
	runtime.Goexit()
}
