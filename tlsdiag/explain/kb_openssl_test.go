package explain

import "testing"

func TestOpenSSL(t *testing.T) {
	runCases(t, []explainCase{
		{name: "s_client", system: OpenSSL, ids: []string{incomplete, missingAnchor, wrongInter, emptyStore},
			text: `CONNECTED(00000003)
depth=0 CN = backend.test
verify error:num=20:unable to get local issuer certificate
verify return:1
depth=0 CN = backend.test
verify error:num=21:unable to verify the first certificate
verify return:1
---
    Verify return code: 21 (unable to verify the first certificate)`,
			line: "Verify return code: 21"},
		{name: "s_client one verify error", system: OpenSSL, ids: []string{incomplete, missingAnchor, wrongInter, emptyStore},
			text: "    Verify return code: 21 (unable to verify the first certificate)"},
		{name: "openssl verify at an intermediate", system: OpenSSL, ids: []string{missingAnchor, incomplete, emptyStore},
			text: "CN = Lab Intermediate CA\nerror 20 at 1 depth lookup: unable to get local issuer certificate\nerror server.pem: verification failed"},
		{name: "hostname, maybe without server_name", system: OpenSSL, ids: []string{hostname, sniDefault},
			text: "verify error:num=62:hostname mismatch"},
		{name: "expired", system: OpenSSL, ids: []string{expired}, text: "verify error:num=10:certificate has expired\nnotAfter=Oct 23 16:54:50 2026 GMT"},
		{name: "alert by number", system: OpenSSL, ids: []string{protocol},
			text: "40C710971E7F0000:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../ssl/record/rec_layer_s3.c:1601:SSL alert number 70"},
		{name: "certificate required, after a verified chain", system: OpenSSL, ids: []string{ccMissing},
			text: `CONNECTION ESTABLISHED
Protocol version: TLSv1.3
Verification: OK
4027A5D0107F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../ssl/record/rec_layer_s3.c:1601:SSL alert number 116`},
		{name: "server side: no shared cipher", system: OpenSSL, ids: []string{cipher, inCipher},
			text: "40E7:error:0A0000C1:SSL routines:tls_post_process_client_hello:no shared cipher:../ssl/statem/statem_srvr.c:2220:"},
		{name: "refused", system: OpenSSL, ids: []string{unreachable},
			text: "40572CE7FD7E0000:error:8000006F:system library:BIO_connect:Connection refused:../crypto/bio/bio_sock2.c:117:calling connect()\nconnect:errno=111"},
		{name: "key", system: OpenSSL, ids: []string{ccKey},
			text: "error setting private key\n4017A4A2B27F0000:error:05800074:x509 certificate routines:X509_check_private_key:key values mismatch:../crypto/x509/x509_cmp.c:403:"},
		{name: "empty CA file", system: OpenSSL, ids: []string{emptyStore},
			text: "40B7C1E21B7F0000:error:05800088:x509 certificate routines:X509_load_cert_crl_file_ex:no certificate or crl found:../crypto/x509/by_file.c:252:"},
		{name: "TLS 1.0 server refused by the security level", system: OpenSSL, ids: []string{protocol, cipher},
			text: "4097D684397F0000:error:0A00014D:SSL routines:tls_process_key_exchange:legacy sigalg disallowed or unsupported:../ssl/statem/statem_clnt.c:2254:"},
	})
}
