// x509fetch fetches the caller's X509-SVID and bundles through go-spiffe's X509Source, verifies the SVID
// against the served bundle and prints what it got as key=value lines.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/spire-cvm/spire-cvm/test/interop/internal/wl"
)

func main() {
	f := wl.Register()
	flag.Parse()
	ctx, cancel := f.Context()
	defer cancel()

	source, err := workloadapi.NewX509Source(ctx, f.SourceOpt())
	if err != nil {
		wl.Fatalf("X509Source: %v", err)
	}
	defer source.Close()
	svid, err := source.GetX509SVID()
	if err != nil {
		wl.Fatalf("GetX509SVID: %v", err)
	}
	leaf := svid.Certificates[0]
	fmt.Printf("spiffe_id=%s\n", svid.ID)
	fmt.Printf("chain_length=%d\n", len(svid.Certificates))
	fmt.Printf("leaf_sha256=%s\n", fingerprint(leaf.Raw))
	fmt.Printf("not_after=%s\n", leaf.NotAfter.UTC().Format(time.RFC3339))
	fmt.Printf("hint=%s\n", svid.Hint)

	bundle, err := source.GetX509BundleForTrustDomain(svid.ID.TrustDomain())
	if err != nil {
		wl.Fatalf("no bundle for the SVID's own trust domain: %v", err)
	}
	fmt.Printf("bundle=%s roots=%d\n", bundle.TrustDomain(), len(bundle.X509Authorities()))
	for _, root := range bundle.X509Authorities() {
		fmt.Printf("root_sha256=%s\n", fingerprint(root.Raw))
	}
	id, _, err := x509svid.Verify(svid.Certificates, source)
	if err != nil {
		wl.Fatalf("the SVID does not verify against the served bundle: %v", err)
	}
	fmt.Printf("verified=%s\n", id)
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}
