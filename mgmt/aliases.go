package mgmt

// Aliases: a certificate chain and, for a keystore, the leaf's private key, uploaded in
// one of Edge's four formats. The key is kept only sealed under the master key (PKCS#8,
// bound to org, environment, keystore and alias) and never leaves: no route returns it,
// and Edge's privateKeyExportable flag is accepted for its scripts but has no effect.

import (
	"archive/zip"
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/pki"
)

// maxAliasLen is Edge's limit on an alias name.
const maxAliasLen = 128

// upload is what an alias upload yields: the chain, leaf first, and the leaf's private
// key (nil for a certificate only).
type upload struct {
	certs []*x509.Certificate
	key   crypto.PrivateKey
	field string // where the chain came from, for messages
	alias string // the alias a selfsignedcert body names
	// keyData is a key still to read (keycertfile, keycertjar), once the chain passed
	// its checks: from keyField, opened with password.
	keyData            []byte
	keyField, password string
}

// createAlias serves POST .../keystores/{ks}/aliases?alias=A&format=F (and Edge's legacy
// POST .../keystores/{ks}/keys?alias=A, a JAR).
func (s *Server) createAlias(w http.ResponseWriter, r *http.Request) error {
	l, err := s.loadKeystore(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	alias, format := q.Get("alias"), strings.ToLower(q.Get("format"))
	if format == "" && strings.HasSuffix(r.URL.Path, "/keys") {
		format = "keycertjar"
	}
	ignoreExpiry, err := queryBool(r, "ignoreExpiryValidation")
	if err != nil {
		return err
	}
	// Accepted for Edge's scripts. Lines are read with or without their breaks anyway,
	// and a private key is never exportable here, whatever the flag says.
	for _, flag := range []string{"ignoreNewlineValidation", "privateKeyExportable"} {
		if _, err := queryBool(r, flag); err != nil {
			return err
		}
	}
	if alias != "" {
		if err := checkNewAlias(l, alias, alias+"-cert"); err != nil {
			return err
		}
	}
	var up *upload
	switch format {
	case "keycertfile":
		up, err = readKeyCertFile(w, r)
	case "pkcs12":
		up, err = readPKCS12(w, r)
	case "keycertjar":
		up, err = readKeyCertJar(w, r)
	case "selfsignedcert":
		up, err = s.selfSigned(r, alias)
	case "":
		err = badRequest("query parameter format is required: keycertfile, pkcs12, keycertjar or selfsignedcert")
	default:
		err = badRequest("format %q is not one of keycertfile, pkcs12, keycertjar, selfsignedcert", q.Get("format"))
	}
	if err != nil {
		return err
	}
	if alias == "" {
		alias = up.alias
	}
	if alias == "" {
		return badRequest("query parameter alias is required: it names the new alias (.../aliases?alias=myAlias&format=%s)", format)
	}
	if err := checkNewAlias(l, alias, alias+"-cert"); err != nil {
		return err
	}
	if err := s.checkChain(up.field, up.certs, ignoreExpiry); err != nil {
		return err
	}
	if up.keyData != nil {
		up.key, err = parseKey(up.keyField, up.field, up.certs[0], up.keyData, up.password)
		clear(up.keyData)
		if err != nil {
			return err
		}
	}
	a := config.Alias{Name: alias, CertName: alias + "-cert", Cert: pemChain(up.certs), IgnoreExpiryValidation: ignoreExpiry}
	if up.key != nil {
		if a.SealedKey, err = s.sealKey(l, alias, up.key); err != nil {
			return err
		}
	}
	v, err := s.viewAlias(&a)
	if err != nil {
		return err
	}
	what := "certificate only"
	if up.key != nil {
		what = "with private key"
	}
	err = s.save(r, l, fmt.Sprintf("create alias %s in keystore %s (format %s, %s)", alias, l.ks.Name, format, what),
		func(l *loadedKeystore) error {
			if err := checkNewAlias(l, alias, a.CertName); err != nil {
				return err
			}
			l.ks.Aliases = append(l.ks.Aliases, a)
			return nil
		})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}

// sealKey seals key (as PKCS#8 DER) for alias of the keystore.
func (s *Server) sealKey(l *loadedKeystore, alias string, key crypto.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, CodeInvalidKey, "the private key's type cannot be kept; RSA, ECDSA and Ed25519 keys can")
	}
	defer clear(der)
	return s.sealer.Seal(der, config.SealAD(l.org, l.env, l.ks.Name, alias))
}

