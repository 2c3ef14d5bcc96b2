// jwtfetch fetches a JWT-SVID through go-spiffe's JWTSource and validates it locally against the JWT bundle
// that the same Workload API served: once for its own audience (must pass) and once for another (must fail).
package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/spire-cvm/spire-cvm/test/interop/internal/wl"
)

func main() {
	f := wl.Register()
	audience := flag.String("audience", "interop", "audience to ask for")
	printToken := flag.Bool("print-token", false, "also print the token")
	flag.Parse()
	ctx, cancel := f.Context()
	defer cancel()

	source, err := workloadapi.NewJWTSource(ctx, f.SourceOpt())
	if err != nil {
		wl.Fatalf("JWTSource: %v", err)
	}
	defer source.Close()
	svid, err := source.FetchJWTSVID(ctx, jwtsvid.Params{Audience: *audience})
	if err != nil {
		wl.Fatalf("FetchJWTSVID: %v", err)
	}
	fmt.Printf("spiffe_id=%s\n", svid.ID)
	fmt.Printf("audience=%v\n", svid.Audience)
	fmt.Printf("expiry=%s\n", svid.Expiry.UTC().Format(time.RFC3339))
	if *printToken {
		fmt.Printf("token=%s\n", svid.Marshal())
	}

	bundle, err := source.GetJWTBundleForTrustDomain(svid.ID.TrustDomain())
	if err != nil {
		wl.Fatalf("no JWT bundle for %s: %v", svid.ID.TrustDomain(), err)
	}
	fmt.Printf("jwt_bundle=%s keys=%d\n", bundle.TrustDomain(), len(bundle.JWTAuthorities()))

	got, err := jwtsvid.ParseAndValidate(svid.Marshal(), source, []string{*audience})
	if err != nil {
		wl.Fatalf("the JWT-SVID does not validate against the served JWT bundle: %v", err)
	}
	fmt.Printf("validated=%s\n", got.ID)
	if _, err := jwtsvid.ParseAndValidate(svid.Marshal(), source, []string{*audience + "-other"}); err == nil {
		wl.Fatalf("the JWT-SVID validated for an audience it was not issued for")
	}
	fmt.Println("other_audience=rejected")
}
