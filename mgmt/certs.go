package mgmt

// Certificate uploads (Edge's rules: at most 50 KB, PEM or DER, a chain leaf first and in
// order, no expired certificate unless ignoreExpiryValidation=true) and Edge's certs
// routes, which name an alias's chain by its certificate name.

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/pki"
)

const (
	// maxChainCerts bounds the certificates of one uploaded chain.
	maxChainCerts = 10
	// maxFormBytes bounds a whole multipart upload: a key file, a certificate file and a
	// password, each at most MaxUploadBytes, and the form's own framing.
	maxFormBytes = 4 * MaxUploadBytes
	// maxFormParts bounds the fields of a multipart upload.
	maxFormParts = 8
)

// pemContentType is the media type of the PEM answers (certificates, chains, CSRs).
const pemContentType = "application/x-pem-file"

// uploadForm holds the fields of a multipart/form-data upload, by name.
type uploadForm map[string][]byte

func isMultipart(r *http.Request) bool { return mediaType(r) == "multipart/form-data" }

// readForm reads a multipart/form-data body, keeping the fields named in want. The whole
// body is bounded by maxFormBytes and every field by MaxUploadBytes, read as it streams:
// nothing larger is ever held in memory or on disk.
func readForm(w http.ResponseWriter, r *http.Request, want ...string) (uploadForm, error) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil, badRequest("Content-Type multipart/form-data needs a boundary parameter")
	}
	if r.ContentLength > maxFormBytes {
		return nil, tooLarge(maxFormBytes)
	}
	mr := multipart.NewReader(http.MaxBytesReader(w, r.Body, maxFormBytes), params["boundary"])
	form := uploadForm{}
	for n := 0; ; n++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return form, nil
		}
		if err != nil {
			return nil, formError(err)
		}
		if n == maxFormParts {
			return nil, badRequest("the form has more than %d fields; send %s", maxFormParts, strings.Join(want, ", "))
		}
		name := p.FormName()
		data, err := io.ReadAll(io.LimitReader(p, MaxUploadBytes+1))
		if err != nil {
			return nil, formError(err)
		}
		known := false
		for _, f := range want {
			known = known || f == name
		}
		label := "a form field"
		if known {
			label = "form field " + name
		}
		if len(data) > MaxUploadBytes {
			return nil, errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge,
				"%s is larger than %d KB, the limit for an uploaded certificate, key or keystore", label, MaxUploadBytes>>10)
		}
		if !known {
			continue
		}
		if _, dup := form[name]; dup {
			return nil, badRequest("form field %s is given twice", name)
		}
		form[name] = data
	}
}

// formError turns an error reading a multipart body into a 413 or a 400. The parser's
// text is not shown: it may quote the body.
func formError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(maxFormBytes)
	}
	return badRequest("malformed multipart/form-data body; send files as curl does with -F field=@file")
}

// readCertBody reads an uploaded certificate: a multipart field (the first of fields
// present) or the raw body. It returns the data and the name to use in messages.
func readCertBody(w http.ResponseWriter, r *http.Request, fields ...string) ([]byte, string, error) {
	if !isMultipart(r) {
		data, err := readBody(r, MaxUploadBytes)
		return data, "the request body", err
	}
	form, err := readForm(w, r, fields...)
	if err != nil {
		return nil, "", err
	}
	for _, f := range fields {
		if data, ok := form[f]; ok {
			return data, f, nil
		}
	}
	return nil, "", badRequest("the form has no %s field holding the certificate", strings.Join(fields, " or "))
}

func invalidCert(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, CodeInvalidCertificate, format, args...)
}

// parseChain reads the certificates of an uploaded field, PEM (every CERTIFICATE block; a
// PEM whose line breaks were lost, as curl -d does, is read too) or DER.
func parseChain(field string, data []byte) ([]*x509.Certificate, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, invalidCert("%s is empty: send a certificate in PEM or DER", field)
	}
	switch f := pki.DetectFormat(data); f {
	case pki.FormatPKCS12, pki.FormatJKS:
		return nil, invalidCert("%s: a %s keystore, not a certificate in PEM or DER; upload a keystore to .../aliases?format=pkcs12", field, strings.ToUpper(f))
	}
	certs, err := pki.ParseCertificates(data)
	if errors.Is(err, pki.ErrNoCertificate) {
		if flat, ok := unflattenPEM(data); ok {
			certs, err = pki.ParseCertificates(flat)
		}
	}
	switch {
	case errors.Is(err, pki.ErrNoCertificate):
		return nil, invalidCert("%s: no certificate in the PEM (-----BEGIN CERTIFICATE-----); a private key goes in keyFile", field)
	case errors.Is(err, pki.ErrUnknownFormat):
		return nil, invalidCert("%s: not a certificate in PEM or DER", field)
	case err != nil:
		return nil, invalidCert("%s: not a certificate in PEM or DER: %v", field, err)
	}
	return certs, nil
}

