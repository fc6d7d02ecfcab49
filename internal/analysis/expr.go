package analysis

import (
	"fmt"

	"github.com/slipway-ml/slipway"
	"github.com/slipway-ml/slipway/internal/spec"
)

// compileExpr compiles an expression condition; nil for none. The spec
// compiled it when it was parsed, so an error here means a spec stored by
// an older slipway, and the condition is inconclusive with the error.
func compileExpr(src string) (*spec.Expr, error) {
	if src == "" {
		return nil, nil
	}
	return spec.CompileExpr(src)
}

// expression judges an expr condition over the measured values. For a
// metric (fires false) it passes when the expression is true; for a
// trigger (fires true) the expression says when to fire, so true fails.
func (j *judgement) expression(x *spec.Expr, err error, fires bool) condition {
	if err != nil {
		return inconclusive(fmt.Sprintf("expr does not compile: %v", err))
	}
	if x.UsesBaseline && j.ms.comparison {
		return inconclusive(j.info.Name + " already compares the candidate with the baseline, so the expression has no baseline value to read")
	}
	if why, ok := j.ready(x.UsesBaseline); !ok {
		return inconclusive(why)
	}
	c, b, u := j.ms.cand, j.ms.base, j.info.Unit
	env := spec.Env{Candidate: c.value, CandidateN: c.n, BaselineN: b.n}
	values := "candidate " + format(u, c.value)
	if x.UsesBaseline {
		env.Baseline = b.value
		values += ", baseline " + format(u, b.value)
	}
	holds, err := x.Eval(env)
	if err != nil {
		return inconclusive(err.Error())
	}
	text := fmt.Sprintf("`%s` is %t (%s)", x.Source, holds, values)
	if holds == fires {
		return fail(text)
	}
	return pass(text)
}

// providerVerdict is a webhook's own pass or fail, once the candidate has
// served its samples.
func (j *judgement) providerVerdict(p *spec.Provider) condition {
	c := j.ms.cand
	if c.n < j.min {
		return inconclusive(fmt.Sprintf("%d of %d %s", c.n, j.min, j.ms.noun))
	}
	text := p.String() + " says "
	if *c.verdict {
		text += string(slipway.Pass)
	} else {
		text += string(slipway.Fail)
	}
	if c.why != "" {
		text += ": " + c.why
	}
	if *c.verdict {
		return pass(text)
	}
	return fail(text)
}
