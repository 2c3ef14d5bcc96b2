// mtls-client dials mtls-server over mutual TLS with go-spiffe's spiffetls, using only the X509-SVID and bundle
// the Workload API served, authorizes the server by SPIFFE ID, sends a line and prints the answer.
package main

import (
	"bufio"
	"flag"
	"fmt"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/spire-cvm/spire-cvm/test/interop/internal/wl"
)

func main() {
	f := wl.Register()
	addr := flag.String("addr", "", "host:port of mtls-server (required)")
	expect := flag.String("expect", "", "SPIFFE ID the server must present (required)")
	flag.Parse()
	ctx, cancel := f.Context()
	defer cancel()
	serverID, err := spiffeid.FromString(*expect)
	if err != nil {
		wl.Fatalf("-expect %q: %v", *expect, err)
	}

	source, err := workloadapi.NewX509Source(ctx, f.SourceOpt())
	if err != nil {
		wl.Fatalf("X509Source: %v", err)
	}
	defer source.Close()
	svid, err := source.GetX509SVID()
	if err != nil {
		wl.Fatalf("GetX509SVID: %v", err)
	}
	conn, err := spiffetls.DialWithMode(ctx, "tcp", *addr,
		spiffetls.MTLSClientWithSource(tlsconfig.AuthorizeID(serverID), source))
	if err != nil {
		wl.Fatalf("dial %s: %v", *addr, err)
	}
	defer conn.Close()
	peer, err := spiffetls.PeerIDFromConn(conn)
	if err != nil {
		wl.Fatalf("peer ID: %v", err)
	}
	fmt.Printf("self=%s\n", svid.ID)
	fmt.Printf("peer=%s\n", peer)
	if _, err := fmt.Fprintf(conn, "ping from %s\n", svid.ID); err != nil {
		wl.Fatalf("write: %v", err)
	}
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		wl.Fatalf("read: %v", err)
	}
	fmt.Printf("reply=%s", reply)
}
