package lightgbm

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/dmitryikh/leaves/util"
)

// header is what Parse needs from a model's first block.
type header struct {
	// params is the block as read, version normalised for leaves.
	params       map[string]string
	objective    string
	transform    bool // whether leaves should apply the objective's transform
	featureNames []string
	numFeature   int
	numTrees     int
}

// objectives maps each supported objective to whether leaves must
// transform the raw score (sigmoid, softmax or exp). The others predict the
// raw score itself; leaves would refuse several of them for want of a
// transform, so they are loaded as raw models.
var objectives = map[string]bool{
	"binary":     true,
	"multiclass": true,
	"poisson":    true,
	"gamma":      true,
	"tweedie":    true,

	"regression":    false,
	"regression_l1": false,
	"huber":         false,
	"fair":          false,
	"quantile":      false,
	"mape":          false,
	"lambdarank":    false,
	"rank_xendcg":   false,
}

// readHeader reads and checks the first block of a model.
func readHeader(r *bufio.Reader) (header, error) {
	p, err := readBlock(r)
	if err != nil {
		return header{}, invalid("header", "%v", blockErr(err))
	}
	h := header{params: maps.Clone(p)}
	if _, ok := p["tree"]; !ok {
		return h, invalid("header", `does not start with the line "tree" (not a LightGBM text model?)`)
	}
	switch v := p["version"]; v {
	case "v2", "v3":
	case "v4":
		// LightGBM reads every version alike (its loader never looks at
		// the line); leaves knows v3 only. What v4 can add, linear
		// trees, checkTree refuses.
		h.params["version"] = "v3"
	case "":
		return h, invalid("header", "no version")
	default:
		return h, unsupported("header: version", "%q is", v)
	}
	if h.numFeature, err = intField(p, "max_feature_idx"); err != nil {
		return h, invalid("header", "%v", err)
	}
	if h.numFeature < 0 {
		return h, invalid("header: max_feature_idx", "%d is negative", h.numFeature)
	}
	h.numFeature++
	if h.featureNames, err = featureNames(p, h.numFeature); err != nil {
		return h, err
	}
	if h.objective, h.transform, err = objective(p); err != nil {
		return h, err
	}
	sizes, ok := p["tree_sizes"]
	if !ok {
		return h, invalid("header", "no tree_sizes")
	}
	h.numTrees = len(strings.Split(sizes, " ")) // as leaves counts them
	return h, nil
}

// featureNames checks the feature_names line: LightGBM writes one name per
// feature and refuses a file without it.
func featureNames(p map[string]string, n int) ([]string, error) {
	line, ok := p["feature_names"]
	if !ok {
		return nil, invalid("header", "no feature_names")
	}
	names := strings.Split(line, " ")
	if len(names) != n {
		return nil, invalid("header: feature_names", "%d names for %d features (max_feature_idx=%d)", len(names), n, n-1)
	}
	seen := make(map[string]bool, n)
	for i, name := range names {
		if name == "" {
			return nil, invalid("header: feature_names", "feature %d has an empty name", i)
		}
		if seen[name] {
			return nil, invalid("header: feature_names", "%q appears twice", name)
		}
		seen[name] = true
	}
	return names, nil
}

// objective reads the objective line, reporting whether leaves should
// transform raw scores. A model saved without an objective (trained with
// a custom one) predicts raw scores, as in LightGBM.
func objective(p map[string]string) (string, bool, error) {
	line, ok := p["objective"]
	if !ok {
		return "", false, nil
	}
	tokens := strings.Split(line, " ")
	if slices.Contains(tokens[1:], "sqrt") {
		// LightGBM squares the raw score; leaves would return it as is.
		return "", false, unsupported("header: objective", "%q: the sqrt label transform is", line)
	}
	transform, ok := objectives[tokens[0]]
	if !ok {
		return "", false, unsupported("header: objective", "%q is", line)
	}
	return line, transform, nil
}

// text renders the header block for leaves.
func (h header) text() string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(h.params)) {
		fmt.Fprintf(&b, "%s=%s\n", k, h.params[k])
	}
	b.WriteString("\n")
	return b.String()
}

