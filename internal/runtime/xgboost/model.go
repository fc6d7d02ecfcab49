package xgboost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
)

// The JSON document Booster.save_model("model.json") writes, as far as
// prediction needs it. Scalar parameters are strings in XGBoost's JSON.

type modelJSON struct {
	Learner *learnerJSON `json:"learner"`
}

type learnerJSON struct {
	FeatureNames      []string          `json:"feature_names"`
	GradientBooster   *boosterJSON      `json:"gradient_booster"`
	LearnerModelParam *learnerParamJSON `json:"learner_model_param"`
	Objective         *objectiveJSON    `json:"objective"`
}

type learnerParamJSON struct {
	BaseScore  string `json:"base_score"`
	NumClass   string `json:"num_class"`
	NumFeature string `json:"num_feature"`
	NumTarget  string `json:"num_target"`
}

type objectiveJSON struct {
	Name string `json:"name"`
}

// boosterJSON is a gbtree booster, or a dart booster, which wraps a gbtree
// and adds a weight per tree.
type boosterJSON struct {
	Name       string         `json:"name"`
	Model      *gbtreeJSON    `json:"model"`
	GBTree     *dartInnerJSON `json:"gbtree"`
	WeightDrop []float32      `json:"weight_drop"`
}

type dartInnerJSON struct {
	Model *gbtreeJSON `json:"model"`
}

type gbtreeJSON struct {
	Param    *gbtreeParamJSON `json:"gbtree_model_param"`
	TreeInfo []int64          `json:"tree_info"`
	Trees    []treeJSON       `json:"trees"`
}

type gbtreeParamJSON struct {
	NumTrees string `json:"num_trees"`
}

type treeJSON struct {
	ID              *int64         `json:"id"`
	Param           *treeParamJSON `json:"tree_param"`
	LeftChildren    []int64        `json:"left_children"`
	RightChildren   []int64        `json:"right_children"`
	SplitIndices    []int64        `json:"split_indices"`
	SplitConditions []float32      `json:"split_conditions"`
	DefaultLeft     []flag         `json:"default_left"`
	SplitType       []int64        `json:"split_type"`
	CategoriesNodes []int64        `json:"categories_nodes"`
}

type treeParamJSON struct {
	NumNodes       string `json:"num_nodes"`
	SizeLeafVector string `json:"size_leaf_vector"`
}

// flag is a JSON boolean written as 0/1 (XGBoost 1.x) or true/false.
type flag bool

func (f *flag) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "0", "false":
		*f = false
	case "1", "true":
		*f = true
	default:
		return fmt.Errorf("default_left: got %s, want 0, 1, true or false", b)
	}
	return nil
}

// decode unmarshals data, turning encoding/json's errors into ModelErrors
// that say where the problem is.
func decode(data []byte) (*modelJSON, error) {
	if !looksLikeJSON(data) {
		return nil, invalid("", "not a JSON model; save it with save_model(\"model.json\") (the binary and UBJSON formats are not supported)")
	}
	var m modelJSON
	err := json.Unmarshal(data, &m)
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return &m, nil
	case errors.As(err, &syntaxErr):
		return nil, invalid("", "malformed JSON at byte %d: %v", syntaxErr.Offset, err)
	case errors.As(err, &typeErr):
		return nil, invalid(typeErr.Field, "got JSON %s, want %s", typeErr.Value, jsonKind(typeErr.Type))
	default: // an UnmarshalJSON method's error, which says where it is
		return nil, invalid("", "%v", err)
	}
}

// jsonKind names the JSON value that decodes into t.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Slice:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "a boolean"
	default:
		return "an object"
	}
}

// looksLikeJSON reports whether data starts like a JSON object. UBJSON
// also starts with '{', but follows it with a type marker, not a quote.
func looksLikeJSON(data []byte) bool {
	rest, ok := bytes.CutPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{"))
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " \t\r\n")
	return len(rest) == 0 || rest[0] == '"' || rest[0] == '}'
}

// param parses an integer parameter stored as a string, within [lo, hi].
// A missing parameter ("") takes the value def.
func param(path, s string, def, lo, hi int) (int, error) {
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, invalid(path, "%q is not an integer", s)
	}
	if v < int64(lo) || v > int64(hi) {
		return 0, invalid(path, "%d out of range [%d, %d]", v, lo, hi)
	}
	return int(v), nil
}

// build validates a decoded model and lays it out for prediction.
func build(m *modelJSON) (*Booster, error) {
	l := m.Learner
	if l == nil {
		return nil, invalid("learner", "missing")
	}
	if l.Objective == nil {
		return nil, invalid("learner.objective", "missing")
	}
	if l.Objective.Name == "" {
		return nil, invalid("learner.objective.name", "missing")
	}
	obj, ok := objectives[l.Objective.Name]
	if !ok {
		return nil, unsupported("", fmt.Sprintf("objective %q", l.Objective.Name), supportedObjectives())
	}
	b := &Booster{objective: l.Objective.Name, link: obj.link}
	if err := b.setParams(l.LearnerModelParam, obj); err != nil {
		return nil, err
	}
	if len(l.FeatureNames) > 0 && len(l.FeatureNames) != b.numFeature {
		return nil, invalid("learner.feature_names", "%d names for %d features", len(l.FeatureNames), b.numFeature)
	}
	b.featureNames = l.FeatureNames
	gbm, weights, err := trees(l.GradientBooster)
	if err != nil {
		return nil, err
	}
	if err := b.addTrees(gbm, weights); err != nil {
		return nil, err
	}
	return b, nil
}

