package probe

import (
	"context"

	"github.com/tlsgate/tlsgate/tlsdiag"
)

// runExperiments runs the experiments the configured attempt's outcome calls for.
func runExperiments(ctx context.Context, cfg Config, facts *tlsdiag.Facts) {}
