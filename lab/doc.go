// Package lab runs the diagnosable TLS failures as real servers on loopback, for tlsgate lab and the end-to-end tests.
//
// A Scenario is data: what the server does (ServerSpec), how the client is configured
// (ClientSpec), the cause the doctor must name and the key evidence it must show. Three
// peers can play a server: Go's crypto/tls in this process, OpenSSL's s_server and nginx,
// each as a child process with its own files in a temporary directory. Start brings a
// scenario up on 127.0.0.1; Run also probes it and judges the doctor's verdict. The lab's
// certificates are minted once per process, together with an HTTP server on 127.0.0.1 that
// serves the issuers named by the AIA caIssuers URLs of some scenarios' leaves.
package lab