// openKey opens the sealed private key of an alias.
func (s *Server) openKey(l *loadedKeystore, a *config.Alias) (crypto.Signer, error) {
	k, err := config.OpenKey(s.sealer, l.org, l.env, l.ks.Name, a)
	if err != nil {
		return nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("keystore %s alias %s: the private key cannot sign", l.ks.Name, a.Name)
	}
	return signer, nil
}

// readUploadForm reads the multipart form of an alias upload in format.
func readUploadForm(w http.ResponseWriter, r *http.Request, format, example string, fields ...string) (uploadForm, error) {
	if !isMultipart(r) {
		return nil, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia,
			"format %s takes multipart/form-data: curl %s", format, example)
	}
	return readForm(w, r, fields...)
}

// formPassword is the password form field, or else Edge's deprecated password query
// parameter.
func formPassword(form uploadForm, r *http.Request) string {
	if p, ok := form["password"]; ok {
		return string(p)
	}
	return r.URL.Query().Get("password")
}

// readKeyCertFile reads format keycertfile: PEM or DER certFile (the chain, leaf first)
// and keyFile with an optional password; certFile alone for a truststore.
func readKeyCertFile(w http.ResponseWriter, r *http.Request) (*upload, error) {
	const example = "-F keyFile=@key.pem -F certFile=@cert.pem [-F password=...] (a truststore takes certFile alone)"
	form, err := readUploadForm(w, r, "keycertfile", example, "keyFile", "certFile", "password")
	if err != nil {
		return nil, err
	}
	certData, ok := form["certFile"]
	if !ok {
		return nil, badRequest("format keycertfile needs a certFile field: curl %s", example)
	}
	certs, err := parseChain("certFile", certData)
	if err != nil {
		return nil, err
	}
	up := &upload{certs: certs, field: "certFile"}
	if keyData, ok := form["keyFile"]; ok {
		up.keyData, up.keyField, up.password = keyData, "keyFile", formPassword(form, r)
	}
	return up, nil
}

// parseKey reads the private key of leaf from an upload field and checks that it is the
// leaf's. Messages never quote the key or the password.
func parseKey(field, certField string, leaf *x509.Certificate, data []byte, password string) (crypto.PrivateKey, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errorf(http.StatusBadRequest, CodeInvalidKey, "%s is empty: send the private key in PEM or DER", field)
	}
	b, err := pki.ParseKeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), data, password)
	encrypted := bytes.Contains(data, []byte("ENCRYPTED"))
	switch {
	case err == nil:
		return b.Key, nil
	case errors.Is(err, pki.ErrKeyMismatch):
		return nil, errorf(http.StatusBadRequest, CodeKeyMismatch,
			"%s: the private key does not belong to certificate %s, the first of %s (the chain goes leaf first)", field, pki.JavaName(leaf.RawSubject), certField)
	case (errors.Is(err, pki.ErrWrongPassword) || encrypted) && password == "":
		return nil, errorf(http.StatusBadRequest, CodeWrongPassword, "%s: the private key is encrypted; send its password in the password field", field)
	case errors.Is(err, pki.ErrWrongPassword) || encrypted:
		return nil, errorf(http.StatusBadRequest, CodeWrongPassword, "%s: wrong password for the private key", field)
	}
	return nil, errorf(http.StatusBadRequest, CodeInvalidKey,
		"%s: not a private key in PEM or DER (PKCS#8, encrypted PKCS#8, PKCS#1 or SEC1)", field)
}

// readPKCS12 reads format pkcs12: file (a PKCS#12 keystore; JKS is read too) and password.
// The first private key entry and its chain are taken.
func readPKCS12(w http.ResponseWriter, r *http.Request) (*upload, error) {
	const example = "-F file=@keystore.p12 -F password=..."
	form, err := readUploadForm(w, r, "pkcs12", example, "file", "password")
	if err != nil {
		return nil, err
	}
	data, ok := form["file"]
	if !ok {
		return nil, badRequest("format pkcs12 needs a file field holding the keystore: curl %s", example)
	}
	if f := pki.DetectFormat(data); f != pki.FormatPKCS12 && f != pki.FormatJKS {
		return nil, badRequest("file: not a PKCS#12 keystore; PEM files go with format=keycertfile (keyFile and certFile)")
	}
	password := formPassword(form, r)
	b, err := pki.ParseKeystore(data, password, "")
	switch {
	case err == nil:
		return &upload{certs: b.Chain, key: b.Key, field: "file"}, nil
	case errors.Is(err, pki.ErrWrongPassword) && password == "":
		return nil, errorf(http.StatusBadRequest, CodeWrongPassword, "file: the keystore is protected; send its password in the password field")
	case errors.Is(err, pki.ErrWrongPassword):
		return nil, errorf(http.StatusBadRequest, CodeWrongPassword, "file: wrong password for the keystore (or its integrity check failed)")
	case errors.Is(err, pki.ErrNoKey):
		return nil, errorf(http.StatusBadRequest, CodeInvalidKey,
			"file: the keystore holds no private key; upload certificates alone with format=keycertfile (certFile) or POST .../certs")
	case errors.Is(err, pki.ErrNoCertificate):
		return nil, errorf(http.StatusBadRequest, CodeKeyMismatch, "file: no certificate of the keystore belongs to its private key")
	}
	return nil, badRequest("file: the keystore does not parse as PKCS#12 or JKS")
}

