package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
)

func main() {
	flag.Parse()
	beam.Init()
	p, s := beam.NewPipelineWithRoot()
	c := beam.Create(s, 1, 2, 3)
	sum := beam.Combine(s, func(a, b int) int { return a + b }, c)
	beam.ParDo0(s, func(v int) { fmt.Println("sum", v) }, sum)
	if err := beamx.Run(context.Background(), p); err != nil {
		panic(err)
	}
}
