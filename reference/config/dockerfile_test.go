package config

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// reference/Dockerfile cannot be built here (no Docker); this checks what can go stale: each
// COMPONENT builds a command that exists, to the path its Deployment runs.
func TestDockerfileBuildsTheDeployedCommands(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	// case arms: `controller) cmd=vmt-template-controller; entry=manager ;;`
	arms := regexp.MustCompile(`(?m)^\s*(\w+)\)\s*cmd=([\w-]+);\s*entry=([\w-]+)\s*;;`).FindAllStringSubmatch(text, -1)
	built := map[string][2]string{}
	for _, a := range arms {
		built[a[1]] = [2]string{a[2], a[3]}
	}
	want := map[string]struct{ cmd, deployment string }{
		"controller": {"vmt-template-controller", ControllerDeployment},
		"apiserver":  {"vmt-template-apiserver", APIServerDeployment},
	}
	if len(built) != len(want) {
		t.Fatalf("Dockerfile builds %v, want components %v", built, want)
	}
	objs := mustObjects(t, Options{})
	for component, w := range want {
		got, ok := built[component]
		if !ok || got[0] != w.cmd {
			t.Errorf("COMPONENT=%s builds %q, want %q", component, got[0], w.cmd)
			continue
		}
		dir := filepath.Join("..", "..", "cmd", got[0])
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			t.Errorf("COMPONENT=%s builds ./cmd/%s, which does not exist", component, got[0])
		} else if entries, _ := filepath.Glob(filepath.Join(dir, "*.go")); len(entries) > 0 {
			src, err := os.ReadFile(entries[0])
			if err != nil || !regexp.MustCompile(`(?m)^package main$`).Match(src) {
				t.Errorf("./cmd/%s is not a main package", got[0])
			}
		}
		command := deploymentCommand(t, find(t, objs, "Deployment", w.deployment))
		if want := []string{"/" + got[1]}; !slices.Equal(command, want) {
			t.Errorf("COMPONENT=%s installs /%s, but %s runs %v", component, got[1], w.deployment, command)
		}
	}
	for _, need := range []string{"FROM gcr.io/distroless/static:nonroot", "USER 65532:65532", "CGO_ENABLED=0", "ARG COMPONENT="} {
		if !strings.Contains(text, need) {
			t.Errorf("Dockerfile lacks %q", need)
		}
	}
	if _, err := os.Stat(filepath.Join("..", "Dockerfile.dockerignore")); err != nil {
		t.Errorf("the build context (repository root) needs reference/Dockerfile.dockerignore: %v", err)
	}
}

func deploymentCommand(t *testing.T, u *unstructured.Unstructured) []string {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	if len(containers) != 1 {
		t.Fatalf("%s: %d containers", u.GetName(), len(containers))
	}
	command, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "command")
	return command
}
