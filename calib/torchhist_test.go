package calib

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// torchHistCase is one case of testdata/torch_histogram.json
// (gen_torch_histogram.py).
type torchHistCase struct {
	Data          string   `json:"data"`
	Batches       []string `json:"batches"` // random cases carry their data
	Version       string   `json:"version"`
	Config        string   `json:"config"`
	Bins          int      `json:"bins"`
	Upsample      int      `json:"upsample"`
	Lanes         int      `json:"lanes"`
	ScaleBits     uint32   `json:"scale_bits"`
	ZeroPoint     int32    `json:"zero_point"`
	MinBits       uint32   `json:"min_bits"`
	MaxBits       uint32   `json:"max_bits"`
	SearchMinBits uint32   `json:"search_min_bits"`
	SearchMaxBits uint32   `json:"search_max_bits"`
	HistSHA256    string   `json:"hist_sha256"`
	Error         string   `json:"error"`
}

func decodeF32(t *testing.T, s string) []float32 {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b)%4 != 0 {
		t.Fatalf("bad batch %q: %v", s, err)
	}
	x := make([]float32, len(b)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x
}

// torchHistTargets are the configs of gen_torch_histogram.py.
var torchHistTargets = map[string]Target{
	"u8":    Uint8Affine,
	"s8sym": Int8Symmetric,
	"u8sym": Uint8Symmetric,
	"u8rr":  {DType: qtensor.Uint8, ReduceRange: true},
	"s8rr":  {DType: qtensor.Int8, ReduceRange: true},
	"s8":    Int8Affine,
	"u8c":   {DType: qtensor.Uint8, Custom: true, QMin: 0, QMax: 100},
}

// checkTorchHistCase runs one case and reports every difference from torch.
func checkTorchHistCase(t *testing.T, name string, c torchHistCase, batches [][]float32) bool {
	t.Helper()
	o := &TorchHistogramObserver{Bins: c.Bins, UpsampleRate: c.Upsample, SumLanes: c.Lanes}
	switch c.Version {
	case "2":
		o.Version = Torch2
	case "1.13":
		o.Version = Torch113
	default:
		t.Fatalf("%s: version %q", name, c.Version)
	}
	tg, ok := torchHistTargets[c.Config]
	if !ok {
		t.Fatalf("%s: config %q", name, c.Config)
	}
	ctx := context.Background()
	for _, b := range batches {
		if err := o.Observe(ctx, b, []int{len(b)}); err != nil {
			t.Errorf("%s: %v", name, err)
			return false
		}
	}
	h, lo, hi := o.Histogram()
	raw := make([]byte, 4*len(h))
	for i, v := range h {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	sum := sha256.Sum256(raw)
	good := true
	if math.Float32bits(lo) != c.MinBits || math.Float32bits(hi) != c.MaxBits || hex.EncodeToString(sum[:]) != c.HistSHA256 {
		t.Errorf("%s: state [%g, %g] hash %x; torch [%g, %g] %s", name, lo, hi, sum[:6],
			math.Float32frombits(c.MinBits), math.Float32frombits(c.MaxBits), c.HistSHA256[:12])
		good = false
	}
	slo, shi, err := o.Range(tg)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return false
	}
	if math.Float32bits(slo) != c.SearchMinBits || math.Float32bits(shi) != c.SearchMaxBits {
		t.Errorf("%s: search range [%g, %g], torch [%g, %g]", name, slo, shi,
			math.Float32frombits(c.SearchMinBits), math.Float32frombits(c.SearchMaxBits))
		good = false
	}
	p, err := o.Params(tg)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return false
	}
	if math.Float32bits(p.Scales[0]) != c.ScaleBits || p.ZeroPoints[0] != c.ZeroPoint {
		t.Errorf("%s: scale %g (%#x) zp %d, torch %g (%#x) zp %d", name, p.Scales[0], math.Float32bits(p.Scales[0]),
			p.ZeroPoints[0], math.Float32frombits(c.ScaleBits), c.ScaleBits, c.ZeroPoint)
		good = false
	}
	return good
}

