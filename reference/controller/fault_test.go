package controller

import (
	"testing"

	snapshotv1beta1 "kubevirt.io/api/snapshot/v1beta1"
)

// The keep-source-mac fault (package reference/faults) puts the MACs back and nothing else:
// serial and UUID stay stripped.
func TestFaultKeepSourceMACs(t *testing.T) {
	src := sourceVM()
	spec, err := templateSpec(defaultRelease, src, []snapshotv1beta1.VolumeBackup{backup("rootdisk")}, "target", func(v string) string { return "clone-" + v })
	if err != nil {
		t.Fatal(err)
	}
	keepSourceMACs(src, &spec)
	domain := spec.Template.Spec.Domain
	if mac := domain.Devices.Interfaces[0].MacAddress; mac != "02:00:00:00:00:01" {
		t.Errorf("MAC %q, want the source's", mac)
	}
	if domain.Firmware.Serial != "" || domain.Firmware.UUID != "" {
		t.Errorf("serial %q, UUID %q: the fault must keep only the MAC", domain.Firmware.Serial, domain.Firmware.UUID)
	}
}
