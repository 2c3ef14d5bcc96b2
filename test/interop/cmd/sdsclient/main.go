// sdsclient is an Envoy-style SDS v3 client built on Envoy's go-control-plane types. Against an agent's Workload
// API socket it checks FetchSecrets (default SVID, ROOTCA, a named SVID, ALL, trusted CA for old or opted-out
// Envoys, unknown names refused), StreamSecrets (version/nonce, ACK gets no answer, stale nonces ignored, NACK
// tolerated, pushes on SVID rotation, names changing) and DeltaSecrets (Unimplemented, as SPIRE). It prints one
// line per check and exits 1 on the first failure.
package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	secretv3 "github.com/envoyproxy/go-control-plane/envoy/service/secret/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/spire-cvm/spire-cvm/test/interop/internal/wl"
)

const secretType = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"

var (
	flags       = wl.Register()
	expectID    = flag.String("expect-id", "", "the SPIFFE ID the caller's entry has")
	trustDomain = flag.String("trust-domain", "", "the agent's trust domain")
	rotations   = flag.Int("rotations", 2, "SVID rotations the stream must push")
	optionsMode = flag.Bool("options", false,
		"check an agent configured with sds { default_svid_name = -svid-name, default_bundle_name = -bundle-name, "+
			"default_all_bundles_name = -all-name, disable_spiffe_cert_validation = true } instead")
	svidName   = flag.String("svid-name", "default", "with -options: the configured default_svid_name")
	bundleName = flag.String("bundle-name", "ROOTCA", "with -options: the configured default_bundle_name")
	allName    = flag.String("all-name", "ALL", "with -options: the configured default_all_bundles_name")
	federated  = flag.String("federated", "",
		"check only that the federated bundle of this trust domain (which the caller's entry federates with) is "+
			"served as spiffe://<td> and inside ALL, with at least -federated-roots CA certificates")
	readyMode      = flag.Bool("ready", false, "only check that FetchSecrets answers \"default\" (the caller's SVID is minted)")
	federatedRoots = flag.Int("federated-roots", 1, "with -federated: the CA certificates its bundle must hold")
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func node(major, minor uint32, meta map[string]any) *corev3.Node {
	n := &corev3.Node{Id: "sdsclient", Cluster: "interop", UserAgentName: "envoy",
		UserAgentVersionType: &corev3.Node_UserAgentBuildVersion{UserAgentBuildVersion: &corev3.BuildVersion{
			Version: &typev3.SemanticVersion{MajorNumber: major, MinorNumber: minor}}}}
	if meta != nil {
		s, err := structpb.NewStruct(meta)
		if err != nil {
			fail("metadata: %v", err)
		}
		n.Metadata = s
	}
	return n
}

func req(n *corev3.Node, names ...string) *discoveryv3.DiscoveryRequest {
	return &discoveryv3.DiscoveryRequest{Node: n, ResourceNames: names, TypeUrl: secretType}
}

func secrets(resp *discoveryv3.DiscoveryResponse) map[string]*tlsv3.Secret {
	out := map[string]*tlsv3.Secret{}
	for _, any := range resp.Resources {
		if any.TypeUrl != secretType {
			fail("resource type %q", any.TypeUrl)
		}
		s := &tlsv3.Secret{}
		if err := any.UnmarshalTo(s); err != nil {
			fail("unmarshal secret: %v", err)
		}
		out[s.Name] = s
	}
	return out
}

func names(m map[string]*tlsv3.Secret) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func certs(pemBytes []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, pemBytes = pem.Decode(pemBytes)
		if b == nil {
			return out
		}
		if b.Type != "CERTIFICATE" {
			fail("PEM block %q where certificates were expected", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			fail("certificate: %v", err)
		}
		out = append(out, c)
	}
}

// checkTLS verifies a TLS certificate secret: a chain whose leaf has the expected SPIFFE ID, the PKCS#8 key of the
// leaf, and a chain that verifies against `roots`. Returns the leaf.
func checkTLS(s *tlsv3.Secret, roots []*x509.Certificate) *x509.Certificate {
	tc := s.GetTlsCertificate()
	if tc == nil {
		fail("secret %q is not a TLS certificate", s.Name)
	}
	chain := certs(tc.GetCertificateChain().GetInlineBytes())
	if len(chain) == 0 {
		fail("secret %q: empty chain", s.Name)
	}
	leaf := chain[0]
	if len(leaf.URIs) != 1 || leaf.URIs[0].String() != *expectID {
		fail("secret %q: leaf URI SAN %v, want %s", s.Name, leaf.URIs, *expectID)
	}
	kb, _ := pem.Decode(tc.GetPrivateKey().GetInlineBytes())
	if kb == nil || kb.Type != "PRIVATE KEY" {
		fail("secret %q: private key is not a PKCS#8 PEM block", s.Name)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		fail("secret %q: key: %v", s.Name, err)
	}
	pub := key.(crypto.Signer).Public()
	if !reflect.DeepEqual(pub, leaf.PublicKey) {
		fail("secret %q: private key does not match the leaf", s.Name)
	}
	pool, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		fail("secret %q: chain does not verify against the served bundle: %v", s.Name, err)
	}
	return leaf
}

