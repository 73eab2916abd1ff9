package tiers

import (
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/onsi/ginkgo/v2"
)

// Scenario returns the labels for a spec (or container) implementing scenario id: the id,
// its tier, priority and Jira keys, the scenario-wide behaviour labels and the
// capabilities every spec of the scenario needs. It is the only label a spec writes:
//
//	var _ = Describe("Processing a template on the server", tiers.Scenario("VMT-003"), func() { ... })
//
// An unknown or out-of-scope id does not panic or stop ginkgo: it is recorded (see
// RegistrationErrors) and the spec gets the InvalidScenario label.
func Scenario(id string) ginkgo.Labels {
	return ginkgo.Label(defaultRegistry.scenario(defaultCatalogue, id, callerLocation())...)
}

// Requires returns capability labels for a spec that needs more than its scenario:
//
//	It("boots the guest from the cloned disk", tiers.Requires(tiers.RequiresGuest), func(ctx SpecContext) { ... })
//
// A name that is not a capability is recorded and replaced by InvalidLabel.
func Requires(capabilities ...string) ginkgo.Labels {
	return ginkgo.Label(defaultRegistry.labels(defaultCatalogue, "Requires", kindCapability, capabilities, callerLocation())...)
}

// Behaviour returns behaviour labels: UpgradePre, UpgradePost, Disruptive. Serial is not
// accepted: use ginkgo's Serial decorator, which adds the Serial label itself.
func Behaviour(behaviours ...string) ginkgo.Labels {
	return ginkgo.Label(defaultRegistry.labels(defaultCatalogue, "Behaviour", kindBehaviour, behaviours, callerLocation())...)
}

// RegistrationErrors returns every problem found while specs were declared (and any
// problem in scenarios.yaml), one line each, naming the call site, the bad value and the
// known set. The suite calls it before RunSpecs and fails when it is not empty:
//
//	if errs := tiers.RegistrationErrors(); len(errs) > 0 {
//		t.Fatal(errors.Join(errs...))
//	}
func RegistrationErrors() []error {
	return append(slices.Clone(catalogueErrs), defaultRegistry.errors()...)
}

// RegistrationError is one bad tiers.Scenario/Requires/Behaviour call.
type RegistrationError struct {
	Location string // file:line of the call
	Call     string // e.g. Scenario("VMT-099")
	Problem  string // what is wrong and what is known
}

func (e *RegistrationError) Error() string {
	return fmt.Sprintf("tiers: %s: tiers.%s: %s", e.Location, e.Call, e.Problem)
}

var defaultRegistry = &registry{}

// registry records registration problems. Specs are declared at package init, usually on
// one goroutine; the lock is for the rest.
type registry struct {
	mu   sync.Mutex
	errs []error
	seen map[string]bool
}

func (r *registry) record(e *RegistrationError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := e.Error()
	if r.seen[key] {
		return
	}
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	r.seen[key] = true
	r.errs = append(r.errs, e)
}

func (r *registry) errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

func (r *registry) scenario(c *ScenarioCatalogue, id, loc string) []string {
	call := fmt.Sprintf("Scenario(%q)", id)
	s, ok := c.Lookup(id)
	if !ok {
		r.record(&RegistrationError{loc, call, "unknown scenario id; in-scope ids: " + strings.Join(c.inScopeIDs(), " ")})
		return []string{InvalidScenario}
	}
	if !s.InScope {
		r.record(&RegistrationError{loc, call, fmt.Sprintf("scenario is out of scope (%s); remove the spec or bring the scenario into scope in tiers/scenarios.yaml", s.Reason)})
		return []string{s.ID, InvalidScenario}
	}
	return s.Labels()
}

func (r *registry) labels(c *ScenarioCatalogue, fn string, want labelKind, labels []string, loc string) []string {
	allowed := capabilityLabels
	if want == kindBehaviour {
		allowed = []string{UpgradePre, UpgradePost, Disruptive}
	}
	var out []string
	for _, l := range labels {
		call := fmt.Sprintf("%s(%q)", fn, l)
		switch {
		case strings.EqualFold(l, Serial) && want == kindBehaviour:
			r.record(&RegistrationError{loc, call, "use ginkgo's Serial decorator instead; it adds the Serial label and makes the spec run alone"})
			out = append(out, InvalidLabel)
		case !slices.Contains(allowed, l):
			problem := "not one of: " + strings.Join(allowed, " ")
			if twin, ok := c.caseTwin(l); ok {
				problem = fmt.Sprintf("did you mean %q? ", twin) + problem
			}
			r.record(&RegistrationError{loc, call, problem})
			out = append(out, InvalidLabel)
		default:
			out = append(out, l)
		}
	}
	return out
}

// callerLocation names the spec file line that called the exported helper.
func callerLocation() string {
	_, file, line, ok := runtime.Caller(2)
	if !ok {
		return "unknown location"
	}
	return fmt.Sprintf("%s:%d", filepath.Join(filepath.Base(filepath.Dir(file)), filepath.Base(file)), line)
}
