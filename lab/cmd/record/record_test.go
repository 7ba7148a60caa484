package main

import (
	"strings"
	"testing"

	"github.com/tlsgate/tlsgate/lab"
)

func TestNormaliser(t *testing.T) {
	n := newNormaliser([]string{"/tmp/tlsgate-record-1/run-2", "/tmp/tlsgate-record-1"},
		map[string]string{"41234": "PORT", "39999": "PROXY_PORT", "": "AIA_PORT"})
	tests := []struct{ in, want string }{
		{"connect ECONNREFUSED 127.0.0.1:41234", "connect ECONNREFUSED 127.0.0.1:PORT"},
		{`upstream: "https://127.0.0.1:41234/", host: "127.0.0.1:39999"`, `upstream: "https://127.0.0.1:PORT/", host: "127.0.0.1:PROXY_PORT"`},
		{"412345 and x41234 stay", "412345 and x41234 stay"},
		{`File "/tmp/tlsgate-record-1/run-2/client.py", line 3`, `File "/tmp/DIR/client.py", line 3`},
		{"-cp /tmp/tlsgate-record-1/bin TLSClient", "-cp /tmp/DIR/bin TLSClient"},
		{"\x1b[31mred\x1b[0m text", "red text"},
	}
	for _, tt := range tests {
		if got := n.apply(tt.in); got != tt.want {
			t.Errorf("apply(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestMasked(t *testing.T) {
	a := "40E7A9F79E7F0000:error:0A000438:SSL routines:ssl3_read_bytes:tlsv1 alert internal error\n" +
		"2026/11/22 16:48:23 [error] 25320#25320: *2 SSL_do_handshake() failed\n" +
		"curl: (7) Failed to connect after 0 ms"
	b := "4017CD1C717F0000:error:0A000438:SSL routines:ssl3_read_bytes:tlsv1 alert internal error\n" +
		"2026/11/23 01:02:03 [error] 99#99: *7 SSL_do_handshake() failed\n" +
		"curl: (7) Failed to connect after 12 ms"
	if masked(a) != masked(b) {
		t.Errorf("masked texts differ:\n%s\n%s", masked(a), masked(b))
	}
	if masked(a) == masked(strings.Replace(b, "internal error", "unknown ca", 1)) {
		t.Error("masked texts of different messages are equal")
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"curl", "-sS", "--ciphers", "A:B", "it's here", ""})
	want := `curl -sS --ciphers A:B 'it'\''s here' ''`
	if got != want {
		t.Errorf("shellJoin = %s; want %s", got, want)
	}
}

func TestLogLines(t *testing.T) {
	log := "2026/11/22 16:48:23 [notice] 1#1: using the \"epoll\" event method\n" +
		"2026/11/22 16:48:23 [info] 1#1: *1 client 127.0.0.1 closed keepalive connection\n" +
		"2026/11/22 16:48:23 [error] 1#1: *2 upstream SSL certificate does not match \"backend.test\"\n"
	got := logLines(log)
	if want := "2026/11/22 16:48:23 [error] 1#1: *2 upstream SSL certificate does not match \"backend.test\"\n"; got != want {
		t.Errorf("logLines = %q; want %q", got, want)
	}
	if !hasErrorLevel(got) {
		t.Error("hasErrorLevel = false; want true")
	}
}

func TestPageStatus(t *testing.T) {
	page := "<html>\r\n<head><title>400 No required SSL certificate was sent</title></head>\r\n"
	if got := pageStatus(page); got != "400" {
		t.Errorf("pageStatus = %q; want 400", got)
	}
	if got := pageStatus("tlsgate lab\n"); got != "" {
		t.Errorf("pageStatus of a plain body = %q; want none", got)
	}
}

// Every failing scenario is recorded, and every cause it is recorded under is a cause.
func TestPlans(t *testing.T) {
	for _, s := range lab.Scenarios() {
		p := planFor(s)
		if !s.Healthy() && len(p.peers) == 0 {
			t.Errorf("%s: failing scenario not recorded", s.Name)
		}
		for _, peer := range p.peers {
			if !s.PlayedBy(peer) {
				t.Errorf("%s: planned with %s, which cannot play it", s.Name, peer)
			}
		}
		for _, v := range p.variants {
			if s.Healthy() && v.cause == "" {
				t.Errorf("%s: variant %q of a healthy scenario names no cause", s.Name, v.name)
			}
		}
	}
}
