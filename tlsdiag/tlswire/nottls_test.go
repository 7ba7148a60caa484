package tlswire

import "testing"

func TestGuessProtocol(t *testing.T) {
	tests := []struct{ in, want string }{
		{"HTTP/1.1 400 Bad Request\r\n", "HTTP"},
		{"GET / HTTP/1.1\r\n", "HTTP"},
		{"<html><body>", "HTTP"},
		{"PRI * HTTP/2.0\r\n", "HTTP/2"},
		{"SSH-2.0-OpenSSH_9.2\r\n", "SSH"},
		{"220 mail.example ESMTP\r\n", "SMTP"},
		{"220 ProFTPD FTP server\r\n", "FTP"},
		{"220 (vsFTPd 3.0.5)\r\n", "FTP"},
		{"+OK POP3 ready\r\n", "POP3"},
		{"* OK IMAP4rev1\r\n", "IMAP"},
		{"\x80\x2e\x01", "SSLv2"},
		{"\x00\x01", "unknown"},
	}
	for _, tt := range tests {
		if got := GuessProtocol([]byte(tt.in)); got != tt.want {
			t.Errorf("GuessProtocol(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestPrintable(t *testing.T) {
	if got, want := Printable([]byte("A\r\n\t\x00\\z")), `A\r\n\t\x00\\z`; got != want {
		t.Errorf("Printable = %q; want %q", got, want)
	}
}
