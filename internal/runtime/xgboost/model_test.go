package xgboost

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/slipway-ml/slipway"
)

// tinyModel is a hand-written binary:logistic model in XGBoost 1.7's
// layout: one tree that splits on feature 1 at 0.5, missing values going
// left, over two features.
const tinyModel = `{"learner":{"attributes":{},"feature_names":[],"feature_types":[],
"gradient_booster":{"model":{"gbtree_model_param":{"num_parallel_tree":"1","num_trees":"1","size_leaf_vector":"0"},
"tree_info":[0],"trees":[{"base_weights":[0,0,0],"categories":[],"categories_nodes":[],"categories_segments":[],
"categories_sizes":[],"default_left":[1,0,0],"id":0,"left_children":[1,-1,-1],"loss_changes":[1,0,0],
"parents":[2147483647,0,0],"right_children":[2,-1,-1],"split_conditions":[0.5,-0.25,0.75],"split_indices":[1,0,0],
"split_type":[0,0,0],"sum_hessian":[2,1,1],"tree_param":{"num_deleted":"0","num_feature":"2","num_nodes":"3","size_leaf_vector":"0"}}]},
"name":"gbtree"},"learner_model_param":{"base_score":"5E-1","boost_from_average":"1","num_class":"0","num_feature":"2","num_target":"1"},
"objective":{"name":"binary:logistic","reg_loss_param":{"scale_pos_weight":"1"}}},"version":[1,7,4]}`

