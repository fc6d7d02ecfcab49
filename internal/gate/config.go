package gate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/spec"
)

// The metrics a gate can hold a version to. Fractions (accuracy …
// calibration-error, error-rate, r2) are between 0 and 1; latencies are
// in milliseconds, throughput in rows per second, size in bytes.
const (
	MetricAccuracy    = "accuracy"
	MetricPrecision   = "precision"
	MetricRecall      = "recall"
	MetricF1          = "f1"
	MetricAUC         = "auc"
	MetricLogLoss     = "log-loss"
	MetricCalibration = "calibration-error"
	MetricMAE         = "mae"
	MetricRMSE        = "rmse"
	MetricR2          = "r2"
	MetricLatencyP50  = "latency-p50"
	MetricLatencyP99  = "latency-p99"
	MetricThroughput  = "throughput"
	MetricErrorRate   = "error-rate"
	MetricSize        = "size"
)

// unit is how a metric's values are written and read.
type unit int

const (
	fraction  unit = iota // 0.9 or 90%
	number                // a plain number
	millis                // 20ms, 1.5s, or a number of milliseconds
	perSecond             // rows per second
	bytes                 // 10MB, 512KiB, or a number of bytes
)

// metricInfo describes one metric a gate knows.
type metricInfo struct {
	higherBetter bool
	unit         unit
	// quality marks offline quality metrics, computed for classifiers
	// (classifier true) or regression models (classifier false).
	quality, classifier bool
}

var metrics = map[string]metricInfo{
	MetricAccuracy:    {higherBetter: true, unit: fraction, quality: true, classifier: true},
	MetricPrecision:   {higherBetter: true, unit: fraction, quality: true, classifier: true},
	MetricRecall:      {higherBetter: true, unit: fraction, quality: true, classifier: true},
	MetricF1:          {higherBetter: true, unit: fraction, quality: true, classifier: true},
	MetricAUC:         {higherBetter: true, unit: fraction, quality: true, classifier: true},
	MetricLogLoss:     {unit: number, quality: true, classifier: true},
	MetricCalibration: {unit: fraction, quality: true, classifier: true},
	MetricMAE:         {unit: number, quality: true},
	MetricRMSE:        {unit: number, quality: true},
	MetricR2:          {higherBetter: true, unit: fraction, quality: true},
	MetricLatencyP50:  {unit: millis},
	MetricLatencyP99:  {unit: millis},
	MetricThroughput:  {higherBetter: true, unit: perSecond},
	MetricErrorRate:   {unit: fraction},
	MetricSize:        {unit: bytes},
}

