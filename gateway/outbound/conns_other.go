//go:build !unix || aix

package outbound

import "net"

// peeker would tell whether the socket under an idle connection is quiet; here it cannot
// look, and a connection the server closed while idle fails its next request (which is
// sent again on a new connection when it can be).
type peeker struct{}

func (p *peeker) init(net.Conn) {}

func (p *peeker) quiet() bool { return true }
