// Command render prints the reference implementation's manifests as one multi-document YAML
// stream, for `kubectl apply -f -` (the kind lane):
//
//	go run ./reference/config/render --self-signed --create-namespace | kubectl apply --server-side -f -
//
// Without --self-signed or --ca-bundle the APIServices and webhooks carry no CA bundle and
// the Deployments wait for their certificate Secrets (see config.Options).
// --emulate-release=<version> renders the manifests of that virt-template release (default
// v0.2.2; see package reference/emulation).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vmt-conformance/vmt-conformance/reference/config"
	"github.com/vmt-conformance/vmt-conformance/reference/emulation"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(2)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	var opts config.Options
	var caFile string
	var selfSigned bool
	fs.StringVar(&opts.Namespace, "namespace", config.DefaultNamespace, "install namespace")
	fs.StringVar(&opts.ControllerImage, "controller-image", config.DefaultControllerImage, "image of virt-template-controller")
	fs.StringVar(&opts.APIServerImage, "apiserver-image", config.DefaultAPIServerImage, "image of virt-template-apiserver")
	fs.BoolVar(&opts.CreateNamespace, "create-namespace", false, "include the Namespace object")
	fs.StringVar(&caFile, "ca-bundle", "", "PEM file of the CA that signed the serving certificates, injected into the APIServices and webhooks")
	fs.BoolVar(&selfSigned, "self-signed", false, "issue a throwaway CA and the serving-certificate Secrets, and inject the CA (test clusters only)")
	rel := emulation.Default
	opts.Release = &rel
	fs.Var(emulation.Flag{V: &rel}, emulation.FlagName, emulation.Usage)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if caFile != "" && selfSigned {
		return fmt.Errorf("--ca-bundle and --self-signed exclude each other")
	}
	if caFile != "" {
		ca, err := os.ReadFile(caFile)
		if err != nil {
			return err
		}
		opts.CABundle = ca
	}
	if selfSigned {
		ns := opts.Namespace
		if ns == "" {
			ns = config.DefaultNamespace
		}
		tls, err := config.SelfSignedTLS(ns)
		if err != nil {
			return err
		}
		opts.TLS = tls
	}
	objs, err := config.Objects(opts)
	if err != nil {
		return err
	}
	data, err := config.YAML(objs)
	if err != nil {
		return err
	}
	_, err = out.Write(data)
	return err
}
