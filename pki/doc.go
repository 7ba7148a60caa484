// Package pki reads certificates and keys and explains why a chain or a host name does not verify.
//
// It reads PEM, DER, PKCS#12 and JKS stores; builds and verifies certificate paths against a
// truststore at a given time and, when no path builds, says which issuer is missing and
// whether the peer sent it, which link does not verify, which certificate is out of its
// validity or uses a refused algorithm; matches host names against a certificate and says
// why each name fails; and renders the Edge certInfo view of a certificate.
package pki
