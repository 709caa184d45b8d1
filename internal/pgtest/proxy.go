package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"
)

// proxyDialTimeout bounds the proxy's connection to its target.
const proxyDialTimeout = 5 * time.Second

// Proxy forwards TCP connections from a loopback listener to a target
// address. It can freeze traffic (connections stay open but no byte moves in
// either direction, like a dead network path), thaw it, and cut every
// connection. All methods are safe for concurrent use.
type Proxy struct {
	ln     net.Listener
	ctx    context.Context // ends on Close; bounds dials to the target
	cancel context.CancelFunc
	wg     sync.WaitGroup // the accept loop and every connection's goroutines

	mu     sync.Mutex
	target string        // where new connections go (SetTarget)
	thawed chan struct{} // nil when not frozen; closed by Thaw
	conns  map[*proxyConn]struct{}
	closed bool
	// accepted counts the connections accepted since NewProxy.
	accepted int
}

// proxyConn is one proxied connection: the client side and, once dialled,
// the target side.
type proxyConn struct {
	client net.Conn
	mu     sync.Mutex
	server net.Conn      // nil until dialled
	done   chan struct{} // closed by cut
	once   sync.Once
}

// cut closes both sides and releases any copy loop waiting at the gate.
func (c *proxyConn) cut() {
	c.once.Do(func() {
		close(c.done)
		c.client.Close()
		c.mu.Lock()
		if c.server != nil {
			c.server.Close()
		}
		c.mu.Unlock()
	})
}

// setServer records the target side, or closes it if the connection was cut
// meanwhile; it reports whether the connection is still alive.
func (c *proxyConn) setServer(server net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.done:
		server.Close()
		return false
	default:
		c.server = server
		return true
	}
}

// NewProxy listens on 127.0.0.1:0 and forwards every accepted connection to
// target ("host:port"). The caller must Close it.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("pgtest: proxy: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{target: target, ln: ln, ctx: ctx, cancel: cancel, conns: map[*proxyConn]struct{}{}}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// SetTarget makes connections accepted from now on go to target
// ("host:port"), such as another server standing in for the first one
// behind the same address. Open connections keep their target: CutAll
// ends them.
func (p *Proxy) SetTarget(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = target
}

// Addr returns the proxy's listening address, "127.0.0.1:PORT".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL returns base (a URL such as Server.URL's) with its host:port replaced
// by the proxy's address. It returns base unchanged if it does not parse.
func (p *Proxy) URL(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Host = p.Addr()
	return u.String()
}

// Freeze stops all traffic: from now on no byte is read or written on any
// proxied connection, existing or new, until Thaw. Reads already in progress
// complete but their data is held back.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.thawed == nil {
		p.thawed = make(chan struct{})
	}
}

// Thaw lets traffic flow again after Freeze; held-back data is delivered.
func (p *Proxy) Thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.thawed != nil {
		close(p.thawed)
		p.thawed = nil
	}
}

// CutAll closes every proxied connection (both sides). The proxy keeps
// accepting new ones.
func (p *Proxy) CutAll() {
	p.mu.Lock()
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.cut()
	}
}

// Conns returns the number of open proxied connections, counting those
// still being dialled to the target.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Accepted returns the number of connections accepted since NewProxy
// (connection attempts, whether they lasted or not).
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Close stops accepting, closes every connection (releasing frozen ones) and
// returns once all of the proxy's goroutines have ended. It is safe to call
// twice.
func (p *Proxy) Close() error {
	p.mu.Lock()
	already := p.closed
	p.closed = true
	p.mu.Unlock()
	var err error
	if !already {
		p.cancel()
		if err = p.ln.Close(); err != nil {
			err = fmt.Errorf("pgtest: proxy: %w", err)
		}
	}
	p.CutAll()
	p.wg.Wait()
	return err
}

// acceptLoop accepts until the listener is closed.
func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary errors (EMFILE and the like): keep serving.
			continue
		}
		c := &proxyConn{client: client, done: make(chan struct{})}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			client.Close()
			return
		}
		p.conns[c] = struct{}{}
		p.accepted++
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(c)
	}
}

// serve dials the target and copies both ways until either side ends or
// the connection is cut.
func (p *Proxy) serve(c *proxyConn) {
	defer p.wg.Done()
	defer func() {
		c.cut()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(p.ctx, proxyDialTimeout)
	server, err := (&net.Dialer{}).DialContext(ctx, "tcp", target)
	cancel()
	if err != nil || !c.setServer(server) {
		return
	}
	var copies sync.WaitGroup
	copies.Add(2)
	go func() { defer copies.Done(); p.pipe(c, server, c.client) }()
	go func() { defer copies.Done(); p.pipe(c, c.client, server) }()
	copies.Wait()
}

// pipe copies src to dst, passing the freeze gate before every read and
// every write. When it ends it cuts the whole connection, which also ends
// the other direction.
func (p *Proxy) pipe(c *proxyConn, dst, src net.Conn) {
	defer c.cut()
	buf := make([]byte, 32*1024)
	for {
		if !p.pass(c) {
			return
		}
		n, err := src.Read(buf)
		if n > 0 {
			if !p.pass(c) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// pass blocks while the proxy is frozen; it returns false if c is cut meanwhile.
func (p *Proxy) pass(c *proxyConn) bool {
	for {
		p.mu.Lock()
		gate := p.thawed
		p.mu.Unlock()
		if gate == nil {
			return true
		}
		select {
		case <-gate:
			// Loop: the proxy may have been frozen again already.
		case <-c.done:
			return false
		}
	}
}
