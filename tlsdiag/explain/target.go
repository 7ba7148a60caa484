package explain

import (
	"net"
	"regexp"
	"strings"
)

// target is what a text reveals of the server it is about.
type target struct {
	host    string // the name the client asked for (and verifies)
	port    string
	connect string // the address dialled, when it differs from host:port
}

// String returns host:port, with placeholders for what the text does not say.
func (t target) String() string {
	host, port := t.host, t.port
	if host == "" {
		host = "HOST"
	}
	if port == "" {
		port = "PORT"
	}
	return net.JoinHostPort(host, port)
}

// The rules that find a target in a line: nameRules find the host the client verifies
// (group "name"); hostRules find where it connects (groups "host", "port", "addr" for the
// address dialled, or "url" for an https:// URL), most telling first.
var (
	nameRules = compileAll(
		`No subject alternative DNS name matching (?P<name>\S+?)\.? found`,
		`No subject alternative names matching IP address (?P<name>\S+?)\.? found`,
		`No name matching (?P<name>\S+?)\.? found`,
		`Certificate for <(?P<name>[^>]+)>`,
		`Hostname (?P<name>\S+) not verified`,
		`x509: certificate is valid for .*, not (?P<name>[^\s"]+)`,
		`(?:but wanted to match|but none matched) (?P<name>[^\s"]+)`,
		`cannot validate certificate for (?P<name>\S+) because`,
		`target host ?name '(?P<name>[^']+)'`,
		`certificate is not valid for '(?P<name>[^']+)'`,
		`Host: (?P<name>\S+?)\.? is not in the cert's altnames`,
		`IP: (?P<name>\S+?)\.? is not in the cert's list`,
		`upstream SSL certificate does not match "(?P<name>[^"]+)"`,
	)
	addrRules = compileAll(
		`Connected to \S+ \((?P<addr>[^)]+)\) port (?P<port>\d+)`,
		`dial tcp (?P<addr>[\d.]+|\[[0-9A-Fa-f:.]+\]):(?P<port>\d+)`,
		`connect E[A-Z]+ (?P<addr>[\d.]+|[0-9a-f:]+:[0-9a-f:]*):(?P<port>\d+)`,
		`upstream: "https://(?P<addr>[\d.]+|\[[0-9A-Fa-f:.]+\]):(?P<port>\d+)`,
		`Remote:(?P<addr>[\d.]+):(?P<port>\d+)`,
	)
	hostRules = compileAll(
		`Connected to (?P<host>\S+) \((?P<addr>[^)]+)\) port (?P<port>\d+)`,
		`Failed to connect to (?P<host>\S+) port (?P<port>\d+)`,
		`in connection to (?P<host>[^\s:]+):(?P<port>\d+)`,
		`Could not resolve host: (?P<host>[^\s]+)`,
		`HTTPSConnectionPool\(host='(?P<host>[^']+)', port=(?P<port>\d+)\)`,
		`upstream: "(?P<url>https://[^"]+)"`,
		`(?:Get|Post|Put|Head|Delete|Patch|Options) "(?P<url>https://[^"]+)"`,
		`dial tcp (?P<host>[^\s\[\]:]+|\[[0-9A-Fa-f:.]+\]):(?P<port>\d+)`,
		`lookup (?P<host>[^\s:]+?)(?: on \S+)?: no such host`,
		`connect E[A-Z]+ (?P<host>[\d.]+|[0-9a-f:]+:[0-9a-f:]*):(?P<port>\d+)`,
		`getaddrinfo E[A-Z_]+ (?P<host>\S+)`,
		`Remote:(?P<host>[^\s:]+):(?P<port>\d+)`,
		`UnknownHostException: (?P<host>[^\s:]+)`,
		`-connect (?P<host>[^\s:]+):(?P<port>\d+)`,
		`\bhost: "(?P<host>[^":]+)(?::(?P<port>\d+))?"`,
		`(?P<url>https://[A-Za-z0-9.-]+(?::\d+)?)(?:[/\s"'),]|$)`,
	)
)

// targetRule is a rule with the literals of which every match holds one.
type targetRule struct {
	re   *regexp.Regexp
	keys []string
}

func compileAll(exprs ...string) []targetRule {
	rules := make([]targetRule, len(exprs))
	for i, e := range exprs {
		rules[i] = targetRule{re: regexp.MustCompile(e), keys: literalKeys(e)}
	}
	return rules
}

// mayMatch reports whether the lower-cased line holds one of r's literals.
func (r targetRule) mayMatch(lower string) bool {
	if r.keys == nil {
		return true
	}
	for _, k := range r.keys {
		if strings.Contains(lower, k) {
			return true
		}
	}
	return false
}

// documentationHosts appear in the texts of error messages without being targets.
var documentationHosts = map[string]bool{"curl.se": true, "curl.haxx.se": true, "www.openssl.org": true,
	"nginx.org": true, "docs.oracle.com": true, "github.com": true}