// checkTree checks tree i's block for everything leaves trusts while
// building and walking the tree.
func checkTree(p map[string]string, i, numFeature int) error {
	path := treePath(i)
	if got, ok := p["Tree"]; !ok || got != strconv.Itoa(i) {
		return invalid(path, "block does not start with Tree=%d (tree_sizes lists more trees than the file has?)", i)
	}
	if v, ok := p["is_linear"]; ok && v != "0" {
		return unsupported(path, "linear trees are")
	}
	numLeaves, err := intField(p, "num_leaves")
	if err != nil {
		return invalid(path, "%v", err)
	}
	if numLeaves < 1 {
		return invalid(path+": num_leaves", "%d, want at least 1", numLeaves)
	}
	values, err := list(p, "leaf_value", parseFloat)
	if err != nil {
		return invalid(path, "%v", err)
	}
	if len(values) != numLeaves {
		return invalid(path+": leaf_value", "%d values for %d leaves", len(values), numLeaves)
	}
	if numLeaves == 1 {
		return nil // a constant; leaves reads nothing else
	}
	n, err := readNodes(p, numLeaves-1)
	if err != nil {
		return invalid(path, "%v", err)
	}
	if err := n.check(numFeature); err != nil {
		return invalid(path, "%v", err)
	}
	if err := checkShape(n.left, n.right, numLeaves); err != nil {
		return invalid(path, "%v", err)
	}
	return checkCategories(p, n, path)
}

// nodes holds a tree's split nodes, one entry per node in each slice.
type nodes struct {
	left, right []int64
	feature     []int64
	decision    []int64
	threshold   []float64
}

func readNodes(p map[string]string, n int) (nodes, error) {
	var ns nodes
	var errs [5]error
	ns.left, errs[0] = column(p, "left_child", n, parseInt32)
	ns.right, errs[1] = column(p, "right_child", n, parseInt32)
	ns.feature, errs[2] = column(p, "split_feature", n, parseUint32)
	ns.decision, errs[3] = column(p, "decision_type", n, parseUint32)
	ns.threshold, errs[4] = column(p, "threshold", n, parseFloat)
	return ns, cmp.Or(errs[:]...)
}

// column reads a list with one value per split node.
func column[T any](p map[string]string, key string, n int, parse func(string) (T, error)) ([]T, error) {
	v, err := list(p, key, parse)
	if err == nil && len(v) != n {
		err = fmt.Errorf("%s: %d values for %d split nodes", key, len(v), n)
	}
	return v, err
}

// check checks every node's split feature and missing-value type.
func (ns nodes) check(numFeature int) error {
	for i, f := range ns.feature {
		if f >= int64(numFeature) {
			return fmt.Errorf("node %d: split_feature %d, but the model has %d features", i, f, numFeature)
		}
		if missing := (ns.decision[i] >> 2) & 3; missing == 3 {
			return fmt.Errorf("node %d: decision_type %d has an unknown missing-value type", i, ns.decision[i])
		}
	}
	return nil
}

// checkShape checks that left and right describe one binary tree rooted at
// node 0 that uses every node and every leaf exactly once (a child c >= 0
// is node c, c < 0 is leaf ^c). leaves follows these indices unchecked: an
// index out of range panics, and a node reached twice can send its walk
// down a tree round a loop forever.
func checkShape(left, right []int64, numLeaves int) error {
	numNodes := len(left)
	hasParent := make([]bool, numNodes)
	usedLeaf := make([]bool, numLeaves)
	for i := range numNodes {
		for _, c := range [2]int64{left[i], right[i]} {
			switch {
			case c == 0:
				return fmt.Errorf("node %d: child 0 is the root", i)
			case c > 0 && c < int64(numNodes):
				if hasParent[c] {
					return fmt.Errorf("node %d is the child of two nodes", c)
				}
				hasParent[c] = true
			case c < 0 && ^c < int64(numLeaves):
				if usedLeaf[^c] {
					return fmt.Errorf("leaf %d is the child of two nodes", ^c)
				}
				usedLeaf[^c] = true
			default:
				return fmt.Errorf("node %d: child %d out of range for %d nodes and %d leaves", i, c, numNodes, numLeaves)
			}
		}
	}
	// Every node but the root has at most one parent, so a walk from the
	// root meets no node twice; it misses only nodes on a detached cycle.
	reached, stack := 1, []int64{0}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range [2]int64{left[n], right[n]} {
			if c > 0 {
				reached++
				stack = append(stack, c)
			}
		}
	}
	if reached != numNodes {
		return fmt.Errorf("%d of %d split nodes are unreachable from the root", numNodes-reached, numNodes)
	}
	return nil
}

