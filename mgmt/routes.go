package mgmt

import (
	"github.com/tlsgate/tlsgate/config"
)

// routes registers every route. Paths below an environment are registered under both of
// Edge's spellings (organizations/environments and o/e).
func (s *Server) routes() {
	s.mux.Handle("GET /tlsgate/v1/audit", s.wrap(s.getAudit))
	s.mux.Handle("GET /tlsgate/v1/status", s.wrap(s.getStatus))
	s.mux.Handle("GET /tlsgate/v1/findings", s.wrap(s.listFindings))
	s.mux.Handle("GET /tlsgate/v1/findings/{id}", s.wrap(s.getFinding))
	s.mux.Handle("GET /tlsgate/v1/nodes", s.wrap(s.listNodes))
	s.mux.Handle("DELETE /tlsgate/v1/nodes/{node}", s.wrap(s.deleteNode))

	s.orgRoute("GET", "", s.listOrgs)
	s.orgRoute("POST", "", s.createOrg)
	s.orgRoute("GET", "/{org}", s.getOrg)
	s.orgRoute("GET", "/{org}/environments", s.listEnvs)
	s.orgRoute("POST", "/{org}/environments", s.createEnv)
	s.orgRoute("GET", "/{org}/e", s.listEnvs)
	s.orgRoute("POST", "/{org}/e", s.createEnv)
	s.envRoute("GET", "", s.getEnv)

	s.keystoreRoutes()

	registerKind(s, "/references", kindSpec[config.Reference]{
		kind: config.KindReference, what: "reference", notFound: CodeReferenceNotFound,
		name: func(v *config.Reference) *string { return &v.Name },
	})
	registerKind(s, "/virtualhosts", kindSpec[config.VirtualHost]{
		kind: config.KindVirtualHost, what: "virtual host", notFound: CodeVHostNotFound,
		name:      func(v *config.VirtualHost) *string { return &v.Name },
		fromXML:   config.ParseVirtualHostXML,
		toXML:     config.MarshalVirtualHostXML,
		normalize: normalizeVirtualHost,
	})
	registerKind(s, "/targetservers", kindSpec[config.TargetServer]{
		kind: config.KindTargetServer, what: "target server", notFound: CodeTargetNotFound,
		name:      func(v *config.TargetServer) *string { return &v.Name },
		fromXML:   config.ParseTargetServerXML,
		toXML:     config.MarshalTargetServerXML,
		normalize: normalizeTargetServer,
	})
	registerKind(s, "/proxies", kindSpec[config.Proxy]{
		kind: config.KindProxy, what: "API proxy", notFound: CodeProxyNotFound,
		name:      func(v *config.Proxy) *string { return &v.Name },
		normalize: func(p *config.Proxy) { normalizeSSLInfo(p.Target.SSLInfo) },
	})

	s.envRoute("POST", "/testssl", s.testSSL)
	s.mux.Handle("POST /tlsgate/v1/apply", s.wrap(s.apply))
	s.mux.Handle("GET /tlsgate/v1/export", s.wrap(s.export))
}

func normalizeVirtualHost(v *config.VirtualHost) {
	if v.HostAliases == nil {
		v.HostAliases = []string{}
	}
	normalizeSSLInfo(v.SSLInfo)
}

func normalizeTargetServer(t *config.TargetServer) {
	if t.IsEnabled == nil {
		on := true
		t.IsEnabled = &on
	}
	normalizeSSLInfo(t.SSLInfo)
}

// normalizeSSLInfo writes empty lists as [] (Edge's shape) rather than null.
func normalizeSSLInfo(si *config.SSLInfo) {
	if si == nil {
		return
	}
	if si.Protocols == nil {
		si.Protocols = []string{}
	}
	if si.Ciphers == nil {
		si.Ciphers = []string{}
	}
}
