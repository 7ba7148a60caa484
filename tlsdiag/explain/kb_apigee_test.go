package explain

import "testing"

// The fault JSON and log lines of shared/seeds 000, 003 and 004.
func TestApigee(t *testing.T) {
	runCases(t, []explainCase{
		{name: "fault JSON, PKIX", system: Apigee, ids: []string{missingAnchor, incomplete, wrongInter, hostname},
			text: `HTTP/1.1 503 Service Unavailable
{
   "fault":{
      "faultstring":"SSL Handshake failed sun.security.validator.ValidatorException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target",
      "detail":{
         "errorcode":"messaging.adaptors.http.flow.SslHandshakeFailed"
      }
   }
}`,
			next: "--truststore TRUSTSTORE.jks --truststore-password PASSWORD HOST:PORT"},
		{name: "fault code alone", system: Apigee,
			ids:  []string{protocol, cipher, sniRequired, sniDefault, incomplete, wrongInter, missingAnchor, emptyStore, hostname, expired, notYetValid, insecure, ccMissing, ccIssuer, ccRejected, ccExpired, ccKey, notTLS, misordered, unclassified},
			text: "X-Apigee-fault-code | messaging.adaptors.http.flow.SslHandshakeFailed |\nX-Apigee-fault-source | target |"},
		{name: "Message Processor log, bad_certificate", system: Apigee, ids: []string{ccRejected, ccMissing, ccIssuer, ccExpired},
			text: `2017-10-23 05:28:57,813 org:org-name env:env-name api:apiproxy-name rev:1 messageid:id NIOThread@0 ERROR HTTP.CLIENT - HTTPClient$Context.handshakeFailed() : SSLClientChannel[C:10.0.0.5:55102 Remote host:10.0.0.9:443]@65461 useCount=1 bytesRead=0 bytesWritten=0 age=529ms lastIO=529ms handshake failed, message: Received fatal alert: bad_certificate
{ "fault": { "faultstring":"The Service is temporarily unavailable", "detail":{ "errorcode":"messaging.adaptors.http.flow.ServiceUnavailable" } } }`},
		{name: "Message Processor log, General SSLEngine problem and its cause", system: Apigee, ids: []string{missingAnchor, incomplete, wrongInter, hostname},
			text: "NIOThread@1 ERROR HTTP.CLIENT - HTTPClient$Context.handshakeFailed() : SSLClientChannel[Connected: Remote:10.0.0.9:443 Local:192.168.194.140:55102]@64596 useCount=1 bytesRead=0 bytesWritten=0 age=233ms lastIO=233ms isOpen=true handshake failed, message: General SSLEngine problem\n" +
				"Caused by: sun.security.validator.ValidatorException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target",
			next: "10.0.0.9:443"},
		{name: "the Router's 400 page with Apigee's headers", system: Apigee, ids: []string{inCCUntrusted, inCCExpired, inStale, ccRejected, ccExpired},
			text: "HTTP/1.1 400 Bad Request\nX-Apigee-Message-ID: 1234\n<html>\n<head>\n<title>400 The SSL certificate error</title>\n</head>\n<center>nginx</center>"},
		{name: "gateway timeout", system: Apigee, ids: []string{timeout},
			text: `{"fault":{"faultstring":"Gateway Timeout","detail":{"errorcode":"messaging.adaptors.http.flow.GatewayTimeout"}}}`},
	})
}