// spiffeValidator returns the trust domains of a SPIFFECertValidatorConfig validation context.
func spiffeValidator(s *tlsv3.Secret) map[string][]*x509.Certificate {
	vc := s.GetValidationContext()
	if vc == nil || vc.GetCustomValidatorConfig() == nil {
		fail("secret %q is not a custom validator validation context", s.Name)
	}
	if vc.CustomValidatorConfig.Name != "envoy.tls.cert_validator.spiffe" {
		fail("secret %q: validator %q", s.Name, vc.CustomValidatorConfig.Name)
	}
	cfg := &tlsv3.SPIFFECertValidatorConfig{}
	if err := vc.CustomValidatorConfig.TypedConfig.UnmarshalTo(cfg); err != nil {
		fail("secret %q: SPIFFECertValidatorConfig: %v", s.Name, err)
	}
	out := map[string][]*x509.Certificate{}
	for _, td := range cfg.TrustDomains {
		out[td.Name] = certs(td.GetTrustBundle().GetInlineBytes())
	}
	return out
}

func expectCode(err error, code codes.Code, what string) {
	if status.Code(err) != code {
		fail("%s: got %v, want %v", what, err, code)
	}
	fmt.Printf("%s=%s msg=%q\n", what, code, status.Convert(err).Message())
}

