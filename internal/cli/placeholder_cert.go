package cli

import (
	"context"
	"errors"
)

func runCert(_ context.Context, e *env, _ []string) int {
	return fail(e, ExitUsage, errors.New("cert: not built yet"), "")
}
