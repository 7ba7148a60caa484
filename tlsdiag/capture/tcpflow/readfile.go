package tcpflow

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tlsgate/tlsgate/tlsdiag/capture/pcapfile"
)

// AddPacket decodes p and adds its TCP segment, counting what is not TCP
// in Stats.
func (a *Assembler) AddPacket(p pcapfile.Packet) {
	a.stats.Packets++
	s, ok := Decode(p)
	if !ok {
		a.stats.NotTCP++
		if !knownLink(p.LinkType) {
			if a.stats.LinkTypes == nil {
				a.stats.LinkTypes = make(map[pcapfile.LinkType]int64)
			}
			a.stats.LinkTypes[p.LinkType]++
		}
		return
	}
	a.Add(s)
}

// ReadFile reads the capture at path and reassembles its connections for h,
// then flushes them. progress, when not nil, is called now and then with
// the bytes of the file read so far and its size (0 when unknown).
//
// When the capture turns out truncated or corrupted part way, the
// connections read so far are still flushed to h, and the error (wrapping
// pcapfile.ErrTruncated or pcapfile.ErrMalformed) is returned.
func ReadFile(path string, h Handler, opts Options, progress func(done, total int64)) error {
	_, err := ReadFileStats(path, h, opts, progress)
	return err
}

// ReadFileStats is ReadFile that also returns the assembler's Stats.
func ReadFileStats(path string, h Handler, opts Options, progress func(done, total int64)) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, err
	}
	defer f.Close()
	var total int64
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		total = fi.Size()
	}
	a := NewAssembler(h, opts)
	err = a.Read(f, total, progress)
	if err != nil {
		err = fmt.Errorf("reading %s: %w", path, err)
	}
	return a.Stats(), err
}

// Read reads a whole capture from r into a and flushes a. total is r's
// size for progress, 0 when unknown.
func (a *Assembler) Read(r io.Reader, total int64, progress func(done, total int64)) error {
	cr := &countingReader{r: r}
	pr, err := pcapfile.NewReader(cr)
	if err != nil {
		return err
	}
	const every = 4 << 20
	next := int64(every)
	if progress != nil {
		progress(0, total)
	}
	for {
		p, err := pr.Next()
		if err != nil {
			a.Flush()
			if progress != nil {
				progress(cr.n, total)
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		a.AddPacket(p)
		if progress != nil && cr.n >= next {
			progress(cr.n, total)
			next = cr.n + every
		}
	}
}

func knownLink(t pcapfile.LinkType) bool {
	switch t {
	case pcapfile.LinkNull, pcapfile.LinkEthernet, pcapfile.LinkRaw, pcapfile.LinkLoop,
		pcapfile.LinkLinuxSLL, pcapfile.LinkLinuxSLL2, pcapfile.LinkIPv4, pcapfile.LinkIPv6:
		return true
	}
	return false
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}
