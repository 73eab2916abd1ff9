package kit

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// EnqueueListed maps any event to a reconcile request for each object of newList's kind
// that keep accepts: in the event's namespace when sameNamespace, else cluster-wide. Objects
// waiting for something else to appear (a source, a VM, an instance type) look again.
func EnqueueListed(c client.Client, newList func() client.ObjectList, sameNamespace bool, keep func(client.Object) bool) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		list := newList()
		var opts []client.ListOption
		if sameNamespace {
			opts = append(opts, client.InNamespace(obj.GetNamespace()))
		}
		if err := c.List(ctx, list, opts...); err != nil {
			return nil
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return nil
		}
		var out []reconcile.Request
		for _, item := range items {
			o, ok := item.(client.Object)
			if !ok || (keep != nil && !keep(o)) {
				continue
			}
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o)})
		}
		return out
	})
}