func fetchChecks(ctx context.Context, c secretv3.SecretDiscoveryServiceClient) []*x509.Certificate {
	n := node(1, 30, nil)
	resp, err := c.FetchSecrets(ctx, req(n, "default", "ROOTCA"))
	if err != nil {
		fail("FetchSecrets default+ROOTCA: %v", err)
	}
	if resp.VersionInfo != "" || resp.Nonce != "" {
		fail("FetchSecrets answered with version %q nonce %q", resp.VersionInfo, resp.Nonce)
	}
	s := secrets(resp)
	if len(s) != 2 || s["default"] == nil || s["ROOTCA"] == nil {
		fail("FetchSecrets default+ROOTCA: got %v", names(s))
	}
	tds := spiffeValidator(s["ROOTCA"])
	roots := tds[*trustDomain]
	if len(tds) != 1 || len(roots) == 0 {
		fail("ROOTCA: trust domains %v", tds)
	}
	leaf := checkTLS(s["default"], roots)
	fmt.Printf("fetch_default=%s roots=%d rootca_validator=spiffe td=%s\n", leaf.URIs[0], len(roots), *trustDomain)

	resp, err = c.FetchSecrets(ctx, req(n, *expectID))
	if err != nil {
		fail("FetchSecrets %s: %v", *expectID, err)
	}
	if s = secrets(resp); len(s) != 1 || s[*expectID] == nil {
		fail("FetchSecrets named SVID: got %v", names(s))
	}
	checkTLS(s[*expectID], roots)
	fmt.Printf("fetch_named=%s\n", *expectID)

	resp, err = c.FetchSecrets(ctx, req(n, "ALL"))
	if err != nil {
		fail("FetchSecrets ALL: %v", err)
	}
	all := spiffeValidator(secrets(resp)["ALL"])
	var tdNames []string
	for td := range all {
		tdNames = append(tdNames, td)
	}
	if len(all[*trustDomain]) == 0 {
		fail("ALL lacks %s: %v", *trustDomain, tdNames)
	}
	fmt.Printf("fetch_all=%s\n", strings.Join(tdNames, ","))

	resp, err = c.FetchSecrets(ctx, req(n, "spiffe://"+*trustDomain))
	if err != nil {
		fail("FetchSecrets spiffe://%s: %v", *trustDomain, err)
	}
	spiffeValidator(secrets(resp)["spiffe://"+*trustDomain])
	fmt.Printf("fetch_td=spiffe://%s\n", *trustDomain)

	// Opted out through node metadata, and an Envoy older than 1.18: plain trusted CA.
	for _, nn := range []*corev3.Node{node(1, 30, map[string]any{"disable_spiffe_cert_validation": true}),
		node(1, 17, nil)} {
		resp, err = c.FetchSecrets(ctx, req(nn, "ROOTCA"))
		if err != nil {
			fail("FetchSecrets ROOTCA (trusted CA): %v", err)
		}
		vc := secrets(resp)["ROOTCA"].GetValidationContext()
		if vc.GetCustomValidatorConfig() != nil || len(certs(vc.GetTrustedCa().GetInlineBytes())) == 0 {
			fail("ROOTCA for node %v is not a trusted CA", nn)
		}
	}
	fmt.Println("fetch_trusted_ca=ok")
	_, err = c.FetchSecrets(ctx, req(node(1, 17, nil), "ALL"))
	expectCode(err, codes.Internal, "fetch_all_old_envoy")
	_, err = c.FetchSecrets(ctx, req(n, "spiffe://"+*trustDomain+"/not-mine"))
	expectCode(err, codes.InvalidArgument, "fetch_unknown")
	return roots
}

// optionsChecks: the sds {} options of the agent rename the default resources and turn the SPIFFE validator off
// (node metadata turns it back on for one Envoy).
func optionsChecks(ctx context.Context, c secretv3.SecretDiscoveryServiceClient) {
	n := node(1, 30, nil)
	resp, err := c.FetchSecrets(ctx, req(n, *svidName, *bundleName))
	if err != nil {
		fail("FetchSecrets %s+%s: %v", *svidName, *bundleName, err)
	}
	s := secrets(resp)
	vc := s[*bundleName].GetValidationContext()
	roots := certs(vc.GetTrustedCa().GetInlineBytes())
	if vc == nil || vc.GetCustomValidatorConfig() != nil || len(roots) == 0 {
		fail("%s: not a trusted CA although disable_spiffe_cert_validation = true", *bundleName)
	}
	leaf := checkTLS(s[*svidName], roots)
	fmt.Printf("options_fetch=%s:%s %s:trusted_ca\n", *svidName, leaf.URIs[0], *bundleName)
	_, err = c.FetchSecrets(ctx, req(n, "default"))
	expectCode(err, codes.InvalidArgument, "options_old_default_name")
	optIn := node(1, 30, map[string]any{"disable_spiffe_cert_validation": "false"})
	resp, err = c.FetchSecrets(ctx, req(optIn, *allName))
	if err != nil {
		fail("FetchSecrets %s with metadata opt-in: %v", *allName, err)
	}
	tds := spiffeValidator(secrets(resp)[*allName])
	if len(tds[*trustDomain]) == 0 {
		fail("%s: no %s", *allName, *trustDomain)
	}
	fmt.Printf("options_all=%s validator=spiffe (node metadata opt-in)\n", *allName)
}

