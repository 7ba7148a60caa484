package tcpflow_test

import (
	"fmt"

	"github.com/tlsgate/tlsgate/tlsdiag/capture/tcpflow"
)

// streams counts each connection's bytes as they are delivered.
type streams struct{}

func (streams) Start(c *tcpflow.Conn) tcpflow.ConnHandler { return &stream{c: c} }

type stream struct {
	c    *tcpflow.Conn
	gaps int
}

func (s *stream) Event(e tcpflow.Event) {
	if e.Kind == tcpflow.Gap {
		s.gaps++
	}
}

func (s *stream) End() {
	fmt.Printf("%s → %s: %d bytes received, FIN %v, gaps %d\n", s.c.Client.Addr(), s.c.Server,
		s.c.Bytes[tcpflow.ServerToClient], s.c.FIN[tcpflow.ClientToServer], s.gaps)
}

func ExampleReadFile() {
	err := tcpflow.ReadFile("../testdata/alert-lo.pcap", streams{}, tcpflow.Options{}, nil)
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// 127.0.0.1 → 127.0.0.1:44305: 7 bytes received, FIN true, gaps 0
	// 127.0.0.1 → 127.0.0.1:44305: 7 bytes received, FIN true, gaps 0
}
