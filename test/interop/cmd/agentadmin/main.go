// agentadmin calls an agent's admin socket with the spire-api-sdk clients SPIRE v1.13.3 uses: Debug/GetInfo,
// Logger get/set/reset, and DelegatedIdentity (X509-SVIDs by selectors or PID, X.509 and JWT bundles, JWT-SVIDs).
// Output: key=value lines. A refused call prints error_code=<gRPC code> and error=<message> and exits 2.
//
//	agentadmin -socket S debug
//	agentadmin -socket S logger-get | logger-set LEVEL | logger-reset
//	agentadmin -socket S x509 [-pid N] [type:value ...]     first SubscribeToX509SVIDs message
//	agentadmin -socket S x509-bundles | jwt-bundles           first message of the bundle streams
//	agentadmin -socket S jwt -audience A [-pid N] [type:value ...]
package main

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	debugv1 "github.com/spiffe/spire-api-sdk/proto/spire/api/agent/debug/v1"
	delegatedidentityv1 "github.com/spiffe/spire-api-sdk/proto/spire/api/agent/delegatedidentity/v1"
	loggerv1 "github.com/spiffe/spire-api-sdk/proto/spire/api/agent/logger/v1"
	"github.com/spiffe/spire-api-sdk/proto/spire/api/types"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/spire-cvm/spire-cvm/test/interop/internal/wl"
)

var (
	pid      = flag.Int("pid", 0, "delegated identity: the workload's PID instead of selectors")
	audience = flag.String("audience", "", "jwt: audience")
)

func main() {
	f := wl.Register()
	flag.Parse()
	if flag.NArg() < 1 {
		wl.Fatalf("usage: agentadmin -socket S debug|logger-get|logger-set LEVEL|logger-reset|x509|x509-bundles|jwt-bundles|jwt [args]")
	}
	ctx, cancel := f.Context()
	defer cancel()
	conn, err := grpc.NewClient(f.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		wl.Fatalf("dial %s: %v", f.Addr(), err)
	}
	defer conn.Close()
	args := flag.Args()[1:]
	switch flag.Arg(0) {
	case "debug":
		err = debugInfo(ctx, conn)
	case "logger-get", "logger-set", "logger-reset":
		err = logger(ctx, conn, flag.Arg(0), args)
	case "x509":
		err = x509SVIDs(ctx, conn, args)
	case "x509-bundles", "jwt-bundles":
		err = bundles(ctx, conn, flag.Arg(0))
	case "jwt":
		err = jwtSVIDs(ctx, conn, args)
	default:
		wl.Fatalf("unknown command %q", flag.Arg(0))
	}
	if err != nil {
		if st, ok := status.FromError(err); ok {
			fmt.Printf("error_code=%s\nerror=%s\n", st.Code(), st.Message())
			os.Exit(2)
		}
		wl.Fatalf("%v", err)
	}
}

func debugInfo(ctx context.Context, conn *grpc.ClientConn) error {
	r, err := debugv1.NewDebugClient(conn).GetInfo(ctx, &debugv1.GetInfoRequest{})
	if err != nil {
		return err
	}
	for i, c := range r.SvidChain {
		id := ""
		if c.Id != nil {
			id = "spiffe://" + c.Id.TrustDomain + c.Id.Path
		}
		fmt.Printf("chain.%d id=%s expires_at=%d subject=%s\n", i, id, c.ExpiresAt, c.Subject)
	}
	fmt.Printf("chain_length=%d\nuptime=%d\nlast_sync_success=%d\ncached_x509_svids=%d\ncached_jwt_svids=%d\n",
		len(r.SvidChain), r.Uptime, r.LastSyncSuccess, r.CachedX509SvidsCount, r.CachedJwtSvidsCount)
	return nil
}

func logger(ctx context.Context, conn *grpc.ClientConn, cmd string, args []string) error {
	c := loggerv1.NewLoggerClient(conn)
	var l *types.Logger
	var err error
	switch cmd {
	case "logger-get":
		l, err = c.GetLogger(ctx, &loggerv1.GetLoggerRequest{})
	case "logger-reset":
		l, err = c.ResetLogLevel(ctx, &loggerv1.ResetLogLevelRequest{})
	default:
		if len(args) != 1 {
			wl.Fatalf("logger-set LEVEL")
		}
		level, ok := types.LogLevel_value[strings.ToUpper(args[0])]
		if !ok {
			wl.Fatalf("unknown level %q", args[0])
		}
		l, err = c.SetLogLevel(ctx, &loggerv1.SetLogLevelRequest{NewLevel: types.LogLevel(level)})
	}
	if err != nil {
		return err
	}
	fmt.Printf("current_level=%s\nlaunch_level=%s\n", l.CurrentLevel, l.LaunchLevel)
	return nil
}