// setParams reads learner_model_param: feature and class counts and the
// margin every prediction starts from.
func (b *Booster) setParams(p *learnerParamJSON, obj objective) error {
	const path = "learner.learner_model_param"
	if p == nil {
		return invalid(path, "missing")
	}
	var err error
	if b.numFeature, err = param(path+".num_feature", p.NumFeature, -1, 0, math.MaxInt32); err != nil {
		return err
	}
	if b.numFeature < 0 {
		return invalid(path+".num_feature", "missing")
	}
	numClass, err := param(path+".num_class", p.NumClass, 0, 0, maxClasses)
	if err != nil {
		return err
	}
	numTarget, err := param(path+".num_target", p.NumTarget, 1, 0, math.MaxInt32)
	if err != nil {
		return err
	}
	if numTarget > 1 {
		return unsupported(path+".num_target", fmt.Sprintf("%d targets", numTarget), "want 1")
	}
	switch {
	case obj.multiclass && numClass < 1:
		return invalid(path+".num_class", "%d, want at least 1 for objective %s", numClass, b.objective)
	case !obj.multiclass && numClass > 1:
		return invalid(path+".num_class", "%d, want 0 or 1 for objective %s", numClass, b.objective)
	}
	b.numGroup = max(numClass, 1)
	b.numOutput = 1
	if obj.link == linkSoftmax {
		b.numOutput = b.numGroup
	}
	return b.setBase(path+".base_score", p.BaseScore, obj)
}

// maxClasses bounds num_class; XGBoost has no limit, but a model with more
// classes than this is far more likely corrupt than real.
const maxClasses = 1 << 16

// setBase parses base_score, which XGBoost 1.x keeps in the objective's
// output space: a probability for the logistic objectives.
func (b *Booster) setBase(path, s string, obj objective) error {
	if s == "" {
		return invalid(path, "missing")
	}
	v, err := strconv.ParseFloat(s, 32)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return invalid(path, "%q is not a finite number", s)
	}
	b.base = float32(v)
	if obj.probBase {
		if !(b.base > 0 && b.base < 1) {
			return invalid(path, "%s out of range (0, 1) for objective %s", s, b.objective)
		}
		b.base = probToMargin(b.base)
	}
	return nil
}

// trees finds the tree ensemble and, for dart, the weight of each tree.
func trees(g *boosterJSON) (*gbtreeJSON, []float32, error) {
	const path = "learner.gradient_booster"
	if g == nil {
		return nil, nil, invalid(path, "missing")
	}
	switch g.Name {
	case "gbtree":
		if g.Model == nil {
			return nil, nil, invalid(path+".model", "missing")
		}
		return g.Model, nil, nil
	case "dart":
		if g.GBTree == nil || g.GBTree.Model == nil {
			return nil, nil, invalid(path+".gbtree.model", "missing")
		}
		if g.WeightDrop == nil {
			return nil, nil, invalid(path+".weight_drop", "missing")
		}
		return g.GBTree.Model, g.WeightDrop, nil
	default:
		return nil, nil, unsupported(path+".name", fmt.Sprintf("booster %q", g.Name), "want gbtree or dart")
	}
}

// addTrees validates the ensemble and appends every tree's nodes to b.nodes,
// grouped by output. weights is nil for gbtree.
func (b *Booster) addTrees(m *gbtreeJSON, weights []float32) error {
	const path = "learner.gradient_booster.model"
	n := len(m.Trees)
	if m.Param != nil {
		numTrees, err := param(path+".gbtree_model_param.num_trees", m.Param.NumTrees, n, 0, math.MaxInt32)
		if err != nil {
			return err
		}
		if numTrees != n {
			return invalid(path+".gbtree_model_param.num_trees", "%d, but the model has %d trees", numTrees, n)
		}
	}
	if len(m.TreeInfo) != n {
		return invalid(path+".tree_info", "%d entries for %d trees", len(m.TreeInfo), n)
	}
	if weights != nil && len(weights) != n {
		return invalid("learner.gradient_booster.weight_drop", "%d weights for %d trees", len(weights), n)
	}
	order, err := treeOrder(m.Trees)
	if err != nil {
		return err
	}
	b.groups = make([][]treeRef, b.numGroup)
	for id, t := range order {
		group := m.TreeInfo[id]
		if group < 0 || group >= int64(b.numGroup) {
			return invalid(fmt.Sprintf("%s.tree_info[%d]", path, id), "group %d out of range (model has %d output groups)", group, b.numGroup)
		}
		ref := treeRef{root: int32(len(b.nodes)), weight: 1}
		if weights != nil {
			ref.weight = weights[id]
		}
		if err := b.addTree(id, t); err != nil {
			return err
		}
		b.groups[group] = append(b.groups[group], ref)
	}
	return nil
}

// treeOrder places each tree at its id, which is where XGBoost puts it
// when loading; a tree without an id keeps its position.
func treeOrder(trees []treeJSON) ([]*treeJSON, error) {
	order := make([]*treeJSON, len(trees))
	for i := range trees {
		id := int64(i)
		if trees[i].ID != nil {
			id = *trees[i].ID
		}
		path := fmt.Sprintf("learner.gradient_booster.model.trees[%d].id", i)
		if id < 0 || id >= int64(len(trees)) {
			return nil, invalid(path, "%d out of range (model has %d trees)", id, len(trees))
		}
		if order[id] != nil {
			return nil, invalid(path, "%d used by more than one tree", id)
		}
		order[id] = &trees[i]
	}
	return order, nil
}