type streamer struct {
	s    secretv3.SecretDiscoveryService_StreamSecretsClient
	msgs chan *discoveryv3.DiscoveryResponse
	errs chan error
}

func (st *streamer) recv(within time.Duration, what string) *discoveryv3.DiscoveryResponse {
	select {
	case m := <-st.msgs:
		return m
	case err := <-st.errs:
		fail("%s: stream ended: %v", what, err)
	case <-time.After(within):
		fail("%s: nothing within %s", what, within)
	}
	return nil
}

func (st *streamer) send(r *discoveryv3.DiscoveryRequest) {
	if err := st.s.Send(r); err != nil {
		fail("send: %v", err)
	}
}

func leafOf(resp *discoveryv3.DiscoveryResponse, name string, roots []*x509.Certificate) *x509.Certificate {
	s := secrets(resp)[name]
	if s == nil {
		fail("response version %s lacks %q", resp.VersionInfo, name)
	}
	return checkTLS(s, roots)
}

func streamChecks(ctx context.Context, c secretv3.SecretDiscoveryServiceClient, roots []*x509.Certificate) {
	s, err := c.StreamSecrets(ctx)
	if err != nil {
		fail("StreamSecrets: %v", err)
	}
	st := &streamer{s: s, msgs: make(chan *discoveryv3.DiscoveryResponse, 16), errs: make(chan error, 1)}
	go func() {
		for {
			m, err := s.Recv()
			if err != nil {
				st.errs <- err
				return
			}
			st.msgs <- m
		}
	}()
	n := node(1, 30, nil)
	st.send(req(n, "default", "ROOTCA"))
	r := st.recv(10*time.Second, "first answer")
	if r.VersionInfo == "" || r.Nonce == "" || len(r.Resources) != 2 {
		fail("first answer: version %q nonce %q %d resources", r.VersionInfo, r.Nonce, len(r.Resources))
	}
	leaf := leafOf(r, "default", roots)
	fmt.Printf("stream_first version=%s nonce_len=%d\n", r.VersionInfo, len(r.Nonce))
	first := r

	for i := 1; i <= *rotations; i++ {
		ack := req(nil, "default", "ROOTCA") // no node: the stream keeps the first request's
		ack.VersionInfo, ack.ResponseNonce = r.VersionInfo, r.Nonce
		if i == 2 {
			// A NACK: the client keeps the previous version; streaming goes on.
			ack.VersionInfo = first.VersionInfo
			ack.ErrorDetail = &rpcstatus.Status{Code: int32(codes.InvalidArgument), Message: "sdsclient rejects this"}
		}
		st.send(ack)
		// A reply to an older answer is stale: ignored although it asks for other names.
		stale := req(n, "ALL")
		stale.VersionInfo, stale.ResponseNonce = first.VersionInfo, "00000000"
		st.send(stale)
		// The next message is the push of the rotated SVID: the ACK/NACK and the stale request got no answer.
		next := st.recv(90*time.Second, fmt.Sprintf("push after rotation %d", i))
		if next.VersionInfo == r.VersionInfo || next.Nonce == r.Nonce {
			fail("push %d kept version %s / nonce %s", i, next.VersionInfo, next.Nonce)
		}
		if len(next.Resources) != 2 {
			fail("push %d: %v (the stale request was not ignored?)", i, names(secrets(next)))
		}
		nl := leafOf(next, "default", roots)
		if nl.Equal(leaf) {
			fail("push %d carries the same leaf (an answer to the ACK?)", i)
		}
		kind := "ack"
		if i == 2 {
			kind = "nack"
		}
		fmt.Printf("stream_push=%d after=%s version=%s rotated=true not_after=%s\n", i, kind, next.VersionInfo,
			nl.NotAfter.UTC().Format(time.RFC3339))
		leaf, r = nl, next
	}

	// New names with the current nonce: answered at once with the same version.
	change := req(n, *expectID, "ALL")
	change.VersionInfo, change.ResponseNonce = r.VersionInfo, r.Nonce
	st.send(change)
	c2 := st.recv(10*time.Second, "answer to changed names")
	got := secrets(c2)
	if c2.VersionInfo != r.VersionInfo || len(got) != 2 || got[*expectID] == nil || got["ALL"] == nil {
		fail("changed names: version %s (want %s), %v", c2.VersionInfo, r.VersionInfo, names(got))
	}
	checkTLS(got[*expectID], roots)
	fmt.Printf("stream_names_changed version=%s names=%s,ALL\n", c2.VersionInfo, *expectID)

	// An unknown name ends the stream with InvalidArgument, as SPIRE.
	bad := req(n, "spiffe://"+*trustDomain+"/not-mine")
	bad.VersionInfo, bad.ResponseNonce = c2.VersionInfo, c2.Nonce
	st.send(bad)
	select {
	case m := <-st.msgs:
		fail("unknown name answered: %v", names(secrets(m)))
	case err := <-st.errs:
		expectCode(err, codes.InvalidArgument, "stream_unknown")
	case <-time.After(10 * time.Second):
		fail("unknown name: stream not ended")
	}
}

