//go:build !(cgo && linux)

package rsasign

import (
	"crypto"
	"errors"
)

// Available reports whether libcrypto was loaded; in this build it never is.
func Available() (ok bool, detail string) {
	return false, "built without cgo or not on Linux"
}

// Wrap returns key: in this build Go makes every signature.
func Wrap(key crypto.PrivateKey) crypto.PrivateKey { return key }

// lcKey stands for libcrypto's copy of a key, which this build never has.
type lcKey struct{}

func (*lcKey) sign(signParams, []byte, int) ([]byte, error) {
	return nil, errors.New("rsasign: built without libcrypto")
}
