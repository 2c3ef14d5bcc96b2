package cvmfacts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
	"time"
)

// A certificate carrying the facts as spire-cvm's server encodes them parses with crypto/x509, and FromCertificate
// returns them; one without the extension gives ErrNoFacts.
func TestFromCertificate(t *testing.T) {
	want := NodeFacts{
		Version: 1, AttestationKind: "aws_iid+sev_snp", Measurement: make([]byte, 48), ReportVersion: 3,
		Product: "Genoa", SigningKey: 1, CspID: "CN=cc-us-east-1.amazonaws.com",
		ReportedTCB: new(big.Int).SetUint64(0xdb18000000000004), PolicySMT: true, HostData: make([]byte, 32),
		ReportID: make([]byte, 32), AWSAccountID: "123456789012", AWSRegion: "us-east-1",
		AttestedAt: time.Unix(1790000000, 0).UTC(),
	}
	facts, err := asn1.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := asn1.Marshal(asn1.RawValue{Class: 0, Tag: 17, IsCompound: true, Bytes: facts})
	attr, _ := asn1.Marshal(asn1.RawValue{Class: 0, Tag: 16, IsCompound: true, Bytes: append(append([]byte{}, oidNodeFactsDER...), set...)})
	value, _ := asn1.Marshal(asn1.RawValue{Class: 0, Tag: 16, IsCompound: true, Bytes: attr})

	for _, withFacts := range []bool{true, false} {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		if withFacts {
			tmpl.ExtraExtensions = []pkix.Extension{{Id: oidSubjectDirectoryAttributes, Value: value}}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("crypto/x509 refuses the certificate: %v", err)
		}
		got, err := FromCertificate(cert)
		if !withFacts {
			if !errors.Is(err, ErrNoFacts) {
				t.Fatalf("without the extension: %v, want ErrNoFacts", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got.AWSRegion != want.AWSRegion || got.CspID != want.CspID || got.ReportedTCB.Cmp(want.ReportedTCB) != 0 ||
			!got.AttestedAt.Equal(want.AttestedAt) || !got.PolicySMT || got.SigningKey != 1 {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
}
