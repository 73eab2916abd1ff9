package config

import (
	"fmt"

	"github.com/vmt-conformance/vmt-conformance/internal/pki"
)

// SelfSignedTLS issues a throwaway CA and the three serving certificates for an install in
// namespace, each naming its Service (<service>.<namespace>.svc and .svc.cluster.local): what
// virt-operator would otherwise create. For test clusters; the certificates last a week.
func SelfSignedTLS(namespace string) (*TLS, error) {
	ca, err := pki.NewCA("virt-template-ca")
	if err != nil {
		return nil, err
	}
	issue := func(service string) (KeyPair, error) {
		host := service + "." + namespace + ".svc"
		kp, err := ca.Issue(host, pki.Server, host, host+".cluster.local")
		if err != nil {
			return KeyPair{}, fmt.Errorf("issuing the certificate of %s: %w", service, err)
		}
		return KeyPair{Cert: kp.CertPEM, Key: kp.KeyPEM}, nil
	}
	t := &TLS{CA: ca.CertPEM}
	if t.APIServer, err = issue(APIServerService); err != nil {
		return nil, err
	}
	if t.Webhook, err = issue(WebhookService); err != nil {
		return nil, err
	}
	if t.Metrics, err = issue(MetricsService); err != nil {
		return nil, err
	}
	return t, nil
}
