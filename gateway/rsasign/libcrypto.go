//go:build cgo && linux

package rsasign

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>

// OpenSSL 3's functions, declared here so that no OpenSSL header is needed.
// Its structures are opaque to this code: every pointer to one is a void *.
static const char *(*p_OpenSSL_version)(int);
static void *(*p_d2i_PrivateKey)(int, void **, const unsigned char **, long);
static void (*p_EVP_PKEY_free)(void *);
static void *(*p_EVP_PKEY_CTX_new)(void *, void *);
static void (*p_EVP_PKEY_CTX_free)(void *);
static int (*p_EVP_PKEY_sign_init)(void *);
static int (*p_EVP_PKEY_CTX_set_rsa_padding)(void *, int);
static int (*p_EVP_PKEY_CTX_set_signature_md)(void *, const void *);
static int (*p_EVP_PKEY_CTX_set_rsa_pss_saltlen)(void *, int);
static const void *(*p_EVP_get_digestbyname)(const char *);
static int (*p_EVP_PKEY_sign)(void *, unsigned char *, size_t *, const unsigned char *, size_t);
static unsigned long (*p_ERR_get_error)(void);
static void (*p_ERR_error_string_n)(unsigned long, char *, size_t);
static void (*p_ERR_clear_error)(void);

#define RSASIGN_EVP_PKEY_RSA 6       // EVP_PKEY_RSA, NID_rsaEncryption
#define RSASIGN_PSS_PADDING 6        // RSA_PKCS1_PSS_PADDING

// The digests signatures are made over, indexed as mdIndex numbers them.
static const void *rsasign_mds[5];

// rsasign_sym looks name up in lib; it writes the failure to err.
static void *rsasign_sym(void *lib, const char *name, const char **err) {
	void *p = dlsym(lib, name);
	if (p == NULL && *err == NULL) {
		*err = name;
	}
	return p;
}

// What rsasign_load returns.
enum {
	RSASIGN_LOADED,
	RSASIGN_NO_LIBRARY, // *what is dlerror's message
	RSASIGN_NO_SYMBOL,  // *what is the missing function
	RSASIGN_NO_DIGEST,  // *what is the missing digest
};

// rsasign_load opens libcrypto and finds its functions and digests.
static int rsasign_load(const char **what) {
	void *lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		*what = dlerror();
		return RSASIGN_NO_LIBRARY;
	}
	const char *err = NULL;
	p_OpenSSL_version = rsasign_sym(lib, "OpenSSL_version", &err);
	p_d2i_PrivateKey = rsasign_sym(lib, "d2i_PrivateKey", &err);
	p_EVP_PKEY_free = rsasign_sym(lib, "EVP_PKEY_free", &err);
	p_EVP_PKEY_CTX_new = rsasign_sym(lib, "EVP_PKEY_CTX_new", &err);
	p_EVP_PKEY_CTX_free = rsasign_sym(lib, "EVP_PKEY_CTX_free", &err);
	p_EVP_PKEY_sign_init = rsasign_sym(lib, "EVP_PKEY_sign_init", &err);
	p_EVP_PKEY_CTX_set_rsa_padding = rsasign_sym(lib, "EVP_PKEY_CTX_set_rsa_padding", &err);
	p_EVP_PKEY_CTX_set_signature_md = rsasign_sym(lib, "EVP_PKEY_CTX_set_signature_md", &err);
	p_EVP_PKEY_CTX_set_rsa_pss_saltlen = rsasign_sym(lib, "EVP_PKEY_CTX_set_rsa_pss_saltlen", &err);
	p_EVP_get_digestbyname = rsasign_sym(lib, "EVP_get_digestbyname", &err);
	p_EVP_PKEY_sign = rsasign_sym(lib, "EVP_PKEY_sign", &err);
	p_ERR_get_error = rsasign_sym(lib, "ERR_get_error", &err);
	p_ERR_error_string_n = rsasign_sym(lib, "ERR_error_string_n", &err);
	p_ERR_clear_error = rsasign_sym(lib, "ERR_clear_error", &err);
	if (err != NULL) {
		*what = err;
		dlclose(lib);
		return RSASIGN_NO_SYMBOL;
	}
	static const char *names[5] = {NULL, "SHA1", "SHA256", "SHA384", "SHA512"};
	for (int i = 1; i < 5; i++) {
		rsasign_mds[i] = p_EVP_get_digestbyname(names[i]);
		if (rsasign_mds[i] == NULL) {
			*what = names[i];
			dlclose(lib);
			return RSASIGN_NO_DIGEST;
		}
	}
	return RSASIGN_LOADED;
}