func selectors(args []string) []*types.Selector {
	var out []*types.Selector
	for _, a := range args {
		t, v, ok := strings.Cut(a, ":")
		if !ok {
			wl.Fatalf("selector %q is not type:value", a)
		}
		out = append(out, &types.Selector{Type: t, Value: v})
	}
	return out
}

func x509SVIDs(ctx context.Context, conn *grpc.ClientConn, args []string) error {
	c := delegatedidentityv1.NewDelegatedIdentityClient(conn)
	stream, err := c.SubscribeToX509SVIDs(ctx, &delegatedidentityv1.SubscribeToX509SVIDsRequest{
		Selectors: selectors(args), Pid: int32(*pid)})
	if err != nil {
		return err
	}
	r, err := stream.Recv()
	if err != nil {
		return err
	}
	fmt.Printf("svids=%d\nfederates_with=%s\n", len(r.X509Svids), strings.Join(r.FederatesWith, ","))
	for _, s := range r.X509Svids {
		id := "spiffe://" + s.X509Svid.Id.TrustDomain + s.X509Svid.Id.Path
		leaf, err := x509.ParseCertificate(s.X509Svid.CertChain[0])
		if err != nil {
			wl.Fatalf("leaf of %s: %v", id, err)
		}
		key, err := x509.ParsePKCS8PrivateKey(s.X509SvidKey)
		if err != nil {
			wl.Fatalf("key of %s: %v", id, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			wl.Fatalf("key of %s is not a signing key", id)
		}
		pub, err := x509.MarshalPKIXPublicKey(signer.Public())
		if err != nil {
			wl.Fatalf("public key of %s: %v", id, err)
		}
		uri := ""
		if len(leaf.URIs) == 1 {
			uri = leaf.URIs[0].String()
		}
		fmt.Printf("svid id=%s uri_san=%s key_matches=%t expires_at_matches=%t chain=%d\n", id, uri,
			hex.EncodeToString(pub) == hex.EncodeToString(leaf.RawSubjectPublicKeyInfo),
			s.X509Svid.ExpiresAt == leaf.NotAfter.Unix(), len(s.X509Svid.CertChain))
		sum := sha256.Sum256(leaf.Raw)
		fmt.Printf("leaf_sha256=%s\n", hex.EncodeToString(sum[:]))
	}
	return nil
}

func bundles(ctx context.Context, conn *grpc.ClientConn, which string) error {
	c := delegatedidentityv1.NewDelegatedIdentityClient(conn)
	var m map[string][]byte
	if which == "x509-bundles" {
		s, err := c.SubscribeToX509Bundles(ctx, &delegatedidentityv1.SubscribeToX509BundlesRequest{})
		if err != nil {
			return err
		}
		r, err := s.Recv()
		if err != nil {
			return err
		}
		m = r.CaCertificates
	} else {
		s, err := c.SubscribeToJWTBundles(ctx, &delegatedidentityv1.SubscribeToJWTBundlesRequest{})
		if err != nil {
			return err
		}
		r, err := s.Recv()
		if err != nil {
			return err
		}
		m = r.Bundles
	}
	tds := make([]string, 0, len(m))
	for td := range m {
		tds = append(tds, td)
	}
	sort.Strings(tds)
	for _, td := range tds {
		if which == "x509-bundles" {
			certs, err := x509.ParseCertificates(m[td])
			if err != nil {
				wl.Fatalf("bundle of %s: %v", td, err)
			}
			for _, c := range certs {
				sum := sha256.Sum256(c.Raw)
				fmt.Printf("x509 %s root_sha256=%s\n", td, hex.EncodeToString(sum[:]))
			}
		} else {
			fmt.Printf("jwt %s jwks_has_keys=%t\n", td, strings.Contains(string(m[td]), `"keys"`))
		}
	}
	return nil
}

func jwtSVIDs(ctx context.Context, conn *grpc.ClientConn, args []string) error {
	c := delegatedidentityv1.NewDelegatedIdentityClient(conn)
	var aud []string
	if *audience != "" {
		aud = strings.Split(*audience, ",")
	}
	r, err := c.FetchJWTSVIDs(ctx, &delegatedidentityv1.FetchJWTSVIDsRequest{
		Audience: aud, Selectors: selectors(args), Pid: int32(*pid)})
	if err != nil {
		return err
	}
	for _, s := range r.Svids {
		fmt.Printf("jwt id=spiffe://%s%s ttl_positive=%t\n", s.Id.TrustDomain, s.Id.Path,
			time.Unix(s.ExpiresAt, 0).After(time.Unix(s.IssuedAt, 0)))
		fmt.Printf("token=%s\n", s.Token)
	}
	return nil
}
