package h2

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsgate/tlsgate/internal/tooltest"
)

// javaClient is a client on Java's own HTTP/2 stack (java.net.http over JSSE): a GET,
// then twenty at once on the same connection, then a POST of 200 000 bytes whose digest the server
// returns. It prints one line per answer: the protocol version, the status and the body.
const javaClient = `
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

public class H2Client {
    public static void main(String[] args) throws Exception {
        HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
        // One request first: the client opens its connection, and the twenty share it.
        HttpResponse<String> first = c.send(HttpRequest.newBuilder(URI.create(args[0] + "/get")).build(),
            HttpResponse.BodyHandlers.ofString());
        System.out.println(first.version() + " " + first.statusCode() + " " + first.body());
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            all.add(c.sendAsync(HttpRequest.newBuilder(URI.create(args[0] + "/get?" + i)).build(),
                HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> f : all) {
            HttpResponse<String> r = f.get();
            System.out.println(r.version() + " " + r.statusCode() + " " + r.body());
        }
        byte[] body = new byte[200000];
        for (int i = 0; i < body.length; i++) body[i] = (byte) (i % 251);
        HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create(args[0] + "/sum"))
            .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
        System.out.println(r.version() + " " + r.statusCode() + " " + r.body());
    }
}
`

// TestJavaClient: Java's HTTP/2 client (java.net.http, JSSE) gets an answer, then twenty
// at once on the same connection, and posts a body whose digest comes back right.
func TestJavaClient(t *testing.T) {
	tooltest.Need(t, "java", "")
	tooltest.Need(t, "keytool", "")
	ts, ca := toolServer(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "trust.p12")
	run(t, "keytool", "-importcert", "-noprompt", "-alias", "root", "-file", ca, "-keystore", store,
		"-storetype", "PKCS12", "-storepass", "changeit")
	src := filepath.Join(dir, "H2Client.java")
	if err := os.WriteFile(src, []byte(javaClient), 0o600); err != nil {
		t.Fatal(err)
	}
	out := run(t, "java", "-Djavax.net.ssl.trustStore="+store, "-Djavax.net.ssl.trustStorePassword=changeit",
		"-Djavax.net.ssl.trustStoreType=PKCS12", src, "https://"+ts.addr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 22 {
		t.Fatalf("java printed %d lines; want 22:\n%s", len(lines), out)
	}
	for _, l := range lines[:21] {
		if l != "HTTP_2 200 hello h2" {
			t.Errorf("a GET answered %q; want \"HTTP_2 200 hello h2\"", l)
		}
	}
	if want := "HTTP_2 200 " + sumOf(200000); lines[21] != want {
		t.Errorf("the POST answered %q; want %q", lines[21], want)
	}
	if n := ts.conns.Load(); n != 1 {
		t.Errorf("the client opened %d connections; want 1", n)
	}
}

// sumOf is the /sum answer for the Java client's body of n bytes (byte i is i mod 251).
func sumOf(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return fmt.Sprintf("%d %x", n, sha256.Sum256(b))
}