// Metrics lists the metric names a gate accepts, sorted.
func Metrics() []string {
	out := make([]string, 0, len(metrics))
	for name := range metrics {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// settings are the keys of a gates section that are not metrics.
var settings = []string{"label", "group", "task", "threshold", "primary", "fairness", "schema", "formats", "approvals"}

// Limit is what one metric must satisfy. Nil bounds are not checked.
type Limit struct {
	Metric string `json:"metric"`
	// Min and Max bound the candidate's value.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// MaxDecrease and MaxIncrease bound the change from the baseline's
	// value; they are not checked without a baseline.
	MaxDecrease *Delta `json:"maxDecrease,omitempty"`
	MaxIncrease *Delta `json:"maxIncrease,omitempty"`
	// Default marks a limit no one wrote: the default comparison on the
	// primary metric, or the default error-rate bound.
	Default bool `json:"default,omitempty"`
}

// Delta is an allowed change. For fractions a percentage is in points
// (1% of accuracy is 0.01); for other metrics it is relative to the
// baseline's value (1% of a 20ms latency is 0.2ms).
type Delta struct {
	Value    float64 `json:"value"`
	Relative bool    `json:"relative,omitempty"`
}

// allowed is the largest change from base that the delta permits.
func (d Delta) allowed(base float64) float64 {
	if d.Relative {
		return d.Value * math.Abs(base)
	}
	return d.Value
}

// Fairness is the fairness gate: the metric computed per group of the
// Group column, whose largest gap between groups must stay within MaxGap.
type Fairness struct {
	// Group names the holdout column of the groups. Required.
	Group string `json:"group"`
	// Metric is compared across groups; default recall (classifiers) or
	// mae (regression).
	Metric string `json:"metric"`
	// MaxGap bounds the metric's largest gap; zero means the default,
	// 0.1 or the gap chance makes on the holdout if that is larger (see
	// AboveChance).
	MaxGap float64 `json:"maxGap"`
	// AboveChance raises MaxGap to the holdout's chance gap
	// (FairnessResult.NoiseGap) when that is larger, so that a gap groups
	// drawn at random would show does not fail the gate. Defaults sets it
	// with the default MaxGap; a MaxGap someone wrote is held as written.
	AboveChance bool `json:"aboveChance,omitempty"`
	// MaxParityGap and MaxOpportunityGap, when set, bound the
	// demographic parity difference (gap in positive-prediction rate) and
	// the equal-opportunity difference (gap in true-positive rate) of a
	// binary classifier.
	MaxParityGap      *float64 `json:"maxParityGap,omitempty"`
	MaxOpportunityGap *float64 `json:"maxOpportunityGap,omitempty"`
}

// Schema says how the candidate's inputs must compare with the baseline's.
type Schema string

const (
	// SchemaCompatible, the default, fails on any missing, extra, renamed
	// or retyped input: callers of the baseline would break.
	SchemaCompatible Schema = "compatible"
	// SchemaAny reports differences without failing.
	SchemaAny Schema = "any"
)

// Config is what a gate run holds a candidate to. The zero value, after
// Defaults, is a working configuration.
type Config struct {
	// Label is the holdout column with the truth; "" means "label".
	Label string `json:"label"`
	// Task is binary, multiclass or regression; "" means inferred from
	// the candidate's output (one score column: binary; several:
	// multiclass) and the labels (non-integers: regression).
	Task string `json:"task,omitempty"`
	// Threshold is the score at or above which a binary classifier
	// predicts positive; zero means 0.5.
	Threshold float64 `json:"threshold"`
	// Primary is the metric compared with the baseline when no limit
	// names a change; "" means auc (binary), accuracy (multiclass) or
	// rmse (regression).
	Primary string `json:"primary,omitempty"`
	// Limits are the metric gates, in the order they are reported.
	Limits []Limit `json:"limits,omitempty"`
	// Fairness is the fairness gate; nil means none.
	Fairness *Fairness `json:"fairness,omitempty"`
	// Schema is how inputs must compare; "" means SchemaCompatible.
	Schema Schema `json:"schema,omitempty"`
	// Formats are the artifact formats allowed; nil means every format
	// slipway knows.
	Formats []slipway.Format `json:"formats,omitempty"`
	// Approvals are the roles that must approve the version before it
	// is deployed; nil means none.
	Approvals []string `json:"approvals,omitempty"`
}

// limit returns the limit on metric, adding an empty one if needed.
func (c *Config) limit(metric string) *Limit {
	for i := range c.Limits {
		if c.Limits[i].Metric == metric {
			return &c.Limits[i]
		}
	}
	c.Limits = append(c.Limits, Limit{Metric: metric})
	return &c.Limits[len(c.Limits)-1]
}

// collector gathers every problem of a gates section, each naming its
// field path, as a spec.Errors: the section comes decoded, so the problems
// carry no line, and the list matches slipway.ErrInvalid as the spec's own
// problems do.
type collector struct{ errs spec.Errors }

func (c *collector) badf(path, format string, args ...any) {
	c.errs = append(c.errs, spec.FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (c *collector) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}

// Parse decodes a deployment spec's gates section (as the spec package
// keeps it: a mapping decoded from YAML) and validates all of it,
// reporting every problem with its path under "deployment.gates". A nil
// section gives the empty Config.
func Parse(section map[string]any) (Config, error) {
	var c Config
	var col collector
	for _, key := range sortedKeys(section) {
		path := "deployment.gates." + key
		val := section[key]
		if _, ok := metrics[key]; ok {
			c.parseLimit(&col, path, key, val)
			continue
		}
		switch key {
		case "label", "group", "task", "primary", "schema":
			s, ok := val.(string)
			if !ok || s == "" {
				col.badf(path, "want a name, got %v", describe(val))
				continue
			}
			c.setString(&col, path, key, s)
		case "threshold":
			x, ok := toFloat(val)
			if !ok || x <= 0 || x >= 1 {
				col.badf(path, "want a score between 0 and 1, got %v", describe(val))
				continue
			}
			c.Threshold = x
		case "fairness":
			c.parseFairness(&col, path, val)
		case "formats":
			for i, s := range stringList(&col, path, val) {
				f := slipway.Format(s)
				if !f.Valid() {
					col.badf(fmt.Sprintf("%s[%d]", path, i), "unknown format %q: want xgboost, lightgbm, onnx or remote", s)
				}
				c.Formats = append(c.Formats, f)
			}
		case "approvals":
			c.Approvals = stringList(&col, path, val)
		default:
			col.badf(path, "unknown gate %q; known metrics: %s; other settings: %s", key, strings.Join(Metrics(), ", "), strings.Join(settings, ", "))
		}
	}
	if col.err() == nil {
		c.validate(&col)
	}
	return c, col.err()
}

func (c *Config) setString(col *collector, path, key, s string) {
	switch key {
	case "label":
		c.Label = s
	case "group":
		if c.Fairness == nil {
			c.Fairness = &Fairness{}
		}
		if c.Fairness.Group == "" {
			c.Fairness.Group = s
		}
	case "task":
		if !slices.Contains([]string{TaskBinary, TaskMulticlass, TaskRegression}, s) {
			col.badf(path, "unknown task %q: want binary, multiclass or regression", s)
		}
		c.Task = s
	case "primary":
		if _, ok := metrics[s]; !ok {
			col.badf(path, "unknown metric %q; known metrics: %s", s, strings.Join(Metrics(), ", "))
		}
		c.Primary = s
	case "schema":
		if s != string(SchemaCompatible) && s != string(SchemaAny) {
			col.badf(path, "%q: want compatible or any", s)
		}
		c.Schema = Schema(s)
	}
}

// parseLimit reads {min, max, maxDecrease, maxIncrease} for metric.
func (c *Config) parseLimit(col *collector, path, metric string, val any) {
	m, ok := val.(map[string]any)
	if !ok {
		col.badf(path, "want a mapping of min, max, maxDecrease or maxIncrease, got %v", describe(val))
		return
	}
	if len(m) == 0 {
		col.badf(path, "empty: give min, max, maxDecrease or maxIncrease")
		return
	}
	l := c.limit(metric)
	info := metrics[metric]
	for _, k := range sortedKeys(m) {
		v := m[k]
		p := path + "." + k
		switch k {
		case "min", "max":
			x, err := parseValue(v, info.unit)
			if err != nil {
				col.badf(p, "%v", err)
				continue
			}
			if k == "min" {
				l.Min = &x
			} else {
				l.Max = &x
			}
		case "maxDecrease", "maxIncrease":
			d, err := parseDelta(v, info.unit)
			if err != nil {
				col.badf(p, "%v", err)
				continue
			}
			if k == "maxDecrease" {
				l.MaxDecrease = &d
			} else {
				l.MaxIncrease = &d
			}
		default:
			col.badf(p, "unknown field; want min, max, maxDecrease or maxIncrease")
		}
	}
}

func (c *Config) parseFairness(col *collector, path string, val any) {
	m, ok := val.(map[string]any)
	if !ok {
		col.badf(path, "want a mapping of group, metric and maxGap, got %v", describe(val))
		return
	}
	if c.Fairness == nil {
		c.Fairness = &Fairness{}
	}
	f := c.Fairness
	for _, k := range sortedKeys(m) {
		v := m[k]
		p := path + "." + k
		switch k {
		case "group", "metric":
			s, ok := v.(string)
			if !ok || s == "" {
				col.badf(p, "want a name, got %v", describe(v))
				continue
			}
			if k == "group" {
				f.Group = s
			} else {
				if info, known := metrics[s]; !known || !info.quality {
					col.badf(p, "unknown quality metric %q; known: %s", s, strings.Join(qualityMetrics(), ", "))
				}
				f.Metric = s
			}
		case "maxGap", "maxParityGap", "maxOpportunityGap":
			x, err := parseValue(v, fraction)
			if err != nil || x < 0 {
				col.badf(p, "want a gap of 0 or more, such as 0.1 or 10%%, got %v", describe(v))
				continue
			}
			switch k {
			case "maxGap":
				f.MaxGap = x
			case "maxParityGap":
				f.MaxParityGap = &x
			default:
				f.MaxOpportunityGap = &x
			}
		default:
			col.badf(p, "unknown field; want group, metric, maxGap, maxParityGap or maxOpportunityGap")
		}
	}
}

func qualityMetrics() []string {
	var out []string
	for _, name := range Metrics() {
		if metrics[name].quality {
			out = append(out, name)
		}
	}
	return out
}

// validate checks what can only be checked once everything is read.
func (c *Config) validate(col *collector) {
	for _, l := range c.Limits {
		if l.Min != nil && l.Max != nil && *l.Min > *l.Max {
			col.badf("deployment.gates."+l.Metric, "min %v is above max %v", *l.Min, *l.Max)
		}
	}
	if c.Fairness != nil && c.Fairness.Group == "" {
		col.badf("deployment.gates.fairness.group", "required: the holdout column that holds each row's group")
	}
}

// Flag applies one threshold given on the command line, such as
// kind "min" with "accuracy=0.9", or kind "max-decrease" with "auc=1%".
func (c *Config) Flag(kind, arg string) error {
	name, value, ok := strings.Cut(arg, "=")
	if !ok {
		return fmt.Errorf("--%s %q: want METRIC=VALUE, such as accuracy=0.9", kind, arg)
	}
	info, known := metrics[name]
	if !known {
		return fmt.Errorf("--%s %s: unknown metric %q; known metrics: %s", kind, arg, name, strings.Join(Metrics(), ", "))
	}
	l := c.limit(name)
	l.Default = false
	switch kind {
	case "min", "max":
		x, err := parseValue(value, info.unit)
		if err != nil {
			return fmt.Errorf("--%s %s: %w", kind, arg, err)
		}
		if kind == "min" {
			l.Min = &x
		} else {
			l.Max = &x
		}
	case "max-decrease", "max-increase":
		d, err := parseDelta(value, info.unit)
		if err != nil {
			return fmt.Errorf("--%s %s: %w", kind, arg, err)
		}
		if kind == "max-decrease" {
			l.MaxDecrease = &d
		} else {
			l.MaxIncrease = &d
		}
	default:
		return fmt.Errorf("unknown threshold kind %q", kind)
	}
	return nil
}

// DefaultMaxGap is the fairness gate's default bound on the gap between
// groups: a difference of rates within ±0.1 is the range fairness
// toolkits call acceptable (Holistic AI's statistical parity, for one).
// Defaults pairs it with AboveChance: on a holdout with a few dozen
// positives per group, recall gaps above 0.1 are common by chance alone
// (see doc.go).
const DefaultMaxGap = 0.1

// Defaults fills what was left out for a model of the given task: the
// label column, the threshold, the primary metric, a comparison with the
// baseline on the primary metric (no worse by more than one point, or 1%
// for metrics that are not fractions) when no limit on it names a
// change, no failed rows, and the fairness gate's metric and gap (0.1,
// raised to the holdout's chance gap when that is larger).
func (c *Config) Defaults(task string) {
	if c.Label == "" {
		c.Label = "label"
	}
	if c.Threshold == 0 {
		c.Threshold = 0.5
	}
	if c.Primary == "" {
		c.Primary = map[string]string{TaskBinary: MetricAUC, TaskMulticlass: MetricAccuracy, TaskRegression: MetricRMSE}[task]
	}
	if c.Schema == "" {
		c.Schema = SchemaCompatible
	}
	if info, ok := metrics[c.Primary]; ok {
		l := c.limit(c.Primary)
		if l.MaxDecrease == nil && l.MaxIncrease == nil {
			d := &Delta{Value: 0.01, Relative: info.unit != fraction}
			if info.higherBetter {
				l.MaxDecrease = d
			} else {
				l.MaxIncrease = d
			}
			l.Default = l.Min == nil && l.Max == nil
		}
	}
	if l := c.limit(MetricErrorRate); l.Max == nil && l.Min == nil && l.MaxIncrease == nil {
		zero := 0.0
		l.Max, l.Default = &zero, true
	}
	if f := c.Fairness; f != nil {
		if f.Metric == "" {
			f.Metric = MetricRecall
			if task == TaskRegression {
				f.Metric = MetricMAE
			}
		}
		if f.MaxGap == 0 {
			f.MaxGap, f.AboveChance = DefaultMaxGap, true
		}
	}
}

// parseValue reads a threshold in a metric's unit: a number, or a
// string with the unit's suffix ("90%", "20ms", "10MB").
func parseValue(v any, u unit) (float64, error) {
	if x, ok := toFloat(v); ok {
		if u == fraction && x > 1 {
			return 0, fmt.Errorf("%v is above 1: write a fraction such as 0.9 or a percentage such as 90%%", x)
		}
		return x, nil
	}
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("want a number, got %v", describe(v))
	}
	s = strings.TrimSpace(s)
	switch u {
	case fraction:
		if p, ok := strings.CutSuffix(s, "%"); ok {
			x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err == nil && x >= 0 && x <= 100 {
				return x / 100, nil
			}
		}
		if x, err := strconv.ParseFloat(s, 64); err == nil && x <= 1 {
			return x, nil
		}
		return 0, fmt.Errorf("%q: want a fraction such as 0.9 or a percentage such as 90%%", s)
	case millis:
		if d, err := time.ParseDuration(s); err == nil && d >= 0 {
			return float64(d) / float64(time.Millisecond), nil
		}
		return 0, fmt.Errorf("%q: want a duration such as 20ms or a number of milliseconds", s)
	case bytes:
		if x, err := parseBytes(s); err == nil {
			return x, nil
		}
		return 0, fmt.Errorf("%q: want a size such as 10MB or 512KiB, or a number of bytes", s)
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("%q: want a number", s)
	}
	return x, nil
}

// parseDelta reads an allowed change: "1%" (points for fractions,
// relative otherwise) or a value in the metric's unit.
func parseDelta(v any, u unit) (Delta, error) {
	if s, ok := v.(string); ok {
		if p, ok := strings.CutSuffix(strings.TrimSpace(s), "%"); ok {
			x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil || x < 0 || math.IsInf(x, 0) {
				return Delta{}, fmt.Errorf("%q: want a percentage of 0 or more, such as 1%%", s)
			}
			return Delta{Value: x / 100, Relative: u != fraction}, nil
		}
	}
	x, err := parseValue(v, u)
	if err != nil {
		return Delta{}, err
	}
	if x < 0 {
		return Delta{}, errors.New("a change bound must be 0 or more")
	}
	return Delta{Value: x}, nil
}

var byteUnits = []struct {
	suffix string
	scale  float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
}

func parseBytes(s string) (float64, error) {
	scale := 1.0
	for _, u := range byteUnits {
		if p, ok := strings.CutSuffix(s, u.suffix); ok {
			s, scale = strings.TrimSpace(p), u.scale
			break
		}
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || x < 0 || math.IsInf(x, 0) {
		return 0, errors.New("not a size")
	}
	return x * scale, nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	}
	return 0, false
}

func stringList(col *collector, path string, v any) []string {
	items, ok := v.([]any)
	if !ok {
		col.badf(path, "want a list of names, got %v", describe(v))
		return nil
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok || s == "" {
			col.badf(fmt.Sprintf("%s[%d]", path, i), "want a name, got %v", describe(it))
			continue
		}
		out = append(out, s)
	}
	return out
}

// describe names a decoded YAML value's kind for an error message.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return strconv.Quote(x)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return fmt.Sprint(v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
