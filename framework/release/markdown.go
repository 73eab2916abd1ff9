package release

import (
	"fmt"
	"strings"
)

// Markdown renders the behaviour table and the KubeVirt mapping for the README.
func Markdown() string {
	var sb strings.Builder
	sb.WriteString("| behaviour | virt-template | from then on | older releases | upstream |\n")
	sb.WriteString("|---|---|---|---|---|\n")
	for _, b := range behaviours {
		since := b.span()
		if !b.Verified {
			since += " (unverified)"
		}
		before := b.Before
		if before == "" {
			before = "same (since the first release)"
		}
		if b.WasRemoved() {
			before += "; removed in " + b.Removed.String()
		}
		fmt.Fprintf(&sb, "| `%s` | %s | %s | %s | %s |\n",
			b.ID, since, cell(b.Description), cell(before), cell(b.Source))
	}
	sb.WriteString("\n| KubeVirt | deploys virt-template | upstream |\n")
	sb.WriteString("|---|---|---|\n")
	fmt.Fprintf(&sb, "| < %s | none | bundle added in kubevirt/kubevirt commit e46cb0d3 |\n", firstKubeVirtWithBundle)
	for _, k := range kubeVirtBundles {
		fmt.Fprintf(&sb, "| %s … < %s | %s | %s |\n", k.From, k.Before, k.VirtTemplate, cell(k.Source))
	}
	fmt.Fprintf(&sb, "| ≥ %s | unknown (newest assumed; kubevirt/kubevirt PR #19180 moves main to v0.2.4) | |\n", lastKubeVirtMapped)
	return sb.String()
}

// cell keeps a table cell on one line and its pipes literal.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "|", `\|`)
}
