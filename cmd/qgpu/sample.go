package main

import (
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/qgpu/qgpu/qtensor"
)

func init() {
	register(&command{name: "sample", summary: "write a sample tensor (random or constant) to try the other commands on", run: cmdSample})
}

const sampleAbout = `
Writes a tensor of pseudo-random values (the same for the same --seed) or
a constant, to try the other commands without data of your own: a weight
(--dist normal), activations after a ReLU (--dist relu), heavy tails
(--dist t: Student's t with 3 degrees of freedom), uniform values in
[-1, 1) (--dist uniform), each times --scale; --fill V writes the constant
V instead (a 0-d tensor unless --shape is given: a scale or zero point for
qgpu run). --dtype int8, uint8 or int32 rounds the values (half to even)
and clamps them to the type. The extension of --out picks the format:
.npy, .safetensors or .qt (a name without one gets .npy).`

const sampleExamples = `
  qgpu sample --shape 768x3072 --scale 0.02 --out w.npy
  qgpu sample --shape 16x768 --dist relu --out act.npy
  qgpu sample --fill 0.001 --out scale.npy
  qgpu sample --fill 0 --dtype int8 --out zp.npy`

// sampleDists are the distributions of --dist: one value from r each.
var sampleDists = map[string]func(r *rand.Rand) float64{
	"normal":  func(r *rand.Rand) float64 { return r.NormFloat64() },
	"uniform": func(r *rand.Rand) float64 { return 2*r.Float64() - 1 },
	"relu":    func(r *rand.Rand) float64 { return max(0, r.NormFloat64()) },
	"t": func(r *rand.Rand) float64 {
		v := 0.0
		for range 3 {
			g := r.NormFloat64()
			v += g * g
		}
		return r.NormFloat64() / math.Sqrt(v/3)
	},
}

func cmdSample(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sample", "qgpu sample [--shape DxDx...] [--dist D] [--scale S] [--seed N] [--fill V] [--dtype T] --out F.npy", sampleAbout, sampleExamples, stdout)
	shape := fs.String("shape", "", "shape `DxDx...` (none: a 0-d tensor, with --fill only)")
	dist := fs.String("dist", "normal", "distribution: normal, uniform, relu or t")
	scale := fs.Float64("scale", 1, "multiply the values by `S`")
	seed := fs.Uint64("seed", 1, "random seed")
	fill := fs.String("fill", "", "write the constant `V` instead of random values")
	dtype := fs.String("dtype", "float32", "element type: float32, int8, uint8 or int32")
	out := fs.String("out", "", "output `FILE`: .npy, .safetensors or .qt (the extension picks the format)")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if err := noArgs("sample", pos); err != nil {
		return err
	}
	given := fs.given()
	if *out == "" {
		return usagef("sample: --out is required (qgpu sample -h)")
	}
	format, err := outputFormat("sample", "--out", *out, nil, formatNPY, formatSafetensors, formatQT)
	if err != nil {
		return err
	}
	dims, err := sampleShape(*shape, *fill != "")
	if err != nil {
		return err
	}
	vals, err := sampleValues(dims, *dist, *fill, *scale, *seed, given)
	if err != nil {
		return err
	}
	t, err := sampleTensor(*dtype, dims, vals)
	if err != nil {
		return err
	}
	t.Name = tensorName(&qtensor.Tensor{}, *out)
	return saveTensor(*out, format, t)
}

// sampleShape parses --shape ("" is 0-d, allowed with --fill only).
func sampleShape(s string, fill bool) ([]int, error) {
	if s == "" {
		if !fill {
			return nil, usagef("sample: --shape is required for random values (e.g. --shape 768x3072)")
		}
		return []int{}, nil
	}
	dims, err := parseInts(s, "x")
	if err != nil {
		return nil, usagef("sample: --shape: %v", err)
	}
	n := 1
	for _, d := range dims {
		if d < 0 || d > 1<<30 || n*max(d, 1) > 1<<28 {
			return nil, usagef("sample: --shape %s: dimensions in [0, 2^30], at most 2^28 elements", shortQ(s))
		}
		n *= max(d, 1)
	}
	return dims, nil
}

// sampleValues returns the values of the tensor: --fill, or --dist times
// --scale from --seed.
func sampleValues(dims []int, dist, fill string, scale float64, seed uint64, given map[string]bool) ([]float64, error) {
	n, _ := qtensor.NumElements(dims)
	vals := make([]float64, n)
	if fill != "" {
		if given["dist"] || given["scale"] || given["seed"] {
			return nil, usagef("sample: --fill writes a constant: drop --dist, --scale and --seed")
		}
		v, err := strconv.ParseFloat(fill, 64)
		if err != nil {
			return nil, usagef("sample: --fill %s is not a number", shortQ(fill))
		}
		for i := range vals {
			vals[i] = v
		}
		return vals, nil
	}
	f, ok := sampleDists[dist]
	if !ok {
		return nil, usagef("sample: --dist %s: want normal, uniform, relu or t%s", shortQ(dist), didYouMean(dist, []string{"normal", "uniform", "relu", "t"}))
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	for i := range vals {
		vals[i] = f(r) * scale
	}
	return vals, nil
}

// sampleTensor makes the tensor of type dtype (integers rounded half to
// even and clamped).
func sampleTensor(dtype string, dims []int, vals []float64) (*qtensor.Tensor, error) {
	switch strings.ToLower(dtype) {
	case "float32":
		f := make([]float32, len(vals))
		for i, v := range vals {
			f[i] = float32(v)
		}
		return qtensor.FromFloat32(dims, f)
	case "int32":
		iv := make([]int32, len(vals))
		for i, v := range vals {
			iv[i] = int32(max(math.MinInt32, min(math.MaxInt32, math.RoundToEven(v))))
		}
		return qtensor.FromInt32(dims, iv)
	case "int8", "uint8":
		d := qtensor.Int8
		if dtype == "uint8" {
			d = qtensor.Uint8
		}
		t, err := qtensor.New(d, dims, qtensor.TensorParams(1, 0))
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			t.Set(i, int32(max(float64(d.QMin()), min(float64(d.QMax()), math.RoundToEven(v)))))
		}
		return t, nil
	}
	return nil, usagef("sample: --dtype %s: want float32, int8, uint8 or int32", shortQ(dtype))
}
