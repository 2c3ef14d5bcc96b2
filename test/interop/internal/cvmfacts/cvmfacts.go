// Package cvmfacts reads the node facts a spire-cvm X509-SVID carries (docs/svid-evidence.md): a non-critical
// subjectDirectoryAttributes extension (2.5.29.9) holding one attribute of type
// 2.25.34672371845314146393626899942651559457 whose value is the NodeFacts SEQUENCE. This is the documented Go
// snippet; it needs only the standard library.
package cvmfacts

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// ErrNoFacts: the certificate carries no node facts (e.g. its node attested by join_token).
var ErrNoFacts = errors.New("the SVID carries no node facts")

var oidSubjectDirectoryAttributes = asn1.ObjectIdentifier{2, 5, 29, 9}

// The facts' OID, DER-encoded (tag 06, length, contents). encoding/asn1 cannot hold its 128-bit arc in an
// asn1.ObjectIdentifier, so it is compared as bytes.
var oidNodeFactsDER = []byte{0x06, 0x13, 0x69, 0xb4, 0x95, 0xd3, 0xfa, 0xc7, 0xda, 0xca, 0xb9, 0xbd, 0x89, 0xcf, 0x94,
	0x85, 0xe1, 0xc9, 0xe5, 0xfc, 0x21}

// NodeFacts mirrors the ASN.1 module's NodeFacts (version 1).
type NodeFacts struct {
	Version         int
	AttestationKind string `asn1:"utf8"`
	Measurement     []byte
	ReportVersion   int64
	Product         string          `asn1:"utf8"`
	SigningKey      asn1.Enumerated // 0 VCEK, 1 VLEK
	CspID           string          `asn1:"utf8"`
	ReportedTCB     *big.Int
	PolicyDebug     bool
	PolicyMigrateMA bool
	PolicySMT       bool
	VMPL            int
	HostData        []byte
	ReportID        []byte
	AWSAccountID    string    `asn1:"utf8"`
	AWSRegion       string    `asn1:"utf8"`
	AttestedAt      time.Time `asn1:"generalized"`
}

type attribute struct {
	Type   asn1.RawValue
	Values []asn1.RawValue `asn1:"set"`
}

// FromCertificate returns the facts in an X509-SVID leaf (verify its chain first, e.g. with go-spiffe).
func FromCertificate(cert *x509.Certificate) (*NodeFacts, error) {
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSubjectDirectoryAttributes) {
			continue
		}
		var attrs []attribute
		if rest, err := asn1.Unmarshal(ext.Value, &attrs); err != nil || len(rest) != 0 {
			return nil, fmt.Errorf("subjectDirectoryAttributes: malformed (%v)", err)
		}
		for _, a := range attrs {
			if !bytes.Equal(a.Type.FullBytes, oidNodeFactsDER) {
				continue
			}
			if len(a.Values) != 1 {
				return nil, fmt.Errorf("node facts: %d values, expected 1", len(a.Values))
			}
			var f NodeFacts
			if rest, err := asn1.Unmarshal(a.Values[0].FullBytes, &f); err != nil || len(rest) != 0 {
				return nil, fmt.Errorf("node facts: malformed (%v)", err)
			}
			if f.Version != 1 || len(f.Measurement) != 48 || len(f.HostData) != 32 || len(f.ReportID) != 32 {
				return nil, fmt.Errorf("node facts: version %d or field sizes not as the module says", f.Version)
			}
			return &f, nil
		}
	}
	return nil, ErrNoFacts
}