// unflattenPEM rebuilds the CERTIFICATE blocks of a PEM whose line breaks were replaced or
// removed (Edge's ignoreNewlineValidation accepts such uploads).
func unflattenPEM(data []byte) ([]byte, bool) {
	const begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
	var out []byte
	rest := string(data)
	for {
		i := strings.Index(rest, begin)
		if i < 0 {
			break
		}
		rest = rest[i+len(begin):]
		j := strings.Index(rest, end)
		if j < 0 {
			return nil, false
		}
		b64 := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == '\\' {
				return -1
			}
			return r
		}, strings.ReplaceAll(rest[:j], `\n`, ""))
		der, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, false
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
		rest = rest[j+len(end):]
	}
	return out, len(out) > 0
}

// certLabel names certificate i (0-based) of a chain in messages.
func certLabel(certs []*x509.Certificate, i int) string {
	name := pki.JavaName(certs[i].RawSubject)
	if name == "" {
		name = "serial " + pki.SerialHex(certs[i])
	}
	if i == 0 {
		return fmt.Sprintf("certificate 1 (the leaf, %s)", name)
	}
	return fmt.Sprintf("certificate %d (%s)", i+1, name)
}

// checkChain applies Edge's rules to an uploaded chain, leaf first: at most maxChainCerts
// certificates, each issued (by name and signature) by the next, and none outside its
// validity at now unless ignoreExpiry.
func (s *Server) checkChain(field string, certs []*x509.Certificate, ignoreExpiry bool) error {
	if len(certs) > maxChainCerts {
		return invalidCert("%s holds %d certificates; a chain may hold at most %d", field, len(certs), maxChainCerts)
	}
	for i := 0; i+1 < len(certs); i++ {
		child, next := certs[i], certs[i+1]
		linked := bytes.Equal(child.RawIssuer, next.RawSubject)
		if linked {
			err := next.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature)
			var insecure x509.InsecureAlgorithmError
			linked = err == nil || errors.As(err, &insecure)
		}
		if linked {
			continue
		}
		hint := ""
		for k := range certs {
			if k != i && bytes.Equal(certs[k].RawSubject, child.RawIssuer) {
				hint = fmt.Sprintf(" (its issuer is certificate %d)", k+1)
				break
			}
		}
		return errorf(http.StatusBadRequest, CodeChainOrder,
			"%s: the chain is out of order at position %d: %s is not issued by %s%s; send the leaf first, then each certificate's issuer",
			field, i+2, certLabel(certs, i), certLabel(certs, i+1), hint)
	}
	if ignoreExpiry {
		return nil
	}
	now := s.now()
	for i, c := range certs {
		switch {
		case now.After(c.NotAfter):
			return errorf(http.StatusBadRequest, CodeCertExpired,
				"%s: %s expired on %s; add ignoreExpiryValidation=true to the query to accept it anyway",
				field, certLabel(certs, i), expiryDate(c.NotAfter))
		case now.Before(c.NotBefore):
			return errorf(http.StatusBadRequest, CodeCertNotYetValid,
				"%s: %s is not valid before %s; add ignoreExpiryValidation=true to the query to accept it anyway",
				field, certLabel(certs, i), expiryDate(c.NotBefore))
		}
	}
	return nil
}

// pemChain encodes certificates as the store keeps them: re-encoded from the parsed DER,
// so nothing else of an upload (a key block, say) is ever kept.
func pemChain(certs []*x509.Certificate) string {
	var b strings.Builder
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.String()
}

func writePEM(w http.ResponseWriter, text string) error {
	w.Header().Set("Content-Type", pemContentType)
	w.WriteHeader(http.StatusOK)
	_, err := io.WriteString(w, text)
	return err
}

// checkNewAlias refuses an invalid alias name (Edge allows at most 128 bytes), or an
// alias or certificate name already in use.
func checkNewAlias(l *loadedKeystore, alias, certName string) error {
	if len(alias) > maxAliasLen {
		return badRequest("alias name is %d bytes long; Edge allows at most %d", len(alias), maxAliasLen)
	}
	if err := config.CheckName(config.KindAlias, alias); err != nil {
		return badRequest("%v", err)
	}
	if findAlias(l.ks, alias) >= 0 {
		return errorf(http.StatusConflict, CodeAlreadyExists, "alias %s already exists in keystore %s; delete it first, or PUT a new certificate to it", alias, l.ks.Name)
	}
	if i := findCert(l.ks, certName); i >= 0 {
		return errorf(http.StatusConflict, CodeAlreadyExists, "certificate name %s is already used by alias %s of keystore %s", certName, l.ks.Aliases[i].Name, l.ks.Name)
	}
	return nil
}

