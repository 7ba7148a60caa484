#!/usr/bin/env bash
# Refreshes cmd/tlsgate/default.pgo, the CPU profile that `go build` uses to optimize the
# tlsgate binary (profile-guided optimization: hot calls inlined, hot code laid out
# together). The profile is that of the gateway under the loads bench/proxy.sh measures:
# keep-alive HTTP/1.1, full TLS handshakes and HTTP/2, one after the other, on loopback,
# merged into one. Run it after changes to the request path, then measure again with
# bench/proxy.sh; the build of the profiled binary itself uses the profile in place.
#
# Usage: bash bench/pgo.sh      (about a minute)
# Needs: what bench/proxy.sh needs (it installs the missing ones with apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# One round of 2 s against nginx alone: only the profiles, recorded after the round, count.
PROXIES="tlsgate nginx" PROFILE_DIR="$dir" bash bench/proxy.sh 1 2 >"$dir/proxy.out" 2>&1 || {
	cat "$dir/proxy.out" >&2
	exit 1
}
profiles=("$dir"/tlsgate-keep-alive.cpu "$dir"/tlsgate-full-handshake.cpu "$dir"/tlsgate-h2.cpu)
for p in "${profiles[@]}"; do
	[ -s "$p" ] || { echo "error: bench/proxy.sh left no profile $p" >&2; exit 1; }
done
go tool pprof -proto "${profiles[@]}" >"$dir/merged.pgo" 2>/dev/null
mv "$dir/merged.pgo" cmd/tlsgate/default.pgo
echo "wrote cmd/tlsgate/default.pgo ($(stat -c %s cmd/tlsgate/default.pgo) bytes) from the keep-alive, full-handshake and HTTP/2 profiles"