static const char *rsasign_version(void) { return p_OpenSSL_version(0); }

// rsasign_import parses a PKCS #1 RSAPrivateKey; on failure it returns NULL
// and OpenSSL's first error code in *err.
static void *rsasign_import(const unsigned char *der, long len, unsigned long *err) {
	p_ERR_clear_error();
	void *pkey = p_d2i_PrivateKey(RSASIGN_EVP_PKEY_RSA, NULL, &der, len);
	if (pkey == NULL) {
		*err = p_ERR_get_error();
		p_ERR_clear_error();
	}
	return pkey;
}

static void rsasign_free(void *pkey) { p_EVP_PKEY_free(pkey); }

// The steps of rsasign_sign, as it returns the one that failed.
enum {
	RSASIGN_OK,
	RSASIGN_CTX_NEW,
	RSASIGN_SIGN_INIT,
	RSASIGN_SET_PADDING,
	RSASIGN_SET_MD,
	RSASIGN_SET_SALTLEN,
	RSASIGN_SIGN,
};

// What rsasign_sign returns: the step that failed (RSASIGN_OK if none) with
// OpenSSL's first error code, or the signature's length.
typedef struct {
	int step;
	unsigned long err;
	size_t siglen;
} rsasign_result;

// rsasign_sign makes one signature into sig, of sigsize bytes: padding is an
// RSA_*_PADDING value, md an index into rsasign_mds (0: no digest) and
// saltlen, for PSS, a length or an RSA_PSS_SALTLEN_* value.
static rsasign_result rsasign_sign(void *pkey, int padding, int md, int saltlen,
		const unsigned char *tbs, size_t tbslen, unsigned char *sig, size_t sigsize) {
	rsasign_result r = {RSASIGN_CTX_NEW, 0, sigsize};
	p_ERR_clear_error();
	void *ctx = p_EVP_PKEY_CTX_new(pkey, NULL);
	if (ctx == NULL) {
		goto fail;
	}
	r.step = RSASIGN_SIGN_INIT;
	if (p_EVP_PKEY_sign_init(ctx) <= 0) {
		goto fail;
	}
	r.step = RSASIGN_SET_PADDING;
	if (p_EVP_PKEY_CTX_set_rsa_padding(ctx, padding) <= 0) {
		goto fail;
	}
	r.step = RSASIGN_SET_MD;
	if (md != 0 && p_EVP_PKEY_CTX_set_signature_md(ctx, rsasign_mds[md]) <= 0) {
		goto fail;
	}
	r.step = RSASIGN_SET_SALTLEN;
	if (padding == RSASIGN_PSS_PADDING && p_EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, saltlen) <= 0) {
		goto fail;
	}
	r.step = RSASIGN_SIGN;
	if (p_EVP_PKEY_sign(ctx, sig, &r.siglen, tbs, tbslen) <= 0) {
		goto fail;
	}
	r.step = RSASIGN_OK;
	p_EVP_PKEY_CTX_free(ctx);
	return r;
fail:
	r.err = p_ERR_get_error();
	p_ERR_clear_error();
	p_EVP_PKEY_CTX_free(ctx);
	return r;
}

// rsasign_error_string writes OpenSSL's string for error code e to buf.
static void rsasign_error_string(unsigned long e, char *buf, size_t len) {
	p_ERR_error_string_n(e, buf, len);
}
*/
import "C"

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

var load struct {
	once   sync.Once
	ok     bool
	detail string
}

// Available reports whether libcrypto was loaded. detail is its version, as
// OpenSSL_version(OPENSSL_VERSION) gives it, or why it could not be loaded.
func Available() (ok bool, detail string) {
	load.once.Do(func() {
		var what *C.char
		switch C.rsasign_load(&what) {
		case C.RSASIGN_NO_LIBRARY:
			load.detail = C.GoString(what)
			return
		case C.RSASIGN_NO_SYMBOL:
			load.detail = "libcrypto.so.3 has no " + C.GoString(what)
			return
		case C.RSASIGN_NO_DIGEST:
			load.detail = "libcrypto.so.3 has no digest " + C.GoString(what)
			return
		}
		load.ok, load.detail = true, C.GoString(C.rsasign_version())
	})
	return load.ok, load.detail
}