// groups returns the named groups of the first line r matches that accept takes; lower
// holds the lines in lower case.
func groups(r targetRule, lines, lower []string, accept func(map[string]string) bool) map[string]string {
	re := r.re
	for i, line := range lines {
		if !r.mayMatch(lower[i]) {
			continue
		}
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		g := map[string]string{}
		for i, n := range re.SubexpNames() {
			if n != "" {
				g[n] = m[i]
			}
		}
		if u := g["url"]; u != "" {
			g["host"], g["port"] = splitURL(u)
		}
		if accept(g) {
			return g
		}
	}
	return nil
}

// findTarget returns what the lines reveal of the target: the name the client verifies,
// and where it connects. lower holds the lines in lower case.
func findTarget(lines, lower []string) target {
	var t target
	for _, r := range nameRules {
		if g := groups(r, lines, lower, func(g map[string]string) bool { return g["name"] != "" }); g != nil {
			t.host = strings.Trim(g["name"], "'\"[]")
			break
		}
	}
	var conn map[string]string
	for _, r := range hostRules {
		conn = groups(r, lines, lower, func(g map[string]string) bool { return g["host"] != "" && !documentationHosts[g["host"]] })
		if conn != nil {
			break
		}
	}
	if conn == nil {
		return t
	}
	host := strings.Trim(conn["host"], "[]")
	t.port = conn["port"]
	dialled := strings.Trim(conn["addr"], "[]")
	if t.host == "" {
		t.host = host
	} else if host != t.host && net.ParseIP(host) != nil {
		dialled = host
	}
	if dialled == "" {
		// The address dialled, when the text names one besides the host.
		for _, r := range addrRules {
			g := groups(r, lines, lower, func(g map[string]string) bool {
				return g["addr"] != "" && (t.port == "" || g["port"] == t.port)
			})
			if g != nil {
				dialled, t.port = strings.Trim(g["addr"], "[]"), g["port"]
				break
			}
		}
	}
	if dialled != "" && dialled != t.host && t.port != "" && net.ParseIP(t.host) == nil {
		t.connect = net.JoinHostPort(dialled, t.port)
	}
	return t
}

// splitURL returns the host and port of an https:// URL (443 when it names none).
func splitURL(u string) (host, port string) {
	rest := strings.TrimPrefix(u, "https://")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if h, p, err := net.SplitHostPort(rest); err == nil {
		return h, p
	}
	return strings.Trim(rest, "[]"), "443"
}

// nextCommand returns the doctor command that tells the candidates apart, with the flags
// the candidates call for and what the text reveals of the target.
func nextCommand(system string, causes []Candidate, t target) string {
	has := map[string]bool{}
	for _, c := range causes {
		if c.Likelihood != Low {
			has[c.ID] = true
		}
	}
	if len(has) == 0 {
		for _, c := range causes {
			has[c.ID] = true
		}
	}
	some := func(ids ...string) bool {
		for _, id := range ids {
			if has[id] {
				return true
			}
		}
		return false
	}
	top := causes[0]
	java := system == Java || system == Apigee
	var flags []string
	if t.connect != "" {
		flags = append(flags, "--connect "+t.connect)
	}
	switch {
	case some(inRejectedByCli):
		flags = append(flags, "--truststore CLIENT_TRUSTSTORE.pem")
	case some(incomplete, wrongInter, misordered, missingAnchor, emptyStore, hostname, expired, notYetValid, insecure, sniDefault):
		if java {
			flags = append(flags, "--truststore TRUSTSTORE.jks --truststore-password PASSWORD")
		} else {
			flags = append(flags, "--truststore TRUSTSTORE.pem")
		}
	}
	if top.Likelihood == High && (top.ID == sniRequired || top.ID == sniDefault) {
		flags = append(flags, "--no-sni")
	}
	if top.ID == inSNI {
		flags = append(flags, "--servername NAME_THE_CLIENT_SENDS")
	}
	switch {
	case some(ccMissing, ccIssuer, ccRejected, ccExpired, ccKey) && java:
		flags = append(flags, "--keystore KEYSTORE.jks --keystore-password PASSWORD")
	case some(ccMissing, ccIssuer, ccRejected, ccExpired, ccKey, inCCMissing, inCCExpired, inCCUntrusted, inStale):
		flags = append(flags, "--client-cert CLIENT.pem --client-key CLIENT.key")
	}
	if some(protocol, cipher, inProtocol, inCipher, unclassified) {
		flags = append(flags, "--scan")
	}
	if top.ID == timeout {
		flags = append(flags, "--timeout 30s")
	}
	cmd := "tlsgate doctor"
	for _, f := range flags {
		cmd += " " + f
	}
	return cmd + " " + t.String()
}
