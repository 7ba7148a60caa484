package cli

import (
	"context"
	"errors"
)

func runDoctor(_ context.Context, e *env, _ []string) int {
	return fail(e, ExitUsage, errors.New("doctor: not built yet"), "")
}

func runLab(_ context.Context, e *env, _ []string) int {
	return fail(e, ExitUsage, errors.New("lab: not built yet"), "")
}
