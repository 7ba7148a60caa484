package tlsdiag

// Severity says how bad a finding is.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"   // the handshake as configured fails or will fail
	SeverityWarning Severity = "warning" // works today but is fragile or will break
	SeverityInfo    Severity = "info"
)

// Finding is one cause recognised in the facts, with its evidence and its fix.
type Finding struct {
	ID       string         `json:"id"`
	Severity Severity       `json:"severity"`
	Title    string         `json:"title"`
	Detail   string         `json:"detail"`
	Evidence map[string]any `json:"evidence,omitempty"`
	Fix      []string       `json:"fix,omitempty"`
}

// Report is the outcome of a diagnosis: the JSON shape of `tlsgate doctor --format json`.
type Report struct {
	Target   string    `json:"target"`
	Address  string    `json:"address,omitempty"`
	OK       bool      `json:"ok"`
	Findings []Finding `json:"findings"`
	Facts    *Facts    `json:"facts"`

	// Context is the analysis the findings came from, for renderers; not serialised.
	Context *Context `json:"-"`
}

// HasError reports whether any finding has severity error.
func HasError(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}
