// mtls-server accepts one mutual-TLS connection with go-spiffe's spiffetls, using only the X509-SVID and bundle
// the Workload API served, authorizes the client by SPIFFE ID, and answers its line with the peer's ID.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/spire-cvm/spire-cvm/test/interop/internal/wl"
)

func main() {
	f := wl.Register()
	addrFile := flag.String("addr-file", "", "write the listening address here once ready (required)")
	allow := flag.String("allow", "", "SPIFFE ID the client must present (required)")
	flag.Parse()
	ctx, cancel := f.Context()
	defer cancel()
	clientID, err := spiffeid.FromString(*allow)
	if err != nil {
		wl.Fatalf("-allow %q: %v", *allow, err)
	}

	source, err := workloadapi.NewX509Source(ctx, f.SourceOpt())
	if err != nil {
		wl.Fatalf("X509Source: %v", err)
	}
	defer source.Close()
	l, err := spiffetls.ListenWithMode(ctx, "tcp", "127.0.0.1:0",
		spiffetls.MTLSServerWithSource(tlsconfig.AuthorizeID(clientID), source))
	if err != nil {
		wl.Fatalf("listen: %v", err)
	}
	defer l.Close()
	if err := os.WriteFile(*addrFile, []byte(l.Addr().String()), 0o644); err != nil {
		wl.Fatalf("write %s: %v", *addrFile, err)
	}
	conn, err := l.Accept()
	if err != nil {
		wl.Fatalf("accept: %v", err)
	}
	defer conn.Close()
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		wl.Fatalf("read from client (handshake failed?): %v", err)
	}
	peer, err := spiffetls.PeerIDFromConn(conn)
	if err != nil {
		wl.Fatalf("peer ID: %v", err)
	}
	fmt.Printf("peer=%s\n", peer)
	fmt.Printf("received=%s", line)
	if _, err := fmt.Fprintf(conn, "hello %s\n", peer); err != nil {
		wl.Fatalf("write: %v", err)
	}
}
