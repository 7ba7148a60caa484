package probe

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// Bounds on fetching missing issuers from caIssuers URLs.
const (
	maxAIAFetches   = 3        // requests per run, following the chain upward
	maxAIABody      = 64 << 10 // bytes of one answer
	aiaFetchWait    = 2 * time.Second
	maxAIARedirects = 2
)

// fetchMissingIssuers fetches what a browser fetches and the configured client does not:
// when chain (as the server sent it, leaf first) fails to build at now because the issuer
// of its top certificate is missing, that issuer from the top certificate's caIssuers URLs
// (RFC 5280, section 4.2.2.1); then, while the certificate fetched is an intermediate
// whose own issuer is missing and which names a URL, that issuer in turn. It makes at most
// maxAIAFetches requests, each bounded to maxAIABody bytes and to aiaFetchWait or what
// remains of ctx, through cfg.Dial and never through a proxy. It returns a record of
// every URL considered, fetched or not; nil when the chain builds or names no URL.
func fetchMissingIssuers(ctx context.Context, cfg Config, chain []*x509.Certificate, now time.Time) []*tlsdiag.AIAFetch {
	if len(chain) == 0 {
		return nil
	}
	f := &aiaFetcher{cfg: cfg}
	defer f.close()
	var (
		out     []*tlsdiag.AIAFetch
		fetched []*x509.Certificate
		tried   = map[string]bool{}
		done    = map[string]bool{} // certificates whose issuer was looked for
	)
	for {
		top := missingIssuerOf(tlsdiag.VerifyServerPath(chain, cfg.Expect, now, fetched))
		if top == nil || done[string(top.Raw)] {
			return out
		}
		done[string(top.Raw)] = true
		var issuer *x509.Certificate
		for _, u := range top.IssuingCertificateURL {
			if tried[u] {
				continue
			}
			if f.requests >= maxAIAFetches || ctx.Err() != nil {
				return out
			}
			tried[u] = true
			rec := &tlsdiag.AIAFetch{URL: u}
			out = append(out, rec)
			if why := notFetched(u); why != "" {
				rec.Error = why
				continue
			}
			cert, err := f.fetchIssuer(ctx, u, top)
			if cert != nil {
				rec.Certificate = cert
				v := pki.Summarize(cert)
				rec.View = &v
			}
			if err != nil {
				rec.Error = err.Error()
				continue
			}
			issuer = cert
			break
		}
		if issuer == nil {
			return out
		}
		fetched = append(fetched, issuer)
	}
}

// missingIssuerOf returns the certificate at the top of an unanchored path whose issuer was
// found nowhere (not sent, not trusted, not among the system roots), or nil.
func missingIssuerOf(r pki.PathResult) *x509.Certificate {
	if r.OK {
		return nil
	}
	for _, p := range r.Problems {
		if p.Kind == pki.ProblemMissingIssuer && p.FoundIn == "" && p.Cert != nil {
			return p.Cert
		}
	}
	return nil
}

// notFetched says why the caIssuers URL u is not fetched, or "" when it is.
func notFetched(u string) string {
	parsed, err := url.Parse(u)
	switch {
	case err != nil:
		return fmt.Sprintf("not fetched: the URL does not parse: %v", err)
	case strings.EqualFold(parsed.Scheme, "http") && parsed.Host != "":
		return ""
	case strings.EqualFold(parsed.Scheme, "https"):
		return "not fetched: only http URLs are fetched; an https URL needs a TLS handshake whose verification may depend on the very issuer that is missing (RFC 5280, section 4.2.2.1, has CAs publish caIssuers over http)"
	case strings.EqualFold(parsed.Scheme, "ldap"), strings.EqualFold(parsed.Scheme, "ldaps"):
		return "not fetched: only http URLs are fetched; LDAP directories are not queried"
	}
	return fmt.Sprintf("not fetched: only http URLs are fetched, not %q", u)
}

// aiaFetcher fetches caIssuers URLs over plain HTTP through the run's dialer.
type aiaFetcher struct {
	cfg       Config
	client    *http.Client
	transport *http.Transport
	requests  int
}

func (f *aiaFetcher) httpClient() *http.Client {
	if f.client == nil {
		f.transport = &http.Transport{
			// Proxy is nil: the environment's proxy settings do not apply, only the dialer
			// decides where traffic goes.
			DialContext:            f.cfg.Dial,
			DisableKeepAlives:      true,
			DisableCompression:     true,
			MaxResponseHeaderBytes: 16 << 10,
		}
		f.client = &http.Client{
			Transport: f.transport,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) > maxAIARedirects {
					return fmt.Errorf("more than %d redirects", maxAIARedirects)
				}
				if req.URL.Scheme != "http" {
					return fmt.Errorf("redirected to %s, which is not an http URL", req.URL)
				}
				return nil
			},
		}
	}
	return f.client
}

func (f *aiaFetcher) close() {
	if f.transport != nil {
		f.transport.CloseIdleConnections()
	}
}

// fetchIssuer fetches u and returns the certificate there that issued child. When the URL
// serves certificates none of which issued child, it returns the first with an error.
func (f *aiaFetcher) fetchIssuer(ctx context.Context, u string, child *x509.Certificate) (*x509.Certificate, error) {
	f.requests++
	wait := aiaFetchWait
	if dl, ok := ctx.Deadline(); ok {
		wait = max(min(wait, time.Until(dl)), 0)
	}
	start := time.Now()
	body, err := f.get(ctx, u, wait)
	f.cfg.Logger.Debug("probe: aia fetch", "target", f.cfg.Target, "url", u, "bytes", len(body),
		"duration", time.Since(start), "error", err)
	if err != nil {
		return nil, err
	}
	certs, err := parseAIABody(body)
	if err != nil {
		return nil, err
	}
	for _, c := range certs {
		if issued(c, child) {
			return c, nil
		}
	}
	return certs[0], fmt.Errorf("the certificate served, %q, did not issue %q", certs[0].Subject.String(), child.Subject.String())
}

