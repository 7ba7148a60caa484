// Package rsasign signs with RSA private keys through OpenSSL's libcrypto,
// found at run time, for handshake rates Go's constant-time RSA does not reach.
//
// [Wrap] turns a *rsa.PrivateKey into a [*Key] whose Sign method calls
// libcrypto and whose Decrypt method is Go's; put the result in
// tls.Certificate.PrivateKey. With an RSA-2048 key libcrypto signs several
// times as fast as crypto/rsa (three to four times on x86-64), and in a full
// TLS handshake that signature is most of the server's CPU time.
//
// libcrypto.so.3 (OpenSSL 3) is opened with dlopen at first use: building the
// package needs cgo and nothing else, no OpenSSL headers or libraries. Built
// without cgo, on a system other than Linux, or where libcrypto.so.3 cannot
// be loaded, Wrap returns keys unchanged and Go signs; [Available] says which
// case holds and why.
//
// Key.Sign goes through libcrypto for RSASSA-PSS and PKCS #1 v1.5 signatures
// over SHA-1, SHA-256, SHA-384 and SHA-512 digests, and for the PKCS #1 v1.5
// signature over an MD5+SHA-1 digest (crypto.MD5SHA1) of TLS 1.0 and 1.1;
// any other request is passed to the Go key. The rand argument of Sign is not
// used on the libcrypto path: OpenSSL draws PSS salts and RSA blinding
// factors from its own random generator.
package rsasign
