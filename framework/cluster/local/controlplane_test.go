package local

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/vmt-conformance/vmt-conformance/fixtures/crds"
)

// TestKubernetesVersionMatchesToolsModule keeps the default assets path in step with ci/kube.
func TestKubernetesVersionMatchesToolsModule(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "ci", "kube", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`k8s\.io/kubernetes (v\S+)`).FindSubmatch(raw)
	if m == nil || string(m[1]) != KubernetesVersion {
		t.Fatalf("ci/kube/go.mod pins k8s.io/kubernetes %q, framework/cluster/local says %q", m, KubernetesVersion)
	}
}

func TestCheckAssetsNamesTheMissingBinary(t *testing.T) {
	err := CheckAssets(t.TempDir())
	if err == nil || !regexp.MustCompile(`etcd not found .*make cluster-binaries`).MatchString(err.Error()) {
		t.Fatalf("want an error naming etcd and the make target, got %v", err)
	}
}

// TestStartStop starts a real control plane: the controller manager's loops run and Stop
// leaves no process or directory behind.
func TestStartStop(t *testing.T) {
	if err := CheckAssets(DefaultAssetsDir()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	root := t.TempDir()
	cp, err := Start(ctx, Options{StateRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	dir := cp.Dir()
	defer func() { _ = cp.Stop() }()
	for _, tm := range cp.Timings {
		t.Logf("%-35s %v", tm.Phase, tm.Duration.Round(time.Millisecond))
	}
	cs := kubernetes.NewForConfigOrDie(cp.RESTConfig())
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "smoke-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	gone := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if gone != nil {
		t.Fatalf("namespace %s still exists 30 s after delete: the namespace controller is not running", ns.Name)
	}
	if err := cp.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("run directory %s still exists after Stop", dir)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		raw, _ := os.ReadFile(p)
		if regexp.MustCompile(regexp.QuoteMeta(dir)).Match(raw) {
			t.Fatalf("process %s still runs from %s after Stop", p, dir)
		}
	}
}

// BenchmarkWarmStart measures what the target (≤ 8 s) is about: a local cluster with
// cached binaries, from nothing to serving with every CRD fixture installed and the
// controller manager running. `make bench` runs it.
func BenchmarkWarmStart(b *testing.B) {
	if err := CheckAssets(DefaultAssetsDir()); err != nil {
		b.Fatal(err)
	}
	defs, err := crds.Load(crds.Sets()...)
	if err != nil {
		b.Fatal(err)
	}
	root := b.TempDir()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		cp, err := Start(context.Background(), Options{StateRoot: root, CRDs: defs})
		if err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		total += elapsed
		b.StopTimer()
		for _, t := range cp.Timings {
			b.Logf("run %d: %-35s %v", i, t.Phase, t.Duration.Round(time.Millisecond))
		}
		if err := cp.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/start")
}
