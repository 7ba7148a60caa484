package probe

import (
	"strings"
	"testing"
)

func TestParseHTTPAnswer(t *testing.T) {
	tests := []struct {
		name, in      string
		status        int
		title         string
		wantNilAnswer bool
	}{
		{name: "nginx missing", in: "HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Type: text/html\r\n\r\n<html>\r\n<head><title>400 No required SSL certificate was sent</title></head>\r\n<body></body></html>",
			status: 400, title: "400 No required SSL certificate was sent"},
		{name: "nginx error", in: "HTTP/1.1 400 Bad Request\r\n\r\n<html><head><title>400 The SSL certificate error</title></head></html>",
			status: 400, title: "400 The SSL certificate error"},
		{name: "ok", in: "HTTP/1.0 200 ok\r\nContent-type: text/html\r\n\r\nhello", status: 200},
		{name: "not http", in: "SSH-2.0-OpenSSH\r\n", wantNilAnswer: true},
		{name: "bad status", in: "HTTP/1.1 abc\r\n\r\n", wantNilAnswer: true},
		{name: "empty", in: "", wantNilAnswer: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := parseHTTPAnswer(strings.NewReader(tt.in))
			if tt.wantNilAnswer {
				if a != nil {
					t.Fatalf("got %+v; want nil", a)
				}
				return
			}
			if a == nil || a.Status != tt.status || a.Title != tt.title {
				t.Fatalf("got %+v; want status %d title %q", a, tt.status, tt.title)
			}
		})
	}
}
