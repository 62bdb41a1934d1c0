// Package suggest finds the known name nearest to a mistyped one, for the
// "did you mean ...?" hints of qgpu's messages (command names, operator
// names, calibration methods).
package suggest

import "strings"

// Distance is the optimal-string-alignment distance of a and b:
// insertions, deletions, substitutions and transpositions of adjacent
// bytes each cost 1 (a substring is never edited twice, so "ca" -> "abc"
// costs 3, not the 2 of the full Damerau-Levenshtein distance).
func Distance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// Limit is the largest distance at which a name of length n (of the
// mistyped word) still counts as a near miss: 1 below 5 bytes, 2 from 5,
// 3 from 12.
func Limit(n int) int {
	switch {
	case n >= 12:
		return 3
	case n >= 5:
		return 2
	}
	return 1
}

// Nearest returns the name of names nearest to s, ignoring case: the one
// at the smallest Distance when that is within Limit(len(s)) (the first
// of equals), else the only name that begins with s (at least 3 bytes),
// else "". A name equal to s ignoring case is returned as it is spelled
// in names ("qlinearmatmul" -> "QLinearMatMul").
func Nearest(s string, names []string) string {
	k := strings.ToLower(strings.TrimSpace(s))
	if k == "" {
		return ""
	}
	best, bestD := "", 1<<30
	var prefixed []string
	for _, n := range names {
		ln := strings.ToLower(n)
		if d := Distance(k, ln); d < bestD {
			best, bestD = n, d
		}
		if len(k) >= 3 && strings.HasPrefix(ln, k) {
			prefixed = append(prefixed, n)
		}
	}
	switch {
	case bestD <= Limit(len(k)):
		return best
	case len(prefixed) == 1:
		return prefixed[0]
	}
	return ""
}
