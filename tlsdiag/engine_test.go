package tlsdiag

import (
	"slices"
	"testing"
)

func cause(id string, sev Severity, hit bool, hiddenBy ...string) Cause {
	return Cause{ID: id, Title: id, Severity: sev, HiddenBy: hiddenBy, Match: func(*Context) *Finding {
		if !hit {
			return nil
		}
		return &Finding{Detail: id}
	}}
}

func TestEngineHiding(t *testing.T) {
	tests := []struct {
		name   string
		causes []Cause
		want   []string
	}{
		{"none", []Cause{cause("a", SeverityError, false)}, nil},
		{"one", []Cause{cause("a", SeverityError, true)}, []string{"a"}},
		{"deeper hides symptom", []Cause{cause("deep", SeverityError, true), cause("symptom", SeverityError, true, "deep")}, []string{"deep"}},
		{"deeper absent", []Cause{cause("deep", SeverityError, false), cause("symptom", SeverityError, true, "deep")}, []string{"symptom"}},
		{"a warning hides nothing", []Cause{cause("deep", SeverityWarning, true), cause("symptom", SeverityError, true, "deep")}, []string{"deep", "symptom"}},
		{"catalog order", []Cause{cause("b", SeverityError, true), cause("a", SeverityError, true)}, []string{"b", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := NewEngine(tt.causes...).Diagnose(&Facts{}, nil)
			var got []string
			for _, f := range fs {
				got = append(got, f.ID)
				if f.Title != f.ID || f.Severity == "" {
					t.Errorf("finding %s: title %q severity %q; want filled by the engine", f.ID, f.Title, f.Severity)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v; want %v", got, tt.want)
			}
		})
	}
}

func TestEngineRejectsBadCatalog(t *testing.T) {
	tests := []struct {
		name   string
		causes []Cause
	}{
		{"duplicate", []Cause{cause("a", SeverityError, true), cause("a", SeverityError, true)}},
		{"empty id", []Cause{cause("", SeverityError, true)}},
		{"unknown hider", []Cause{cause("a", SeverityError, true, "nosuch")}},
		{"no rule", []Cause{{ID: "a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("NewEngine accepted a bad catalog")
				}
			}()
			NewEngine(tt.causes...)
		})
	}
}

func TestReportOK(t *testing.T) {
	if r := NewReport(&Facts{}, []Finding{{ID: "w", Severity: SeverityWarning}}); !r.OK {
		t.Error("a warning made the report not OK")
	}
	if r := NewReport(&Facts{}, []Finding{{ID: "e", Severity: SeverityError}}); r.OK {
		t.Error("an error left the report OK")
	}
	if r := NewReport(&Facts{}, nil); r.Findings == nil {
		t.Error("findings must serialise as [], not null")
	}
}
