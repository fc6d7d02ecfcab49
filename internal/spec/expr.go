package spec

import (
	"fmt"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// An expression condition (a metric's or a trigger's expr) is written in
// expr-lang (https://expr-lang.org) over the measured values, for what
// the other conditions cannot say. It must be true for the metric to
// pass (for a trigger: true fires it). Its variables:
//
//	candidate    the candidate's value, in the metric's unit
//	baseline     the baseline's value over the same window
//	candidateN   the candidate's observations behind its value
//	baselineN    the baseline's
//
// such as `candidate <= max(baseline * 1.1, baseline + 5)` on
// latency-p99 (10% or 5 ms, whichever is larger).

// ExprVars are the variables an expression may use.
var ExprVars = []string{"candidate", "baseline", "candidateN", "baselineN"}

// Expr is a compiled expression condition.
type Expr struct {
	Source string
	prog   *vm.Program
	// UsesBaseline says the expression reads the baseline, which must
	// then be measured (and have its samples) for it to be judged.
	UsesBaseline bool
}

// Env is the values an expression is evaluated with.
type Env struct {
	Candidate  float64 `expr:"candidate"`
	Baseline   float64 `expr:"baseline"`
	CandidateN int64   `expr:"candidateN"`
	BaselineN  int64   `expr:"baselineN"`
}

// Eval evaluates the expression.
func (x *Expr) Eval(env Env) (bool, error) {
	out, err := expr.Run(x.prog, env)
	if err != nil {
		return false, fmt.Errorf("expr %q: %w", x.Source, err)
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("expr %q: gave %T, not true or false", x.Source, out)
	}
	return b, nil
}

// compiled caches compiled expressions by source: the analysis judges the
// same few on every tick of every rollout.
var compiled sync.Map // string → *Expr

// CompileExpr compiles an expression condition; its errors give the
// position in the expression.
func CompileExpr(src string) (*Expr, error) {
	if x, ok := compiled.Load(src); ok {
		return x.(*Expr), nil
	}
	prog, err := expr.Compile(src, expr.Env(Env{}), expr.AsBool())
	if err != nil {
		return nil, err
	}
	x := &Expr{Source: src, prog: prog}
	node := prog.Node()
	ast.Walk(&node, visitor(func(n ast.Node) {
		if id, ok := n.(*ast.IdentifierNode); ok && (id.Value == "baseline" || id.Value == "baselineN") {
			x.UsesBaseline = true
		}
	}))
	compiled.Store(src, x)
	return x, nil
}

type visitor func(ast.Node)

func (v visitor) Visit(n *ast.Node) { v(*n) }

func (c *checker) expr(path, src string) {
	if _, err := CompileExpr(src); err != nil {
		c.addf(path, "%v", err)
	}
}