// get fetches u within wait and returns at most maxAIABody bytes of a 200 answer.
func (f *aiaFetcher) get(ctx context.Context, u string, wait time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("building the request: %w", err)
	}
	req.Header.Set("User-Agent", "tlsgate-doctor")
	req.Header.Set("Accept", "application/pkix-cert, application/pkcs7-mime, application/x-x509-ca-cert, */*")
	resp, err := f.httpClient().Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fetchError(ctx, wait, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	if resp.ContentLength > maxAIABody {
		return nil, fmt.Errorf("the answer is %d bytes, more than the %d KiB allowed", resp.ContentLength, maxAIABody>>10)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAIABody+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", fetchError(ctx, wait, err))
	}
	if len(body) > maxAIABody {
		return nil, fmt.Errorf("the answer is more than the %d KiB allowed", maxAIABody>>10)
	}
	return body, nil
}

// fetchError names a timeout as one, with the bound that was crossed.
func fetchError(ctx context.Context, wait time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no complete answer within %s", wait.Round(time.Millisecond))
	}
	return err
}

// issued reports whether parent issued child: the names link and parent's key verifies
// child's signature (or, for an algorithm that cannot be checked any more, such as SHA-1,
// the key identifiers match; the path's judgement of the algorithm comes later).
func issued(parent, child *x509.Certificate) bool {
	if !bytes.Equal(parent.RawSubject, child.RawIssuer) {
		return false
	}
	err := parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature)
	var insecure x509.InsecureAlgorithmError
	if errors.As(err, &insecure) || errors.Is(err, x509.ErrUnsupportedAlgorithm) {
		return len(child.AuthorityKeyId) > 0 && bytes.Equal(child.AuthorityKeyId, parent.SubjectKeyId)
	}
	return err == nil
}

// parseAIABody reads what a caIssuers URL serves: a DER certificate or a certs-only CMS
// (PKCS#7) message, DER encoded (RFC 5280, section 4.2.2.1), or, as some servers send,
// either of them in PEM.
func parseAIABody(b []byte) ([]*x509.Certificate, error) {
	if t := bytes.TrimSpace(b); bytes.HasPrefix(t, []byte("-----BEGIN")) {
		return parseAIAPEM(t)
	}
	if c, err := x509.ParseCertificate(b); err == nil {
		return []*x509.Certificate{c}, nil
	}
	certs, err := parsePKCS7Certs(b)
	if err != nil {
		return nil, fmt.Errorf("not a certificate: neither a DER or PEM certificate nor a certs-only PKCS#7 message (%d bytes starting \"%s\")", len(b), tlswire.Printable(b[:min(len(b), 16)]))
	}
	return certs, nil
}

func parseAIAPEM(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("not a certificate: PEM CERTIFICATE block: %w", err)
			}
			out = append(out, c)
		case "PKCS7", "CMS":
			certs, err := parsePKCS7Certs(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("not a certificate: PEM %s block: %w", block.Type, err)
			}
			out = append(out, certs...)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("not a certificate: PEM without a CERTIFICATE or PKCS7 block")
	}
	return out, nil
}

// oidSignedData is id-signedData (RFC 5652, section 5.1).
var oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}

// pkcs7ContentInfo is ContentInfo (RFC 5652, section 3).
type pkcs7ContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue // [0] EXPLICIT, checked by the caller
}

// pkcs7SignedData is the start of SignedData (RFC 5652, section 5.1): what follows the
// certificates (crls, signerInfos) is not read.
type pkcs7SignedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue // SET OF AlgorithmIdentifier
	EncapContentInfo asn1.RawValue // SEQUENCE
	Certificates     asn1.RawValue `asn1:"optional,tag:0"` // [0] IMPLICIT CertificateSet
}

// parsePKCS7Certs returns the certificates of a DER certs-only SignedData message, as
// `openssl crl2pkcs7 -nocrl` writes and CAs serve as .p7c.
func parsePKCS7Certs(der []byte) ([]*x509.Certificate, error) {
	var ci pkcs7ContentInfo
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, fmt.Errorf("PKCS#7 ContentInfo: %w", err)
	}
	if len(rest) > 0 {
		return nil, errors.New("PKCS#7: data after the ContentInfo")
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, fmt.Errorf("PKCS#7: content type %s, not signedData", ci.ContentType)
	}
	if ci.Content.Class != asn1.ClassContextSpecific || ci.Content.Tag != 0 || !ci.Content.IsCompound {
		return nil, errors.New("PKCS#7: no [0] content")
	}
	var sd pkcs7SignedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("PKCS#7 SignedData: %w", err)
	}
	if !sd.Certificates.IsCompound || sd.Certificates.Class != asn1.ClassContextSpecific {
		return nil, errors.New("PKCS#7: no certificates")
	}
	certs, err := x509.ParseCertificates(sd.Certificates.Bytes)
	if err != nil {
		return nil, fmt.Errorf("PKCS#7 certificates: %w", err)
	}
	if len(certs) == 0 {
		return nil, errors.New("PKCS#7: no certificates")
	}
	return certs, nil
}
