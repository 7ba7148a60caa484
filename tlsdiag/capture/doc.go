// Package capture reads the TLS handshakes of a packet capture and turns each connection
// into a transcript and the facts the diagnosis engine judges.
//
// Its subpackages read the file (pcapfile: pcap and pcapng) and reassemble each TCP
// connection's two byte streams (tcpflow). This package reads TLS from those streams: the
// records, across record and segment boundaries and around the bytes the capture lost; the
// handshake messages, across records, under size bounds; SSLv2-compatible ClientHellos;
// streams that are not TLS at all. With a key log (SSLKEYLOGFILE, or the Decryption
// Secrets Blocks of a pcapng file) it decrypts TLS 1.3 records with the traffic keys of
// RFC 8446, section 7: EncryptedExtensions, CertificateRequest, the certificates of both
// sides, Finished, and the alerts that follow the handshake; and the TLS 1.2 records after
// a ChangeCipherSpec, with the keys of RFC 5246, section 6.3, for AEAD suites.
//
// Each connection yields a Connection: a transcript, as Wireshark's packet list would show
// it (time, direction, message), notes on what the capture cannot show (encryption, lost
// bytes), and a tlsdiag.Facts with one attempt, "configured": what the client on the wire
// offered, how far the handshake went, the server's chain, the CertificateRequest, the
// client's certificates, the alerts each side sent and who closed. Facts.Time is when the
// connection started, so certificates are judged at the time of the capture. A Judge runs
// the engine over it with what is known of the client (its truststore, its certificate).
//
// ReadFile does it all for a file, streaming: memory is bounded by the connections open at
// once, not by the file's size. Connections are judged on every core and handed out in the
// order they started.
package capture