// Wrap returns a [*Key] that signs with key through libcrypto when key is a
// *rsa.PrivateKey and libcrypto is available. Otherwise, and when libcrypto
// does not accept the key, it returns key unchanged: Wrap does not fail.
func Wrap(key crypto.PrivateKey) crypto.PrivateKey {
	priv, isRSA := key.(*rsa.PrivateKey)
	if !isRSA || priv == nil || len(priv.Primes) != 2 || priv.Validate() != nil {
		return key
	}
	if ok, _ := Available(); !ok {
		return key
	}
	return wrapDER(priv, x509.MarshalPKCS1PrivateKey(priv))
}

// wrapDER returns a *Key for priv, whose PKCS #1 encoding is der, or priv
// itself when libcrypto does not accept der.
func wrapDER(priv *rsa.PrivateKey, der []byte) crypto.PrivateKey {
	lc, err := importKey(der)
	if err != nil {
		importFailures.Add(1)
		return priv
	}
	return &Key{priv: priv, lc: lc}
}

// lcKey holds libcrypto's EVP_PKEY, freed once lcKey is unreachable.
type lcKey struct {
	pkey unsafe.Pointer
}

// importKey gives libcrypto a PKCS #1 RSAPrivateKey.
func importKey(der []byte) (*lcKey, error) {
	if len(der) == 0 {
		return nil, errors.New("rsasign: d2i_PrivateKey: empty key")
	}
	var e C.ulong
	pkey := C.rsasign_import((*C.uchar)(unsafe.SliceData(der)), C.long(len(der)), &e)
	if pkey == nil {
		return nil, opensslError("d2i_PrivateKey", e)
	}
	k := &lcKey{pkey: pkey}
	runtime.AddCleanup(k, func(p unsafe.Pointer) { C.rsasign_free(p) }, pkey)
	return k, nil
}

// opensslError returns the error of OpenSSL's function fn, whose error code
// is e (0 if OpenSSL queued none).
func opensslError(fn string, e C.ulong) error {
	if e == 0 {
		return fmt.Errorf("rsasign: %s failed, with no OpenSSL error queued", fn)
	}
	var buf [256]C.char
	C.rsasign_error_string(e, &buf[0], C.size_t(len(buf)))
	return fmt.Errorf("rsasign: %s: %s", fn, C.GoString(&buf[0]))
}

// stepNames names rsasign_sign's steps, indexed by its return value.
var stepNames = [...]string{
	C.RSASIGN_CTX_NEW:     "EVP_PKEY_CTX_new",
	C.RSASIGN_SIGN_INIT:   "EVP_PKEY_sign_init",
	C.RSASIGN_SET_PADDING: "EVP_PKEY_CTX_set_rsa_padding",
	C.RSASIGN_SET_MD:      "EVP_PKEY_CTX_set_signature_md",
	C.RSASIGN_SET_SALTLEN: "EVP_PKEY_CTX_set_rsa_pss_saltlen",
	C.RSASIGN_SIGN:        "EVP_PKEY_sign",
}

// sign makes a signature of at most size bytes over digest, in one call
// into C.
func (k *lcKey) sign(p signParams, digest []byte, size int) ([]byte, error) {
	sig := make([]byte, size)
	r := C.rsasign_sign(k.pkey, C.int(p.padding), C.int(p.md), C.int(p.saltLen),
		(*C.uchar)(unsafe.SliceData(digest)), C.size_t(len(digest)),
		(*C.uchar)(unsafe.SliceData(sig)), C.size_t(size))
	runtime.KeepAlive(k) // the cleanup must not free pkey during the call
	if r.step != C.RSASIGN_OK {
		name := "libcrypto"
		if int(r.step) < len(stepNames) {
			name = stepNames[r.step]
		}
		return nil, opensslError(name, r.err)
	}
	return sig[:r.siglen], nil
}
