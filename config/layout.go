package config

// Kind is a kind of object of an environment, as it is named in store keys and in Edge's
// management API routes.
type Kind string

// The kinds of objects an environment holds.
const (
	KindKeystore     Kind = "keystores"
	KindReference    Kind = "references"
	KindVirtualHost  Kind = "virtualhosts"
	KindTargetServer Kind = "targetservers"
	KindProxy        Kind = "proxies"
)

// Kinds that are not objects of an environment, for ObjectRef, Change and CheckName:
// organizations and environments (kept under OrgKey and EnvKey), and aliases (kept inside
// their keystore).
const (
	KindOrganization Kind = "organizations"
	KindEnvironment  Kind = "environments"
	KindAlias        Kind = "aliases"
)

// Kinds returns the kinds of objects of an environment, in the order they are written.
func Kinds() []Kind {
	return []Kind{KindKeystore, KindReference, KindVirtualHost, KindTargetServer, KindProxy}
}