// listCerts serves GET .../keystores/{ks}/certs: the certificate names.
func (s *Server) listCerts(w http.ResponseWriter, r *http.Request) error {
	l, err := s.loadKeystore(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewKeystore(l.ks).Certs)
}

// uploadCert serves POST .../keystores/{ks}/certs?alias=NAME: a certificate (or a chain)
// for a truststore, PEM or DER, as the body or a multipart file field. It becomes a
// certificate-only alias NAME whose certificate is named NAME too.
func (s *Server) uploadCert(w http.ResponseWriter, r *http.Request) error {
	l, err := s.loadKeystore(r)
	if err != nil {
		return err
	}
	name := r.URL.Query().Get("alias")
	if name == "" {
		return badRequest("query parameter alias is required: it names the certificate (POST .../certs?alias=myCert)")
	}
	ignoreExpiry, err := queryBool(r, "ignoreExpiryValidation")
	if err != nil {
		return err
	}
	if _, err := queryBool(r, "ignoreNewlineValidation"); err != nil {
		return err
	}
	if err := checkNewAlias(l, name, name); err != nil {
		return err
	}
	data, field, err := readCertBody(w, r, "file", "certFile")
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
	a := config.Alias{Name: name, CertName: name, Cert: pemChain(certs), IgnoreExpiryValidation: ignoreExpiry}
	v, err := s.viewCerts(&a)
	if err != nil {
		return err
	}
	err = s.save(r, l, fmt.Sprintf("upload certificate %s to keystore %s", name, l.ks.Name), func(l *loadedKeystore) error {
		if err := checkNewAlias(l, name, name); err != nil {
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

// certAlias finds the alias of the certificate named in the path (by certificate name,
// or by alias name), or returns Edge's 404.
func (s *Server) certAlias(r *http.Request) (*loadedKeystore, int, error) {
	l, err := s.loadKeystore(r)
	if err != nil {
		return nil, -1, err
	}
	name := r.PathValue("cert")
	i := findCert(l.ks, name)
	if i < 0 {
		return nil, -1, certNotFound(l, name)
	}
	return l, i, nil
}

func certNotFound(l *loadedKeystore, name string) error {
	return notFound(CodeCertNotFound, "certificate %s does not exist in keystore %s; GET .../keystores/%s/certs lists them", name, l.ks.Name, l.ks.Name)
}

// getCert serves GET .../keystores/{ks}/certs/{cert}: Edge's certificate details, judged
// at the server's clock.
func (s *Server) getCert(w http.ResponseWriter, r *http.Request) error {
	l, i, err := s.certAlias(r)
	if err != nil {
		return err
	}
	v, err := s.viewCerts(&l.ks.Aliases[i])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// deleteCert serves DELETE .../keystores/{ks}/certs/{cert}: the alias holding the
// certificate goes with it (an alias is its certificate, and its key if any).
func (s *Server) deleteCert(w http.ResponseWriter, r *http.Request) error {
	l, i, err := s.certAlias(r)
	if err != nil {
		return err
	}
	name := r.PathValue("cert")
	var v certsInfo
	detail := fmt.Sprintf("delete certificate %s (alias %s) of keystore %s", name, l.ks.Aliases[i].Name, l.ks.Name)
	err = s.save(r, l, detail, func(l *loadedKeystore) error {
		i := findCert(l.ks, name)
		if i < 0 {
			return certNotFound(l, name)
		}
		var err error
		if v, err = s.viewCerts(&l.ks.Aliases[i]); err != nil {
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

// exportCert serves GET .../keystores/{ks}/certs/{cert}/export: the chain in PEM.
func (s *Server) exportCert(w http.ResponseWriter, r *http.Request) error {
	l, i, err := s.certAlias(r)
	if err != nil {
		return err
	}
	return writePEM(w, l.ks.Aliases[i].Cert)
}

// selfSignedRequest is Edge's SelfSignedCertificate body. keySize and certValidityInDays
// are read as numbers or as strings of digits, as Edge's examples send both.
type selfSignedRequest struct {
	Alias              string  `json:"alias"`
	KeySize            flexInt `json:"keySize"`
	SigAlg             string  `json:"sigAlg"`
	CertValidityInDays flexInt `json:"certValidityInDays"`
	Subject            struct {
		CountryCode string `json:"countryCode"`
		State       string `json:"state"`
		Locality    string `json:"locality"`
		Org         string `json:"org"`
		OrgUnit     string `json:"orgUnit"`
		CommonName  string `json:"commonName"`
		Email       string `json:"email"`
	} `json:"subject"`
	SubjectAlternativeDNSNames struct {
		SubjectAlternativeName []string `json:"subjectAlternativeName"`
	} `json:"subjectAlternativeDNSNames"`
}

// flexInt is a JSON integer given as a number or a string.
type flexInt int

func (n *flexInt) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(data), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("want an integer, got %s", data)
	}
	*n = flexInt(v)
	return nil
}

// Edge's self-signed certificate limits and signature algorithms.
const (
	maxSelfSignedKeySize = 2048
	minSelfSignedKeySize = 1024 // the smallest RSA key Go generates
	maxValidityDays      = 36500
	maxSANs              = 100
)

var selfSignedAlgs = map[string]x509.SignatureAlgorithm{
	"sha256withrsa": x509.SHA256WithRSA,
	"sha384withrsa": x509.SHA384WithRSA,
	"sha512withrsa": x509.SHA512WithRSA,
}

var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// selfSigned serves format selfsignedcert: a new RSA key and a self-signed certificate
// described by a JSON SelfSignedCertificate body.
func (s *Server) selfSigned(r *http.Request, alias string) (*upload, error) {
	if mt := mediaType(r); mt != "" && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return nil, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia,
			"format selfsignedcert takes a JSON SelfSignedCertificate body (Content-Type: application/json)")
	}
	data, err := readBody(r, MaxUploadBytes)
	if err != nil {
		return nil, err
	}
	var req selfSignedRequest
	if err := decodeJSON(data, &req); err != nil {
		return nil, err
	}
	if alias != "" && req.Alias != "" && alias != req.Alias {
		return nil, badRequest("alias %q in the body differs from alias %q in the query", req.Alias, alias)
	}
	bits := int(req.KeySize)
	if bits == 0 {
		bits = maxSelfSignedKeySize
	}
	if bits < minSelfSignedKeySize || bits > maxSelfSignedKeySize {
		return nil, badRequest("keySize %d: Edge generates RSA keys of at most %d bits (default %d); at least %d", bits, maxSelfSignedKeySize, maxSelfSignedKeySize, minSelfSignedKeySize)
	}
	algName := req.SigAlg
	if algName == "" {
		algName = "SHA256withRSA"
	}
	alg, ok := selfSignedAlgs[strings.ToLower(algName)]
	if !ok {
		return nil, badRequest("sigAlg %q: want SHA256withRSA, SHA384withRSA or SHA512withRSA", req.SigAlg)
	}
	days := int(req.CertValidityInDays)
	if days == 0 {
		days = 365
	}
	if days < 1 || days > maxValidityDays {
		return nil, badRequest("certValidityInDays %d: want 1 to %d (default 365)", days, maxValidityDays)
	}
	subj := req.Subject
	if strings.TrimSpace(subj.CommonName) == "" {
		return nil, badRequest("subject.commonName is required")
	}
	if subj.CountryCode != "" && len(subj.CountryCode) != 2 {
		return nil, badRequest("subject.countryCode %q: want a two-letter country code", subj.CountryCode)
	}
	sans := req.SubjectAlternativeDNSNames.SubjectAlternativeName
	if len(sans) > maxSANs {
		return nil, badRequest("subjectAlternativeDNSNames: %d names; at most %d", len(sans), maxSANs)
	}
	for i, n := range sans {
		if strings.TrimSpace(n) == "" || strings.ContainsAny(n, " /\\@") {
			return nil, badRequest("subjectAlternativeDNSNames.subjectAlternativeName[%d] %q is not a DNS name", i, n)
		}
	}
	name := pkix.Name{CommonName: subj.CommonName}
	for _, f := range []struct {
		dst *[]string
		v   string
	}{{&name.Country, subj.CountryCode}, {&name.Province, subj.State}, {&name.Locality, subj.Locality},
		{&name.Organization, subj.Org}, {&name.OrganizationalUnit, subj.OrgUnit}} {
		if f.v != "" {
			*f.dst = []string{f.v}
		}
	}
	if subj.Email != "" {
		name.ExtraNames = append(name.ExtraNames, pkix.AttributeTypeAndValue{Type: oidEmailAddress, Value: subj.Email})
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("generating an RSA key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := s.now().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial.Add(serial, big.NewInt(1)),
		Subject:               name,
		NotBefore:             now,
		NotAfter:              now.AddDate(0, 0, days),
		DNSNames:              sans,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		SignatureAlgorithm:    alg,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, badRequest("creating the self-signed certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &upload{certs: []*x509.Certificate{cert}, key: key, field: "the self-signed certificate", alias: req.Alias}, nil
}