// readKeyCertJar reads format keycertjar: file, a JAR (zip) whose
// META-INF/descriptor.properties names its certificate (certFile=) and key (keyFile=)
// entries, and password.
func readKeyCertJar(w http.ResponseWriter, r *http.Request) (*upload, error) {
	const example = "-F file=@keycert.jar [-F password=...]"
	form, err := readUploadForm(w, r, "keycertjar", example, "file", "password")
	if err != nil {
		return nil, err
	}
	data, ok := form["file"]
	if !ok {
		return nil, badRequest("format keycertjar needs a file field holding the JAR: curl %s", example)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, badRequest("file: not a JAR (zip) file")
	}
	const descName = "META-INF/descriptor.properties"
	desc, err := jarEntry(zr, descName)
	if err != nil {
		return nil, err
	}
	if desc == nil {
		return nil, badRequest("file: the JAR has no %s naming its certFile= and keyFile= entries", descName)
	}
	props := parseProperties(desc)
	certName, keyName := props["certFile"], props["keyFile"]
	if certName == "" {
		return nil, badRequest("file: %s has no certFile= line naming the certificate entry", descName)
	}
	certData, err := jarEntry(zr, certName)
	if err != nil {
		return nil, err
	}
	if certData == nil {
		return nil, badRequest("file: the JAR has no entry %q, which certFile= of %s names", certName, descName)
	}
	certs, err := parseChain("certFile "+certName, certData)
	if err != nil {
		return nil, err
	}
	up := &upload{certs: certs, field: "certFile " + certName}
	if keyName == "" {
		return up, nil
	}
	keyData, err := jarEntry(zr, keyName)
	if err != nil {
		return nil, err
	}
	if keyData == nil {
		return nil, badRequest("file: the JAR has no entry %q, which keyFile= of %s names", keyName, descName)
	}
	up.keyData, up.keyField, up.password = keyData, "keyFile "+keyName, formPassword(form, r)
	return up, nil
}

// jarEntry reads the entry called name (a leading "/" ignored), at most MaxUploadBytes
// uncompressed; nil when there is none.
func jarEntry(zr *zip.Reader, name string) ([]byte, error) {
	name = strings.TrimPrefix(name, "/")
	for _, f := range zr.File {
		if strings.TrimPrefix(f.Name, "/") != name {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, badRequest("file: JAR entry %q cannot be read", name)
		}
		defer rc.Close()
		data, err := io.ReadAll(io.LimitReader(rc, MaxUploadBytes+1))
		if err != nil {
			return nil, badRequest("file: JAR entry %q cannot be read", name)
		}
		if len(data) > MaxUploadBytes {
			return nil, errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "file: JAR entry %q is larger than %d KB", name, MaxUploadBytes>>10)
		}
		return data, nil
	}
	return nil, nil
}

// parseProperties reads a Java .properties file's simple "key=value" and "key: value"
// lines; comments (# and !) and blank lines are skipped.
func parseProperties(data []byte) map[string]string {
	out := map[string]string{}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			continue
		}
		out[strings.TrimSpace(line[:i])] = strings.TrimSpace(line[i+1:])
	}
	return out
}

// listAliases serves GET .../keystores/{ks}/aliases: the alias names.
func (s *Server) listAliases(w http.ResponseWriter, r *http.Request) error {
	l, err := s.loadKeystore(r)
	if err != nil {
		return err
	}
	out := make([]string, 0, len(l.ks.Aliases))
	for i := range l.ks.Aliases {
		out = append(out, l.ks.Aliases[i].Name)
	}
	return writeJSON(w, http.StatusOK, out)
}

// pathAlias finds the alias named in the path, or returns Edge's 404.
func (s *Server) pathAlias(r *http.Request) (*loadedKeystore, int, error) {
	l, err := s.loadKeystore(r)
	if err != nil {
		return nil, -1, err
	}
	i := findAlias(l.ks, r.PathValue("alias"))
	if i < 0 {
		return nil, -1, aliasNotFound(l, r.PathValue("alias"))
	}
	return l, i, nil
}

