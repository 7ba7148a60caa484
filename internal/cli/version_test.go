package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"version"}, &out, &errb); code != ExitOK {
		t.Fatalf("exit %d; want 0 (stderr %q)", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "tlsgate ") {
		t.Errorf("got %q; want a line starting with tlsgate", out.String())
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string // expected in stdout
		err  string // expected in stderr
	}{
		{nil, ExitUsage, "", "Commands:"},
		{[]string{"help"}, ExitOK, "doctor", ""},
		{[]string{"nosuch"}, ExitUsage, "", `unknown command "nosuch"`},
		{[]string{"doctor", "--help"}, ExitOK, "Usage: tlsgate doctor", ""},
		{[]string{"help", "doctor"}, ExitOK, "--truststore", ""},
		{[]string{"cert", "--help"}, ExitOK, "Usage: tlsgate cert", ""},
		{[]string{"lab", "--help"}, ExitOK, "Usage: tlsgate lab", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), tt.args, &out, &errb)
			if code != tt.code {
				t.Fatalf("exit %d; want %d (stdout %q, stderr %q)", code, tt.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tt.out) {
				t.Errorf("stdout %q; want it to contain %q", out.String(), tt.out)
			}
			if !strings.Contains(errb.String(), tt.err) {
				t.Errorf("stderr %q; want it to contain %q", errb.String(), tt.err)
			}
		})
	}
}

func TestHelpPrintedOnce(t *testing.T) {
	for _, cmd := range []string{"doctor", "cert", "lab", "version"} {
		t.Run(cmd, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := Main(context.Background(), []string{cmd, "--help"}, &out, &errb); code != ExitOK {
				t.Fatalf("exit %d; want 0", code)
			}
			if n := strings.Count(out.String(), "Usage: tlsgate"); n != 1 || errb.Len() != 0 {
				t.Errorf("usage printed %d times on stdout, stderr %q; want once, nothing on stderr", n, errb.String())
			}
		})
	}
}

func TestUnknownFlag(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"doctor", "--nosuch", "a:1"}, &out, &errb); code != ExitUsage {
		t.Fatalf("exit %d; want %d", code, ExitUsage)
	}
	if !strings.Contains(errb.String(), "error: doctor: flag provided but not defined: -nosuch") || !strings.Contains(errb.String(), "hint: see tlsgate doctor --help") {
		t.Errorf("stderr %q; want the error and a hint", errb.String())
	}
}