// checkCategories checks the bitsets of a tree's categorical splits, whose
// threshold is an index into cat_boundaries, itself a list of offsets into
// cat_threshold.
func checkCategories(p map[string]string, ns nodes, path string) error {
	numCat, err := intField(p, "num_cat")
	if err != nil {
		return invalid(path, "%v", err)
	}
	if !slices.ContainsFunc(ns.decision, func(d int64) bool { return d&1 != 0 }) {
		return nil
	}
	if numCat < 1 {
		return invalid(path, "categorical split with num_cat=%d", numCat)
	}
	bounds, err := list(p, "cat_boundaries", parseUint32)
	if err != nil {
		return invalid(path, "%v", err)
	}
	bits, err := list(p, "cat_threshold", parseUint32)
	if err != nil {
		return invalid(path, "%v", err)
	}
	if len(bounds) != numCat+1 || bounds[0] != 0 || bounds[numCat] != int64(len(bits)) || !slices.IsSorted(bounds) {
		return invalid(path+": cat_boundaries", "want %d ascending offsets from 0 to %d (the length of cat_threshold)", numCat+1, len(bits))
	}
	for i, d := range ns.decision {
		t := ns.threshold[i]
		if d&1 != 0 && !(t >= 0 && t < float64(numCat) && t == math.Trunc(t)) {
			return invalid(path, "node %d: categorical threshold %v is not a category set in [0, %d)", i, t, numCat)
		}
	}
	return nil
}

// checkEnd requires the line LightGBM writes after the last tree, so that a
// file cut short inside its last tree is refused rather than half read.
func checkEnd(r *bufio.Reader) error {
	for {
		line, err := r.ReadString('\n')
		switch t := strings.TrimSpace(line); {
		case t == "end of trees":
			return nil
		case t != "":
			if len(t) > 40 {
				t = t[:40] + "…"
			}
			return invalid("", "after the last tree: got %q, want \"end of trees\" (more trees than tree_sizes lists?)", t)
		case err != nil:
			return invalid("", `truncated: no "end of trees" line`)
		}
	}
}

// readBlock reads one block of key=value lines, up to a blank line, with
// leaves' own reader: Parse checks exactly the blocks leaves then builds
// the model from.
func readBlock(r *bufio.Reader) (map[string]string, error) {
	return util.ReadParamsUntilBlank(r)
}

// blockErr explains an error from reading a block.
func blockErr(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("truncated: file ends here")
	}
	return err
}

func intField(p map[string]string, key string) (int, error) {
	v, ok := p[key]
	if !ok {
		return 0, fmt.Errorf("no %s", key)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not an integer", key, v)
	}
	return n, nil
}

// list parses a space-separated line the way leaves does.
func list[T any](p map[string]string, key string, parse func(string) (T, error)) ([]T, error) {
	line, ok := p[key]
	if !ok {
		return nil, fmt.Errorf("no %s", key)
	}
	fields := strings.Split(line, " ")
	out := make([]T, len(fields))
	for i, f := range fields {
		v, err := parse(f)
		if err != nil {
			return nil, fmt.Errorf("%s: value %d: %q is not a number", key, i, f)
		}
		out[i] = v
	}
	return out, nil
}

func parseFloat(s string) (float64, error) { return strconv.ParseFloat(s, 64) }
func parseInt32(s string) (int64, error)   { return strconv.ParseInt(s, 10, 32) }
func parseUint32(s string) (int64, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	return int64(v), err
}
