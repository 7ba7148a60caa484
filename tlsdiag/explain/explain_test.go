package explain

import (
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCombination(t *testing.T) {
	runCases(t, []explainCase{
		{name: "a specific message narrows a general one on another line", system: Java, ids: []string{hostname},
			text: javaPKIXTrace + "\nCaused by: java.security.cert.CertificateException: No subject alternative DNS name matching backend.test found."},
		{name: "a wrapper adds nothing on the same line", system: Curl, ids: []string{hostname, sniRequired},
			text: "curl: (35) OpenSSL/3.0.19: error:0A000458:SSL routines::tlsv1 unrecognized name"},
		{name: "a trace line narrows the alert", system: Java, ids: []string{ccMissing, ccIssuer},
			text: "*** CertificateRequest\nwarning: no suitable certificate found - continuing without client authentication\n" +
				"javax.net.ssl.SSLHandshakeException: Received fatal alert: bad_certificate"},
		{name: "the outermost program names the match", system: Apigee, ids: []string{missingAnchor, incomplete, wrongInter, hostname},
			text: `{"fault":{"faultstring":"SSL Handshake failed sun.security.validator.ValidatorException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target","detail":{"errorcode":"messaging.adaptors.http.flow.SslHandshakeFailed"}}}`},
		{name: "repeated lines count once", system: Go, ids: []string{hostname},
			text: strings.Repeat(`Get "https://backend.test:8443/": tls: failed to verify certificate: x509: certificate is valid for other.test, not backend.test`+"\n", 50)},
		{name: "unrelated failures stay apart, in the order of the text", system: Curl, ids: []string{unreachable, notTLS},
			text: "curl: (7) Failed to connect to a.test port 443 after 1 ms: Connection refused\ncurl: (35) error:0A00010B:SSL routines::wrong version number"},
	})
}

func TestExplainOrdersAndDeduplicates(t *testing.T) {
	ms := Explain("curl: (7) Failed to connect to a.test port 443 after 1 ms: Connection refused\n" +
		"curl: (35) error:0A00010B:SSL routines::wrong version number\n" +
		"curl: (7) Failed to connect to a.test port 443 after 1 ms: Connection refused")
	if len(ms) != 2 {
		t.Fatalf("got %d matches; want 2: %+v", len(ms), ms)
	}
	for _, m := range ms {
		if len(m.Causes) != 1 || m.Causes[0].Likelihood != High {
			t.Errorf("%s: causes %v; want one, high", m.Pattern, m.Causes)
		}
	}
}

func TestLongLineIsCut(t *testing.T) {
	long := strings.Repeat("x", 5000) + " curl: (60) SSL certificate problem: certificate has expired " + strings.Repeat("y", 5000)
	ms := Explain(long)
	if len(ms) != 1 {
		t.Fatalf("got %d matches; want 1", len(ms))
	}
	if l := ms[0].Line; len(l) > 2*maxShown+8 || !strings.Contains(l, "certificate has expired") {
		t.Errorf("line = %q (%d bytes); want the message, cut", l, len(l))
	}
}

func TestNothingRecognised(t *testing.T) {
	random := make([]byte, 64<<10)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"empty":      "",
		"blank":      "\n\n   \t\n",
		"access log": `127.0.0.1 - - [01/May/2024:10:00:00 +0000] "GET /index.html HTTP/1.1" 200 612 "-" "curl/8.5.0"`,
		"java NPE": "Exception in thread \"main\" java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"s\" is null\n" +
			"\tat Main.main(Main.java:3)",
		"go panic":           "panic: runtime error: index out of range [3] with length 3\n\ngoroutine 1 [running]:\nmain.main()\n\t/tmp/x.go:5 +0x1d",
		"words":              "the certificate of the company was renewed; the handshake at the meeting failed to impress",
		"python":             "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\nZeroDivisionError: division by zero",
		"nginx notice":       "2024/05/01 10:00:00 [notice] 12#12: signal process started",
		"successful openssl": "CONNECTED(00000003)\ndepth=1 CN = Root\nverify return:1\n    Verify return code: 0 (ok)",
		"binary":             string(random),
	} {
		if ms := Explain(text); len(ms) != 0 {
			t.Errorf("%s: got %+v; want no match", name, ms)
		}
	}
}

func TestInputIsBounded(t *testing.T) {
	message := "curl: (60) SSL certificate problem: certificate has expired\n"
	filler := strings.Repeat("2024/05/01 10:00:00 [info] 12#12: *1 an ordinary log line of no interest\n", (2<<20)/72)
	start := time.Now()
	if ms := Explain(filler + message); len(ms) != 0 {
		t.Errorf("a message after the first MiB was read: %+v", ms)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("2 MiB took %v", d)
	}
	if ms := Explain(message + filler); len(ms) != 1 {
		t.Errorf("the message before the filler: got %d matches; want 1", len(ms))
	}
	lines := strings.Repeat("x\n", MaxLines)
	if ms := Explain(lines + message); len(ms) != 0 {
		t.Errorf("a message after line %d was read", MaxLines)
	}
	if ms := Explain(strings.Repeat("x\n", MaxLines-1) + message); len(ms) != 1 {
		t.Errorf("a message on line %d was not read", MaxLines)
	}
}

func TestNext(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"curl: (7) Failed to connect to backend.test port 8443 after 0 ms: Connection refused", "tlsgate doctor backend.test:8443"},
		{`requests.exceptions.SSLError: HTTPSConnectionPool(host='api.test', port=443): Max retries exceeded with url: / (Caused by SSLError(SSLError(1, '[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)')))`,
			"tlsgate doctor api.test:443"},
		{"javax.net.ssl.SSLHandshakeException: Received fatal alert: protocol_version", "tlsgate doctor --scan HOST:PORT"},
		{`Get "https://[::1]:8443/": remote error: tls: handshake failure`, "tlsgate doctor --client-cert CLIENT.pem --client-key CLIENT.key --scan [::1]:8443"},
		{"javax.net.ssl.SSLHandshakeException: Received fatal alert: unrecognized_name", "tlsgate doctor --truststore TRUSTSTORE.jks --truststore-password PASSWORD --no-sni HOST:PORT"},
	} {
		ms := Explain(c.text)
		if len(ms) == 0 {
			t.Errorf("%q: no match", c.text)
			continue
		}
		if ms[0].Next != c.want {
			t.Errorf("%q: next = %q; want %q", c.text, ms[0].Next, c.want)
		}
	}
}

func TestMatchIDs(t *testing.T) {
	m := Match{Causes: []Candidate{{ID: hostname, Likelihood: High}, {ID: sniDefault, Likelihood: Low}}}
	if got := m.IDs(); !slices.Equal(got, []string{hostname, sniDefault}) {
		t.Errorf("IDs() = %v", got)
	}
}
