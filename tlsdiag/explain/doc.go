// Package explain maps error messages of other systems to the candidate causes of the catalog.
//
// The knowledge base is data: one pattern per message of Java (JSSE), OpenSSL, curl, Go,
// Node.js, Python, nginx, Envoy, Apigee and browsers, each with what the message means, the
// causes it leaves open ranked by likelihood, and the check that tells them apart. Explain
// reads a paste (one line, a stack trace with its "Caused by" lines, a log excerpt, curl -v
// output, a JSON fault), finds the decisive lines and combines what they say: a specific
// message narrows a general one ("No subject alternative DNS name matching" within a PKIX
// failure leaves only hostname.mismatch), and a trace line that is no failure by itself
// (a CertificateRequest, an empty client Certificate) narrows the failure it accompanies.
//
// The tables are kb_<system>.go; alerts.go and kb_openssl.go hold the TLS alerts and
// OpenSSL's reason strings and verification errors, which the tables of curl, Node,
// Python, nginx and Envoy reuse in their own frames. Every entry carries an example of its
// message, and the tests hold the tables to the messages real programs printed on this
// machine (testdata/corpus) and to the candidates testdata/expected.json lists for each.
package explain
