package pki

// Policy is what a client refuses in a certificate path beyond what crypto/x509 refuses.
type Policy struct {
	// MinRSABits is the smallest RSA key accepted; 0 means 2048.
	MinRSABits int
	// AllowSHA1 accepts SHA-1 signatures (crypto/x509 refuses them).
	AllowSHA1 bool
}

// MinRSA returns the effective minimum RSA key size.
func (p Policy) MinRSA() int {
	if p.MinRSABits == 0 {
		return 2048
	}
	return p.MinRSABits
}