// tinyWith returns tinyModel after edit has changed its decoded form.
func tinyWith(t testing.TB, edit func(learner, tree map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(tinyModel), &m); err != nil {
		t.Fatal(err)
	}
	learner := m["learner"].(map[string]any)
	gbm := learner["gradient_booster"].(map[string]any)["model"].(map[string]any)
	edit(learner, gbm["trees"].([]any)[0].(map[string]any))
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// at returns the map at a dotted path below m.
func at(m map[string]any, path string) map[string]any {
	for key := range strings.SplitSeq(path, ".") {
		m = m[key].(map[string]any)
	}
	return m
}

func TestTinyModel(t *testing.T) {
	b, err := Parse([]byte(tinyModel))
	if err != nil {
		t.Fatal(err)
	}
	nan := float32(math.NaN())
	tests := []struct {
		name string
		row  []float32
		leaf float32
	}{
		{"below threshold goes left", []float32{9, 0.25}, -0.25},
		{"equal to threshold goes right", []float32{9, 0.5}, 0.75},
		{"above threshold goes right", []float32{9, 1}, 0.75},
		{"missing takes default left", []float32{9, nan}, -0.25},
		{"other feature missing is ignored", []float32{nan, 1}, 0.75},
		{"negative infinity goes left", []float32{0, float32(math.Inf(-1))}, -0.25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := b.Predictions(tt.row, 1)
			if err != nil {
				t.Fatal(err)
			}
			if want := sigmoid(tt.leaf); got[0] != want {
				t.Errorf("got %v, want sigmoid(%v) = %v", got[0], tt.leaf, want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name        string
		data        []byte
		want        string // substring of the error message
		unsupported bool   // whether the error matches ErrUnsupported
	}{
		{name: "empty", data: nil, want: "not a JSON model"},
		{name: "truncated", data: []byte(tinyModel[:len(tinyModel)/2]), want: "malformed JSON at byte"},
		{name: "UBJSON", data: []byte("{L\x00\x00\x00\x00\x00\x00\x00\x07learner{"), want: "UBJSON"},
		{name: "array", data: []byte(`[1, 2]`), want: "not a JSON model"},
		{name: "no learner", data: []byte(`{"version":[1,7,4]}`), want: "xgboost model: learner: missing"},
		{
			name: "children of the wrong type",
			data: tinyWith(t, func(_, tree map[string]any) { tree["left_children"] = "1,-1,-1" }),
			want: "learner.gradient_booster.model.trees.left_children: got JSON string, want an array",
		},
		{
			name: "threshold of the wrong type",
			data: tinyWith(t, func(_, tree map[string]any) { tree["split_conditions"] = []any{"0.5", 0, 0} }),
			want: "split_conditions: got JSON string, want a number",
		},
		{
			name: "tree id not an integer",
			data: tinyWith(t, func(_, tree map[string]any) { tree["id"] = 0.5 }),
			want: "learner.gradient_booster.model.trees.id: got JSON number 0.5, want an integer",
		},
		{
			name: "default_left not a flag",
			data: tinyWith(t, func(_, tree map[string]any) { tree["default_left"] = []any{2, 0, 0} }),
			want: "default_left: got 2",
		},
		{
			name: "num_feature not a number",
			data: tinyWith(t, func(l, _ map[string]any) { at(l, "learner_model_param")["num_feature"] = "two" }),
			want: `learner.learner_model_param.num_feature: "two" is not an integer`,
		},
		{
			name: "num_feature missing",
			data: tinyWith(t, func(l, _ map[string]any) { delete(at(l, "learner_model_param"), "num_feature") }),
			want: "learner.learner_model_param.num_feature: missing",
		},
		{
			name: "learner_model_param missing",
			data: tinyWith(t, func(l, _ map[string]any) { delete(l, "learner_model_param") }),
			want: "learner.learner_model_param: missing",
		},
		{
			name: "objective missing",
			data: tinyWith(t, func(l, _ map[string]any) { delete(l, "objective") }),
			want: "learner.objective: missing",
		},
		{
			name: "objective without a name",
			data: tinyWith(t, func(l, _ map[string]any) { delete(at(l, "objective"), "name") }),
			want: "learner.objective.name: missing",
		},
		{
			name: "base_score missing",
			data: tinyWith(t, func(l, _ map[string]any) { delete(at(l, "learner_model_param"), "base_score") }),
			want: "base_score: missing",
		},
		{
			name: "base_score not a probability",
			data: tinyWith(t, func(l, _ map[string]any) { at(l, "learner_model_param")["base_score"] = "1.5E0" }),
			want: "base_score: 1.5E0 out of range (0, 1) for objective binary:logistic",
		},
		{
			name: "trees missing",
			data: tinyWith(t, func(l, _ map[string]any) { delete(at(l, "gradient_booster"), "model") }),
			want: "learner.gradient_booster.model: missing",
		},
		{
			name: "left child out of range",
			data: tinyWith(t, func(_, tree map[string]any) { tree["left_children"] = []any{99, -1, -1} }),
			want: "xgboost model: tree 0: node 0: left child 99 out of range (tree has 3 nodes)",
		},
		{
			name: "right child negative",
			data: tinyWith(t, func(_, tree map[string]any) { tree["right_children"] = []any{-1, -1, -1} }),
			want: "tree 0: node 0: right child -1 out of range",
		},
		{
			name: "cycle",
			data: tinyWith(t, func(_, tree map[string]any) {
				tree["left_children"] = []any{1, 0, -1}
				tree["right_children"] = []any{2, 2, -1}
			}),
			want: "tree 0: node 1: left child 0 is reached twice",
		},
		{
			name: "both children the same",
			data: tinyWith(t, func(_, tree map[string]any) { tree["right_children"] = []any{1, -1, -1} }),
			want: "tree 0: node 0: right child 1 is reached twice",
		},
		{
			name: "split feature beyond num_feature",
			data: tinyWith(t, func(_, tree map[string]any) { tree["split_indices"] = []any{2, 0, 0} }),
			want: "tree 0: node 0: split feature 2 out of range (model has 2 features)",
		},
		{
			name: "array lengths differ",
			data: tinyWith(t, func(_, tree map[string]any) { tree["split_conditions"] = []any{0.5} }),
			want: "tree 0: split_conditions has 1 entries, left_children 3",
		},
		{
			name: "num_nodes disagrees",
			data: tinyWith(t, func(_, tree map[string]any) { at(tree, "tree_param")["num_nodes"] = "5" }),
			want: "tree 0: tree_param.num_nodes is 5, but left_children has 3 entries",
		},
		{
			name: "empty tree",
			data: tinyWith(t, func(_, tree map[string]any) {
				for _, k := range []string{"left_children", "right_children", "split_indices", "split_conditions", "default_left"} {
					tree[k] = []any{}
				}
			}),
			want: "tree 0: no nodes",
		},
		{
			name: "tree_info group out of range",
			data: tinyWith(t, func(l, _ map[string]any) { at(l, "gradient_booster.model")["tree_info"] = []any{1} }),
			want: "tree_info[0]: group 1 out of range (model has 1 output groups)",
		},
		{
			name: "tree_info too short",
			data: tinyWith(t, func(l, _ map[string]any) { at(l, "gradient_booster.model")["tree_info"] = []any{} }),
			want: "tree_info: 0 entries for 1 trees",
		},
		{
			name: "tree ids repeat",
			data: tinyWith(t, func(l, tree map[string]any) {
				m := at(l, "gradient_booster.model")
				m["trees"] = []any{tree, tree}
				m["tree_info"] = []any{0, 0}
				at(m, "gbtree_model_param")["num_trees"] = "2"
			}),
			want: "trees[1].id: 0 used by more than one tree",
		},
		{
			name: "num_trees disagrees",
			data: tinyWith(t, func(l, _ map[string]any) { at(l, "gradient_booster.model.gbtree_model_param")["num_trees"] = "4" }),
			want: "num_trees: 4, but the model has 1 trees",
		},
		{
			name: "num_class for a binary objective",
			data: tinyWith(t, func(l, _ map[string]any) { at(l, "learner_model_param")["num_class"] = "3" }),
			want: "num_class: 3, want 0 or 1 for objective binary:logistic",
		},
		{
			name: "multiclass without num_class",
			data: tinyWith(t, func(l, _ map[string]any) { at(l, "objective")["name"] = "multi:softprob" }),
			want: "num_class: 0, want at least 1 for objective multi:softprob",
		},
		{
			name: "feature names of the wrong count",
			data: tinyWith(t, func(l, _ map[string]any) { l["feature_names"] = []any{"a"} }),
			want: "learner.feature_names: 1 names for 2 features",
		},
		{
			name: "dart without weights",
			data: tinyWith(t, func(l, _ map[string]any) {
				g := at(l, "gradient_booster")
				g["name"], g["gbtree"] = "dart", map[string]any{"model": g["model"], "name": "gbtree"}
			}),
			want: "learner.gradient_booster.weight_drop: missing",
		},
		{
			name: "dart with too few weights",
			data: tinyWith(t, func(l, _ map[string]any) {
				g := at(l, "gradient_booster")
				g["name"], g["gbtree"], g["weight_drop"] = "dart", map[string]any{"model": g["model"]}, []any{}
			}),
			want: "weight_drop: 0 weights for 1 trees",
		},
		{
			name:        "unsupported objective",
			data:        tinyWith(t, func(l, _ map[string]any) { at(l, "objective")["name"] = "rank:pairwise" }),
			want:        `xgboost model: objective "rank:pairwise" not supported (want binary:logistic, multi:softmax, multi:softprob, reg:logistic, reg:squarederror)`,
			unsupported: true,
		},
		{
			name: "gblinear",
			data: []byte(`{"learner":{"gradient_booster":{"model":{"boosted_rounds":2,"weights":[0.5,0.25,0.1]},"name":"gblinear"},
				"learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"2","num_target":"1"},
				"objective":{"name":"reg:squarederror"}},"version":[1,7,4]}`),
			want:        `learner.gradient_booster.name: booster "gblinear" not supported (want gbtree or dart)`,
			unsupported: true,
		},
		{
			name:        "categorical split",
			data:        tinyWith(t, func(_, tree map[string]any) { tree["split_type"] = []any{1, 0, 0} }),
			want:        "tree 0: node 0: categorical split not supported",
			unsupported: true,
		},
		{
			name:        "categories",
			data:        tinyWith(t, func(_, tree map[string]any) { tree["categories_nodes"] = []any{0} }),
			want:        "tree 0: categorical splits not supported",
			unsupported: true,
		},
		{
			name:        "vector leaves",
			data:        tinyWith(t, func(_, tree map[string]any) { at(tree, "tree_param")["size_leaf_vector"] = "2" }),
			want:        "tree 0: vector leaves not supported",
			unsupported: true,
		},
		{
			name:        "several targets",
			data:        tinyWith(t, func(l, _ map[string]any) { at(l, "learner_model_param")["num_target"] = "2" }),
			want:        "num_target: 2 targets not supported",
			unsupported: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Parse(tt.data)
			if err == nil {
				t.Fatalf("Parse succeeded with %d features, want error containing %q", b.NumFeature(), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\n  does not contain %q", err, tt.want)
			}
			var modelErr *ModelError
			if !errors.As(err, &modelErr) || !errors.Is(err, slipway.ErrInvalid) {
				t.Errorf("error %q is not a *ModelError matching slipway.ErrInvalid", err)
			}
			if got := errors.Is(err, ErrUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(err, ErrUnsupported) = %v, want %v", got, tt.unsupported)
			}
		})
	}
}

func TestPredictShapeErrors(t *testing.T) {
	b, err := Parse([]byte(tinyModel))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		features int
		rows     int
		out      int
		want     string
	}{
		{"too few features", 3, 2, 2, "got 3 feature values, want 2 rows × 2 features"},
		{"too many features", 6, 2, 2, "got 6 feature values, want 2 rows × 2 features"},
		{"negative rows", 0, -1, 0, "-1 rows"},
		{"short out", 4, 2, 1, "out has 1 entries, want 2 rows × 1 outputs"},
		{"long out", 4, 2, 3, "out has 3 entries, want 2 rows × 1 outputs"},
		{"huge rows", 4, math.MaxInt/2 + 1, 2, "want 4611686018427387904 rows × 2 features"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.Predict(make([]float32, tt.features), tt.rows, make([]float32, tt.out))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, slipway.ErrInvalid) {
				t.Errorf("got error %v, want one containing %q that matches slipway.ErrInvalid", err, tt.want)
			}
		})
	}
	if out, err := b.Predictions(nil, 0); err != nil || len(out) != 0 {
		t.Errorf("Predictions of no rows = %v, %v; want an empty result", out, err)
	}
}
