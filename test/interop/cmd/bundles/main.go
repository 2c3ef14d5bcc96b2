// bundles prints the X.509 and JWT bundles the Workload API serves, through go-spiffe's BundleSource and the
// raw fetch calls, one line per trust domain.
package main

import (
	"flag"
	"fmt"
	"sort"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/spire-cvm/spire-cvm/test/interop/internal/wl"
)

func main() {
	f := wl.Register()
	tdName := flag.String("trust-domain", "", "trust domain to look up through BundleSource (required)")
	flag.Parse()
	ctx, cancel := f.Context()
	defer cancel()
	td, err := spiffeid.TrustDomainFromString(*tdName)
	if err != nil {
		wl.Fatalf("-trust-domain %q: %v", *tdName, err)
	}

	source, err := workloadapi.NewBundleSource(ctx, f.SourceOpt())
	if err != nil {
		wl.Fatalf("BundleSource: %v", err)
	}
	defer source.Close()
	x, err := source.GetX509BundleForTrustDomain(td)
	if err != nil {
		wl.Fatalf("BundleSource X.509 bundle for %s: %v", td, err)
	}
	j, err := source.GetJWTBundleForTrustDomain(td)
	if err != nil {
		wl.Fatalf("BundleSource JWT bundle for %s: %v", td, err)
	}
	fmt.Printf("source %s x509_roots=%d jwt_keys=%d\n", td, len(x.X509Authorities()), len(j.JWTAuthorities()))

	xs, err := workloadapi.FetchX509Bundles(ctx, f.ClientOpt())
	if err != nil {
		wl.Fatalf("FetchX509Bundles: %v", err)
	}
	for _, b := range sorted(xs.Bundles()) {
		fmt.Printf("x509 %s roots=%d\n", b.TrustDomain(), len(b.X509Authorities()))
	}
	js, err := workloadapi.FetchJWTBundles(ctx, f.ClientOpt())
	if err != nil {
		wl.Fatalf("FetchJWTBundles: %v", err)
	}
	for _, b := range js.Bundles() {
		ids := make([]string, 0, len(b.JWTAuthorities()))
		for kid := range b.JWTAuthorities() {
			ids = append(ids, kid)
		}
		sort.Strings(ids)
		fmt.Printf("jwt %s keys=%d kids=%v\n", b.TrustDomain(), len(ids), ids)
	}
}

type named interface{ TrustDomain() spiffeid.TrustDomain }

func sorted[T named](in []T) []T {
	sort.Slice(in, func(a, b int) bool { return in[a].TrustDomain().Name() < in[b].TrustDomain().Name() })
	return in
}
