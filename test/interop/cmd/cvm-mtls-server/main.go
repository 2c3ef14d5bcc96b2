// cvm-mtls-server is an example relying party: a go-spiffe mutual-TLS server that admits a client only when its
// X509-SVID carries spire-cvm node facts (docs/svid-evidence.md) with a launch measurement on its list. It serves
// -conns connections one after the other and prints, for each, "accepted <id> measurement=<hex>" or
// "refused: <reason>".
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/spire-cvm/spire-cvm/test/interop/internal/cvmfacts"
	"github.com/spire-cvm/spire-cvm/test/interop/internal/wl"
)

// authorizer: a member of the trust domain whose SVID carries facts with an allowed measurement.
func authorizer(td spiffeid.TrustDomain, allowed map[string]bool) tlsconfig.Authorizer {
	return func(id spiffeid.ID, chains [][]*x509.Certificate) error {
		if !id.MemberOf(td) {
			return fmt.Errorf("%s is not in trust domain %s", id, td)
		}
		if len(chains) == 0 || len(chains[0]) == 0 {
			return fmt.Errorf("%s: no verified chain", id)
		}
		facts, err := cvmfacts.FromCertificate(chains[0][0])
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		m := hex.EncodeToString(facts.Measurement)
		if !allowed[m] {
			return fmt.Errorf("%s: measurement %s is not on the list", id, m)
		}
		return nil
	}
}

func main() {
	f := wl.Register()
	addrFile := flag.String("addr-file", "", "write the listening address here once ready (required)")
	tdName := flag.String("trust-domain", "", "trust domain of the clients (required)")
	measurements := flag.String("allow-measurements", "", "comma-separated launch measurements (hex) to admit")
	conns := flag.Int("conns", 1, "connections to serve before exiting")
	flag.Parse()
	ctx, cancel := f.Context()
	defer cancel()
	td, err := spiffeid.TrustDomainFromString(*tdName)
	if err != nil {
		wl.Fatalf("-trust-domain %q: %v", *tdName, err)
	}
	allowed := map[string]bool{}
	for _, m := range strings.Split(*measurements, ",") {
		if m != "" {
			allowed[strings.ToLower(m)] = true
		}
	}
	source, err := workloadapi.NewX509Source(ctx, f.SourceOpt())
	if err != nil {
		wl.Fatalf("X509Source: %v", err)
	}
	defer source.Close()
	l, err := spiffetls.ListenWithMode(ctx, "tcp", "127.0.0.1:0",
		spiffetls.MTLSServerWithSource(authorizer(td, allowed), source))
	if err != nil {
		wl.Fatalf("listen: %v", err)
	}
	defer l.Close()
	if err := os.WriteFile(*addrFile, []byte(l.Addr().String()), 0o644); err != nil {
		wl.Fatalf("write %s: %v", *addrFile, err)
	}
	for i := 0; i < *conns; i++ {
		serve(l)
	}
}

// serve handles one connection: the handshake (with the authorizer) runs on the first read.
func serve(l net.Listener) {
	conn, err := l.Accept()
	if err != nil {
		wl.Fatalf("accept: %v", err)
	}
	defer conn.Close()
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		fmt.Printf("refused: %v\n", err)
		return
	}
	peer, err := spiffetls.PeerIDFromConn(conn)
	if err != nil {
		fmt.Printf("refused: peer ID: %v\n", err)
		return
	}
	measurement := "?"
	if tc, ok := conn.(interface{ ConnectionState() tls.ConnectionState }); ok && len(tc.ConnectionState().PeerCertificates) > 0 {
		if facts, ferr := cvmfacts.FromCertificate(tc.ConnectionState().PeerCertificates[0]); ferr == nil {
			measurement = hex.EncodeToString(facts.Measurement) + " region=" + facts.AWSRegion
		}
	}
	fmt.Printf("accepted %s measurement=%s received=%s", peer, measurement, line)
	fmt.Fprintf(conn, "hello %s\n", peer)
}