// TestTorchHistogramObserver compares the scale, the zero point, the
// search range and the histogram state with torch's HistogramObserver.
func TestTorchHistogramObserver(t *testing.T) {
	b, err := os.ReadFile("testdata/torch_histogram.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Datasets map[string][]string `json:"datasets"`
		Cases    []torchHistCase     `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) < 90 {
		t.Fatalf("only %d cases", len(f.Cases))
	}
	matched := 0
	for i, c := range f.Cases {
		var batches [][]float32
		for _, s := range f.Datasets[c.Data] {
			batches = append(batches, decodeF32(t, s))
		}
		if len(batches) == 0 {
			t.Fatalf("case %d: no data %q", i, c.Data)
		}
		name := c.Data + "/" + c.Version + "/" + c.Config
		if checkTorchHistCase(t, name, c, batches) {
			matched++
		}
	}
	t.Logf("%d of %d cases bit-identical to torch", matched, len(f.Cases))
}

// TestTorchHistogramMany runs the random cases of
// `gen_torch_histogram.py --many N PATH` when QGPU_TORCH_HIST_MANY=PATH.
func TestTorchHistogramMany(t *testing.T) {
	path := os.Getenv("QGPU_TORCH_HIST_MANY")
	if path == "" {
		t.Skip("QGPU_TORCH_HIST_MANY not set")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []torchHistCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	matched, skipped := 0, 0
	for i, c := range f.Cases {
		if c.Error != "" {
			skipped++ // torch could not allocate its bins x downsample_rate buffer
			continue
		}
		var batches [][]float32
		for _, s := range c.Batches {
			batches = append(batches, decodeF32(t, s))
		}
		if checkTorchHistCase(t, "random case "+string(rune('0'+i%10))+"#"+itoa(i)+" "+c.Version+"/"+c.Config, c, batches) {
			matched++
		}
	}
	t.Logf("%d of %d random cases bit-identical (%d skipped: torch failed)", matched, len(f.Cases)-skipped, skipped)
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// TestTorchPrimitives checks the float32 building blocks one by one
// against torch (sum, linspace ends, the L2 error of a candidate range, and
// the search on given histograms, including a crafted one where only
// torch's float32 comparison gives torch's path), for both vector widths.
func TestTorchPrimitives(t *testing.T) {
	b, err := os.ReadFile("testdata/torch_histogram.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Primitives map[string]struct {
			Sum []struct {
				Data string `json:"data"`
				Bits uint32 `json:"bits"`
			} `json:"sum"`
			Linspace []struct {
				Lo, Hi    float64
				N         int
				FirstBits uint32 `json:"first_bits"`
				LastBits  uint32 `json:"last_bits"`
			} `json:"linspace"`
			Search []struct {
				Name     string
				Hist     string
				Min, Max float32
				Dst      int
				LoBits   uint32 `json:"lo_bits"`
				HiBits   uint32 `json:"hi_bits"`
				Errors   [][3]float64
			} `json:"search"`
			Histc []struct {
				Lo, Hi float64
				Bins   int
				Data   string
				Counts [][2]int
			} `json:"histc"`
			FloorDiv [][3]float32 `json:"floor_div"`
		} `json:"primitives"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Primitives) != 2 {
		t.Fatalf("%d lane widths", len(f.Primitives))
	}
	for ls, p := range f.Primitives {
		lanes := 8
		if ls == "16" {
			lanes = 16
		}
		for _, c := range p.Sum {
			x := decodeF32(t, c.Data)
			if got := torchSum(x, lanes); math.Float32bits(got) != c.Bits {
				t.Errorf("lanes %d: sum of %d values %g, torch %g", lanes, len(x), got, math.Float32frombits(c.Bits))
			}
		}
		for _, c := range p.Linspace {
			lo, hi := torchLinspaceEnds(c.Lo, c.Hi, c.N, lanes)
			if math.Float32bits(lo) != c.FirstBits || math.Float32bits(hi) != c.LastBits {
				t.Errorf("lanes %d: linspace(%g, %g, %d) ends %g %g, torch %g %g", lanes, c.Lo, c.Hi, c.N, lo, hi,
					math.Float32frombits(c.FirstBits), math.Float32frombits(c.LastBits))
			}
		}
		for _, c := range p.Histc {
			h, err := torchHistc(decodeF32(t, c.Data), c.Bins, c.Lo, c.Hi, lanes)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float32, c.Bins)
			for _, ic := range c.Counts {
				want[ic[0]] = float32(ic[1])
			}
			for i := range want {
				if h[i] != want[i] {
					t.Errorf("histc(%d bins over [%g, %g]): bin %d holds %g, torch %g", c.Bins, c.Lo, c.Hi, i, h[i], want[i])
					break
				}
			}
		}
		for _, c := range p.FloorDiv {
			if got := floorDiv32(c[0], c[1]); got != c[2] {
				t.Errorf("floor division %g / %g = %g, torch %g", c[0], c[1], got, c[2])
			}
		}
		if len(p.Search) < 3 {
			t.Fatalf("%d search cases", len(p.Search))
		}
		for _, c := range p.Search {
			h := decodeF32(t, c.Hist)
			for _, e := range c.Errors {
				got := torchQuantError(h, c.Min, c.Max, int(e[0]), int(e[1]), c.Dst, lanes)
				if got != e[2] {
					t.Errorf("lanes %d %s: L2 error of bins [%g, %g] %v, torch %v", lanes, c.Name, e[0], e[1], got, e[2])
				}
			}
			lo, hi, err := torchSearch(h, c.Min, c.Max, c.Dst, lanes)
			if err != nil || math.Float32bits(lo) != c.LoBits || math.Float32bits(hi) != c.HiBits {
				t.Errorf("lanes %d %s: search [%g, %g] %v, torch [%g, %g]", lanes, c.Name, lo, hi, err,
					math.Float32frombits(c.LoBits), math.Float32frombits(c.HiBits))
			}
		}
	}
}

