package cli

import (
	"context"
	"errors"
)

func runLab(_ context.Context, e *env, _ []string) int {
	return fail(e, ExitUsage, errors.New("lab: not built yet"), "")
}
