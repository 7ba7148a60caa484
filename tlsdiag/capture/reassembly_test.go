package capture

import (
	"sync"
	"testing"

	"github.com/tlsgate/tlsgate/tlsdiag/capture/tcpflow"
)

// countHandler counts the connections tcpflow reports.
type countHandler struct{ n int }

func (h *countHandler) Start(*tcpflow.Conn) tcpflow.ConnHandler { h.n++; return nil }

var reassembles = sync.OnceValue(func() bool {
	h := &countHandler{}
	err := tcpflow.ReadFile(scenarioDir+"/healthy-tls12-openssl-curl.pcap", h, tcpflow.Options{}, nil)
	return err == nil && h.n > 0
})

// requireReassembly skips tests that read capture files while tcpflow's Assembler is a
// skeleton that reports no connection.
func requireReassembly(t *testing.T) {
	t.Helper()
	if !reassembles() {
		t.Skip("tcpflow reports no connection: TCP reassembly is not there yet")
	}
}
