package xgboost

import (
	"fmt"
	"math"
)

// node is one tree node in the booster-wide node array. Siblings sit side
// by side, so a step down the tree reads one 12-byte node and decides
// between two neighbouring ones.
type node struct {
	// value is the split threshold, or the leaf value when left is 0.
	value float32
	// left is the index of the left child in Booster.nodes; the right child
	// follows it. 0 marks a leaf: index 0 holds the first tree's root,
	// which is nobody's child.
	left int32
	// split is the split feature, with the defaultLeft bit set when a
	// missing value goes left.
	split uint32
}

const (
	defaultLeft uint32 = 1 << 31
	featureMask        = defaultLeft - 1
)

// treeRef is one tree of an output group.
type treeRef struct {
	root   int32   // index of the root in Booster.nodes
	weight float32 // dart's weight_drop; 1 for gbtree
}

// addTree validates tree id and appends its reachable nodes to b.nodes in
// breadth-first order with siblings adjacent. Checking that every child is
// in range and reached once makes the nodes a tree, so walking it from the
// root always ends at a leaf.
func (b *Booster) addTree(id int, t *treeJSON) error {
	n, err := b.checkTree(id, t)
	if err != nil {
		return err
	}
	if len(b.nodes) > math.MaxInt32-2*n {
		return invalid(fmt.Sprintf("tree %d", id), "the model has more than %d nodes", math.MaxInt32)
	}
	type pending struct {
		src int   // index in the JSON arrays
		dst int32 // index in b.nodes
	}
	reached := make([]bool, n)
	reached[0] = true
	queue := []pending{{src: 0, dst: int32(len(b.nodes))}}
	b.nodes = append(b.nodes, node{})
	for i := 0; i < len(queue); i++ {
		src, dst := queue[i].src, queue[i].dst
		at := func() string { return fmt.Sprintf("tree %d: node %d", id, src) }
		left, right := t.LeftChildren[src], t.RightChildren[src]
		if left == -1 && right == -1 {
			b.nodes[dst] = node{value: t.SplitConditions[src]}
			continue
		}
		for _, c := range [2]struct {
			side string
			id   int64
		}{{"left", left}, {"right", right}} {
			if c.id < 0 || c.id >= int64(n) {
				return invalid(at(), "%s child %d out of range (tree has %d nodes)", c.side, c.id, n)
			}
			if reached[c.id] {
				return invalid(at(), "%s child %d is reached twice (the nodes form a cycle or share a child)", c.side, c.id)
			}
			reached[c.id] = true
		}
		split, err := b.split(t, src)
		if err != nil {
			return &ModelError{Format: formatName, Path: at(), Err: err}
		}
		child := int32(len(b.nodes))
		b.nodes = append(b.nodes, node{}, node{})
		b.nodes[dst] = node{value: t.SplitConditions[src], left: child, split: split}
		queue = append(queue, pending{int(left), child}, pending{int(right), child + 1})
	}
	return nil
}

// checkTree checks a tree's parameters and array lengths and returns its
// node count.
func (b *Booster) checkTree(id int, t *treeJSON) (int, error) {
	path := fmt.Sprintf("tree %d", id)
	n := len(t.LeftChildren)
	if n == 0 {
		return 0, invalid(path, "no nodes")
	}
	if t.Param != nil {
		numNodes, err := param(path+": tree_param.num_nodes", t.Param.NumNodes, n, 0, math.MaxInt32)
		if err != nil {
			return 0, err
		}
		if numNodes != n {
			return 0, invalid(path, "tree_param.num_nodes is %d, but left_children has %d entries", numNodes, n)
		}
		leafVector, err := param(path+": tree_param.size_leaf_vector", t.Param.SizeLeafVector, 0, 0, math.MaxInt32)
		if err != nil {
			return 0, err
		}
		if leafVector > 0 {
			return 0, unsupported(path, "vector leaves", "")
		}
	}
	for _, a := range []struct {
		name string
		len  int
	}{
		{"right_children", len(t.RightChildren)},
		{"split_indices", len(t.SplitIndices)},
		{"split_conditions", len(t.SplitConditions)},
		{"default_left", len(t.DefaultLeft)},
	} {
		if a.len != n {
			return 0, invalid(path, "%s has %d entries, left_children %d", a.name, a.len, n)
		}
	}
	if len(t.SplitType) != 0 && len(t.SplitType) != n {
		return 0, invalid(path, "split_type has %d entries, left_children %d", len(t.SplitType), n)
	}
	if len(t.CategoriesNodes) > 0 {
		return 0, unsupported(path, "categorical splits", "")
	}
	return n, nil
}

// split returns the packed split feature and default direction of an
// internal node.
func (b *Booster) split(t *treeJSON, src int) (uint32, error) {
	if len(t.SplitType) > 0 {
		switch t.SplitType[src] {
		case 0:
		case 1:
			return 0, fmt.Errorf("categorical split %w", ErrUnsupported)
		default:
			return 0, fmt.Errorf("split type %d unknown (want 0 for numerical)", t.SplitType[src])
		}
	}
	f := t.SplitIndices[src]
	if f < 0 || f >= int64(b.numFeature) {
		return 0, fmt.Errorf("split feature %d out of range (model has %d features)", f, b.numFeature)
	}
	split := uint32(f)
	if t.DefaultLeft[src] {
		split |= defaultLeft
	}
	return split, nil
}