// FuzzTorchHistogram feeds arbitrary float32 batches (any bits, NaN, ±Inf,
// huge and tiny values) to a TorchHistogramObserver: it must return errors,
// never panic, and valid parameters whenever it returns some.
func FuzzTorchHistogram(f *testing.F) {
	seed := func(vals ...float32) []byte {
		b := []byte{3, 2}
		for _, v := range vals {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		return b
	}
	f.Add(seed(-1, 0.5, 2, 3, 0.125, -0.75, 7, 1e-3))
	f.Add(seed(1, 1, 1, 1, 2.5, 2.5, -3e38, 3e38))
	f.Add(seed(0, 1e-40, -1e-40, 0, float32(math.NaN()), float32(math.Inf(1)), 65504, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 2 {
			return
		}
		o := &TorchHistogramObserver{Bins: 16 + int(b[0]%48), UpsampleRate: 1 + int(b[0]>>6), SumLanes: 8 << (b[1] & 1)}
		if b[1]&2 != 0 {
			o.Version = Torch113
		}
		nb := 1 + int(b[1]>>2)%4
		x := make([]float32, (len(b)-2)/4)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[2+4*i:]))
		}
		for k := range nb {
			part := x[k*len(x)/nb : (k+1)*len(x)/nb]
			if err := o.Observe(context.Background(), part, nil); err != nil {
				if !errors.Is(err, qtensor.ErrParams) {
					t.Fatalf("Observe: %v", err)
				}
				return
			}
		}
		for _, tg := range []Target{Uint8Affine, Int8Symmetric, {DType: qtensor.Int4}} {
			p, err := o.Params(tg)
			if err != nil {
				if !errors.Is(err, ErrNoData) && !errors.Is(err, qtensor.ErrParams) {
					t.Fatalf("Params: %v", err)
				}
				continue
			}
			if err := p.Validate(tg.DType, []int{1}); err != nil {
				t.Fatalf("invalid parameters %+v: %v", p, err)
			}
		}
	})
}
