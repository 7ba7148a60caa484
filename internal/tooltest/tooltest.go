// Package tooltest lets tests that run a real tool (curl, nghttp, etcd, ...) say so: the
// test is skipped where the tool is missing, and fails under CI, which installs it.
package tooltest

import (
	"os"
	"os/exec"
	"testing"
)

// Need skips t when the program name is not on PATH, or fails it when the environment
// variable CI is set (a missing tool must not pass for a skipped test there). install,
// when not empty, says how to get it (a Debian package).
func Need(t testing.TB, name, install string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		hint := ""
		if install != "" {
			hint = " (" + install + ")"
		}
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed%s: %v", name, hint, err)
		}
		t.Skipf("%s is not installed%s", name, hint)
	}
}
