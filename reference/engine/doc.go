// Package engine processes VirtualMachineTemplates the way upstream kubevirt/virt-template
// v0.2.x does (its virt-template-engine module, see virt-template.md §3.2 and §4): same
// order of checks, same substitution rules, same error texts and field paths. It is pure:
// no client, no clock, and randomness comes from Processor.Rand.
//
// # Surface
//
//	Processor{Rand io.Reader}                     nil Rand: crypto/rand
//	    (FaultIgnoreParameterDefaults: a deliberate bug for the self-tests, reference/faults)
//	(Processor).Process(tpl, values) (*Result, error)
//	    /process after fetching the template: MergeParameters, reference check, Render.
//	(Processor).Render(tpl) (*VirtualMachine, message, error)
//	    upstream's processor alone (no merge, no reference check).
//	(Processor).Validate(tpl) (warnings, error)
//	    the validating webhook: references, then SkipProcessingValidation, then Render.
//	Result{VirtualMachine, Message, Warnings}
//	MergeParameters(params, values)                caller values over declared parameters
//	ValidateReferences(tpl) (warnings, field.ErrorList)
//	SkipProcessingValidation(tpl) []string         the webhook's "skipped" warnings
//	StatusError(templateName, err) *apierrors.StatusError
//	UnknownParameterError{Name}                    → 409 Conflict
//	InvalidError{Stage, Errors field.ErrorList}    → 422 Invalid
//	GeneratorExpression                            the only generator name
//
// # Using it
//
// An aggregated API server decodes ProcessOptions, reads the template, calls Process, sends
// Result.Warnings as HTTP warnings (also on failure: Result is non-nil once the reference
// check has run) and answers errors with StatusError(name, err), which reproduces
// upstream's codes and messages, including the double space of
// `Operation cannot be fulfilled on  "<name>": …` and the leading space of
// ` "<name>" is invalid: …`. Fetch failures are the server's own (upstream: 500).
//
// A CLI (`virtctl template process --local`) calls Process and prints each warning as
// `Warning: <w>`; upstream's virtctl prefixes errors by stage: *UnknownParameterError with
// "error merging template parameters: ", an *InvalidError of StageReferences with
// "error validating template parameters: ", and one of StageProcessing with
// "error processing VirtualMachineTemplate locally: ".
//
// A webhook calls Validate; a denial reads `processing validation failed: <field error>`
// or the reference errors, exactly as upstream.
//
// # Where this differs from upstream, on purpose
//
// Upstream leaves some choices to Go's random map order; here they are deterministic:
// with several unknown supplied keys the alphabetically first is reported; undefined
// references are listed sorted by name and unused-parameter warnings in parameter order;
// the first substitution error is the one found visiting object keys in sorted order; when
// two keys become equal after substitution the later one in sorted order wins. A Go caller
// may also put an object instead of raw JSON into spec.virtualMachine: it is processed as
// its JSON form (upstream walks typed objects with reflection; the outcome differs only for
// a ${{X}} reference in a typed string field, which upstream refuses). The expression
// generator stops after 1024 groups formed by its own output and a random source that keeps
// yielding unusable bytes is an error; neither can happen with crypto/rand.
//
// # Behaviour worth knowing (upstream's, kept)
//
//   - Strict conversion stops at spec.template.spec: KubeVirt's VirtualMachineInstanceSpec
//     decodes itself leniently, so unknown fields there are dropped without error, and type
//     errors there read `json: cannot unmarshal … into Go struct field …`.
//   - "${X}" replacements are done one after the other on the rewritten string, so a value
//     that contains or completes a reference shifts later replacements.
//   - The generator's range "ab-z" means a, b and z; `\x` means x; spans run over
//     a…zA…Z0…9, so "a-Z" and "j-9" are valid; alphabets are sorted by byte value.
//   - Generated text is scanned again, so it can itself form a "[...]{n}" group.
//
// The two hottest upstream steps (encoding/json into map[string]interface{} and the
// converter's json.Marshal of the VMI spec) are done by hand in jsontree.go and checked
// against encoding/json by tests and fuzzing; anything unusual falls back to the library.
package engine
