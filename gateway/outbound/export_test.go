package outbound

import "time"

// SetIdleTimeout changes how long tr keeps an idle connection; call it before tr's first
// request.
func SetIdleTimeout(tr *Transport, d time.Duration) { tr.idle.timeout = d }
