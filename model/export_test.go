package model

import "context"

// RunReference runs one inference on the plain path (runState: recorded
// as it goes, nothing kept) that the executors are checked against.
func RunReference(md *Model, ctx context.Context, inputs []NamedTensor) ([]NamedTensor, error) {
	return md.runReference(ctx, inputs)
}