// federatedChecks: the federated trust domain's bundle is its own validation context and part of ALL.
func federatedChecks(ctx context.Context, c secretv3.SecretDiscoveryServiceClient) {
	n := node(1, 30, nil)
	name := "spiffe://" + *federated
	resp, err := c.FetchSecrets(ctx, req(n, name, "ALL"))
	if err != nil {
		fail("FetchSecrets %s+ALL: %v", name, err)
	}
	s := secrets(resp)
	if s[name] == nil || s["ALL"] == nil {
		fail("FetchSecrets %s+ALL: got %v", name, names(s))
	}
	own := spiffeValidator(s[name])
	if len(own) != 1 || len(own[*federated]) < *federatedRoots {
		fail("%s: trust domains %v, want %d roots of %s", name, own, *federatedRoots, *federated)
	}
	all := spiffeValidator(s["ALL"])
	if len(all[*federated]) != len(own[*federated]) || len(all[*trustDomain]) == 0 {
		fail("ALL: %d roots of %s, %d of %s", len(all[*federated]), *federated, len(all[*trustDomain]), *trustDomain)
	}
	fmt.Printf("sds_federated=%s roots=%d all_tds=%d\n", *federated, len(own[*federated]), len(all))
}

func main() {
	flag.Parse()
	if *expectID == "" || *trustDomain == "" {
		fail("-expect-id and -trust-domain are required")
	}
	ctx, cancel := flags.Context()
	defer cancel()
	conn, err := grpc.NewClient(flags.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail("dial: %v", err)
	}
	defer conn.Close()
	c := secretv3.NewSecretDiscoveryServiceClient(conn)

	if *readyMode {
		if _, err := c.FetchSecrets(ctx, req(node(1, 30, nil), "default")); err != nil {
			fail("not ready: %v", err)
		}
		fmt.Println("ready")
		return
	}
	if *federated != "" {
		federatedChecks(ctx, c)
		fmt.Println("PASS")
		return
	}
	if *optionsMode {
		optionsChecks(ctx, c)
		fmt.Println("PASS")
		return
	}
	roots := fetchChecks(ctx, c)
	streamChecks(ctx, c, roots)

	d, err := c.DeltaSecrets(ctx)
	if err != nil {
		fail("DeltaSecrets: %v", err)
	}
	_, err = d.Recv()
	expectCode(err, codes.Unimplemented, "delta")
	fmt.Println("PASS")
}