// getAlias serves GET .../aliases/{alias}: Edge's Alias JSON.
func (s *Server) getAlias(w http.ResponseWriter, r *http.Request) error {
	l, i, err := s.pathAlias(r)
	if err != nil {
		return err
	}
	v, err := s.viewAlias(&l.ks.Aliases[i])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// deleteAlias serves DELETE .../aliases/{alias}, answering with what was deleted.
func (s *Server) deleteAlias(w http.ResponseWriter, r *http.Request) error {
	l, _, err := s.pathAlias(r)
	if err != nil {
		return err
	}
	name := r.PathValue("alias")
	var v aliasView
	err = s.save(r, l, fmt.Sprintf("delete alias %s of keystore %s", name, l.ks.Name), func(l *loadedKeystore) error {
		i := findAlias(l.ks, name)
		if i < 0 {
			return aliasNotFound(l, name)
		}
		var err error
		if v, err = s.viewAlias(&l.ks.Aliases[i]); err != nil {
			return err
		}
		l.ks.Aliases = append(l.ks.Aliases[:i], l.ks.Aliases[i+1:]...)
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// updateAliasCert serves PUT .../aliases/{alias}: a new certificate chain (PEM or DER, the
// body or a multipart certFile) for the alias. The key stays; the new leaf must carry its
// public key. (Edge warns not to do this to a deployed certificate; here the gateway
// picks the change up, as it does every change.)
func (s *Server) updateAliasCert(w http.ResponseWriter, r *http.Request) error {
	l, i, err := s.pathAlias(r)
	if err != nil {
		return err
	}
	ignoreExpiry, err := queryBool(r, "ignoreExpiryValidation")
	if err != nil {
		return err
	}
	if _, err := queryBool(r, "ignoreNewlineValidation"); err != nil {
		return err
	}
	data, field, err := readCertBody(w, r, "certFile", "file")
	if err != nil {
		return err
	}
	certs, err := parseChain(field, data)
	if err != nil {
		return err
	}
	if err := s.checkChain(field, certs, ignoreExpiry); err != nil {
		return err
	}
	name := l.ks.Aliases[i].Name
	var v aliasView
	err = s.save(r, l, fmt.Sprintf("update the certificate of alias %s of keystore %s", name, l.ks.Name), func(l *loadedKeystore) error {
		i := findAlias(l.ks, name)
		if i < 0 {
			return aliasNotFound(l, name)
		}
		a := l.ks.Aliases[i]
		if a.HasKey() {
			key, err := s.openKey(l, &a)
			if err != nil {
				return err
			}
			if !pki.KeyMatches(certs[0], key) {
				return errorf(http.StatusBadRequest, CodeKeyMismatch,
					"%s: certificate %s does not carry the public key of alias %s; a PUT replaces the certificate only (for a new key, create a new alias)",
					field, pki.JavaName(certs[0].RawSubject), a.Name)
			}
		}
		a.Cert, a.IgnoreExpiryValidation = pemChain(certs), ignoreExpiry
		var err error
		if v, err = s.viewAlias(&a); err != nil {
			return err
		}
		l.ks.Aliases[i] = a
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// getAliasCertificate serves GET .../aliases/{alias}/certificate: the chain in PEM.
func (s *Server) getAliasCertificate(w http.ResponseWriter, r *http.Request) error {
	l, i, err := s.pathAlias(r)
	if err != nil {
		return err
	}
	return writePEM(w, l.ks.Aliases[i].Cert)
}

// getAliasCSR serves GET .../aliases/{alias}/csr: a certificate signing request with the
// leaf's subject and subject alternative names, signed with the alias's key, for renewing
// the certificate with the same key.
func (s *Server) getAliasCSR(w http.ResponseWriter, r *http.Request) error {
	l, i, err := s.pathAlias(r)
	if err != nil {
		return err
	}
	a := &l.ks.Aliases[i]
	if !a.HasKey() {
		return badRequest("alias %s of keystore %s holds a certificate only: there is no private key to sign a CSR with", a.Name, l.ks.Name)
	}
	certs, err := storedChain(a)
	if err != nil {
		return err
	}
	key, err := s.openKey(l, a)
	if err != nil {
		return err
	}
	leaf := certs[0]
	tmpl := &x509.CertificateRequest{
		RawSubject:     leaf.RawSubject,
		DNSNames:       leaf.DNSNames,
		EmailAddresses: leaf.EmailAddresses,
		IPAddresses:    leaf.IPAddresses,
		URIs:           leaf.URIs,
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return fmt.Errorf("keystore %s alias %s: creating the CSR: %w", l.ks.Name, a.Name, err)
	}
	return writePEM(w, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})))
}
