package engine

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/vmt-conformance/vmt-conformance/reference/api/core/v1beta1"
)

// largeTemplate is a realistic big template: 50 parameters (a third generated) and a VM with
// 16 disks and volumes, 8 interfaces, 8 DataVolumeTemplates, labels, annotations and a
// cloud-init script, about 12 KiB of JSON.
func largeTemplate(tb testing.TB) *v1beta1.VirtualMachineTemplate {
	tb.Helper()
	var params []v1beta1.Parameter
	for i := range 50 {
		p := v1beta1.Parameter{Name: fmt.Sprintf("P%02d", i), Value: fmt.Sprintf("value-%02d", i)}
		if i%3 == 0 {
			p.Value, p.Generate, p.From = "", GeneratorExpression, "x-[a-z0-9]{8}"
		}
		params = append(params, p)
	}
	params[1].Value = "4" // cores, typed
	params[2].Value = "true"

	var disks, volumes, ifaces, networks, dvts []string
	for i := range 16 {
		disks = append(disks, fmt.Sprintf(`{"name":"disk%d","disk":{"bus":"virtio"},"bootOrder":%d}`, i, i+1))
		if i < 8 {
			volumes = append(volumes, fmt.Sprintf(`{"name":"disk%d","dataVolume":{"name":"${P00}-disk%d"}}`, i, i))
			dvts = append(dvts, fmt.Sprintf(`{"metadata":{"name":"${P00}-disk%d","labels":{"app":"${P%02d}"}},`+
				`"spec":{"sourceRef":{"kind":"DataSource","name":"${P%02d}","namespace":"golden-images"},`+
				`"storage":{"resources":{"requests":{"storage":"30Gi"}},"storageClassName":"${P%02d}"}}}`, i, 10+i, 20+i, 30+i))
		} else {
			volumes = append(volumes, fmt.Sprintf(`{"name":"disk%d","containerDisk":{"image":"quay.io/containerdisks/${P%02d}:latest"}}`, i, 30+i))
		}
	}
	for i := range 8 {
		ifaces = append(ifaces, fmt.Sprintf(`{"name":"net%d","bridge":{},"model":"virtio"}`, i))
		networks = append(networks, fmt.Sprintf(`{"name":"net%d","multus":{"networkName":"${P%02d}/net%d"}}`, i, 40+i, i))
	}
	userData := strings.Repeat("#cloud-config\\nuser: ${P03}\\npassword: ${P04}\\nchpasswd: { expire: False }\\n", 12)
	var labels []string
	for i := range 10 {
		labels = append(labels, fmt.Sprintf(`"example.com/label-%d":"${P%02d}"`, i, i+5))
	}
	vm := fmt.Sprintf(`{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine",
 "metadata":{"name":"${P00}","namespace":"hard-coded","labels":{%s},"annotations":{"description":"VM ${P00} of ${P48}","${P49}":"yes","extra":"${P18}-${P19}-${P28}-${P29}"}},
 "spec":{"runStrategy":"Always","dataVolumeTemplates":[%s],
  "template":{"metadata":{"labels":{"kubevirt.io/domain":"${P00}"}},
   "spec":{"domain":{"cpu":{"cores":"${{P01}}","sockets":1,"threads":1},"memory":{"guest":"4Gi"},
     "devices":{"disks":[%s],"interfaces":[%s],"autoattachSerialConsole":"${{P02}}"},
     "features":{"acpi":{},"smm":{"enabled":true}},"firmware":{"bootloader":{"efi":{"secureBoot":true}}}},
    "networks":[%s],"volumes":[%s,{"name":"cloudinit","cloudInitNoCloud":{"userData":"%s"}}],
    "terminationGracePeriodSeconds":180,"evictionStrategy":"LiveMigrate"}}}}`,
		strings.Join(labels, ","), strings.Join(dvts, ","), strings.Join(disks, ","), strings.Join(ifaces, ","),
		strings.Join(networks, ","), strings.Join(volumes, ","), userData)
	raw, err := yaml.YAMLToJSON([]byte(vm))
	if err != nil {
		tb.Fatal(err)
	}
	return &v1beta1.VirtualMachineTemplate{Spec: v1beta1.VirtualMachineTemplateSpec{
		VirtualMachine: &runtime.RawExtension{Raw: raw},
		Parameters:     params,
		Message:        "VM ${P00} is ready; log in as ${P03}.",
	}}
}

func BenchmarkProcess(b *testing.B) {
	tpl := largeTemplate(b)
	p := Processor{Rand: rand.NewChaCha8([32]byte{1})}
	values := map[string]string{"P05": "override"}
	b.SetBytes(int64(len(tpl.Spec.VirtualMachine.Raw)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := p.Process(tpl, values)
		if err != nil || len(res.Warnings) != 0 {
			b.Fatal(err, res.Warnings)
		}
	}
}

// BenchmarkProcessCommonTemplate is a typical template for comparison: testdata/fedora
// (4 parameters, two generated, instancetype and preference, one DataVolumeTemplate).
func BenchmarkProcessCommonTemplate(b *testing.B) {
	data, err := os.ReadFile("testdata/fedora.input.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var input goldenInput
	if err := yaml.Unmarshal(data, &input); err != nil {
		b.Fatal(err)
	}
	p := Processor{Rand: rand.NewChaCha8([32]byte{2})}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Process(&input.Template, input.Parameters); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloor measures, on the BenchmarkProcess VM, the library steps any exact
// implementation must pay: KubeVirt's own VirtualMachineInstanceSpec.UnmarshalJSON (which
// the strict converter calls) and the converter on the rest of the VM. Plain
// json.Unmarshal into a map, upstream's first step, is shown for scale.
func BenchmarkFloor(b *testing.B) {
	raw := largeTemplate(b).Spec.VirtualMachine.Raw
	var tree map[string]any
	if err := json.Unmarshal(raw, &tree); err != nil {
		b.Fatal(err)
	}
	template := tree["spec"].(map[string]any)["template"].(map[string]any)
	vmiSpec, _ := json.Marshal(template["spec"])
	b.Run("json.Unmarshal-map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m map[string]any
			_ = json.Unmarshal(raw, &m)
		}
	})
	b.Run("VMISpec.UnmarshalJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var s kubevirtv1.VirtualMachineInstanceSpec
			_ = s.UnmarshalJSON(vmiSpec)
		}
	})
	b.Run("converter-without-VMISpec", func(b *testing.B) {
		spec := template["spec"]
		delete(template, "spec")
		defer func() { template["spec"] = spec }()
		b.ReportAllocs()
		for b.Loop() {
			var vm kubevirtv1.VirtualMachine
			_ = runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(tree, &vm, true)
		}
	})
}
