// Package javaclient holds the Java (JSSE) TLS client the lab's recorders compile with javac
// and run against lab servers: HttpsURLConnection with the JVM's default SSLContext.
package javaclient

import _ "embed"

// Source is TLSClient.java; compile it with `javac -d DIR TLSClient.java` and run the class
// TLSClient.
//
//go:embed TLSClient.java
var Source []byte
