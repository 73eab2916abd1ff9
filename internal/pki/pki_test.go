package pki

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
)

// A server certificate verifies for its DNS name and for loopback; a client one for client auth.
func TestIssueVerifies(t *testing.T) {
	ca, err := NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	for _, tc := range []struct {
		usage Usage
		ext   x509.ExtKeyUsage
		name  string
	}{{Server, x509.ExtKeyUsageServerAuth, "api.kubevirt.svc"}, {Client, x509.ExtKeyUsageClientAuth, ""}} {
		kp, err := ca.Issue("leaf", tc.usage, "api.kubevirt.svc")
		if err != nil {
			t.Fatal(err)
		}
		pair, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(pair.Certificate[0])
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: tc.name, KeyUsages: []x509.ExtKeyUsage{tc.ext}}); err != nil {
			t.Fatalf("usage %v: %v", tc.usage, err)
		}
	}
}
