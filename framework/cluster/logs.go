package cluster

// ComponentLogger is implemented by providers whose template components write log files
// instead of running as pods (the local lane): the failure dumps tail those files, where on
// a real cluster they fetch the pods' logs.
type ComponentLogger interface {
	// ComponentLogs are log files, or directories of *.log files; valid after Up.
	ComponentLogs() []string
}
