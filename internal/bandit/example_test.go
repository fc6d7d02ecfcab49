package bandit_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/slipway-ml/slipway/internal/bandit"
)

// One controller tick: the evidence so far goes in, the router's shares
// and the status page's reasons come out.
func ExampleAllocator() {
	policy, err := bandit.New("thompson", bandit.Options{Model: bandit.Bernoulli})
	if err != nil {
		panic(err)
	}
	arms := []bandit.Arm{
		{Pulls: 5000, Sum: 250, SumSq: 250}, // v1: 5.0% conversions
		{Pulls: 5210, Sum: 370, SumSq: 370}, // v2: 7.1%
	}
	al := bandit.Allocator{Policy: policy, Floor: 0.05}
	status, err := al.Allocate([]string{"v1", "v2"}, arms, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	for _, s := range status {
		fmt.Println(s.Why())
	}
	// Output:
	// arm v1: 5% of traffic: P(best)=0.00, mean 0.05 ± 0.003 over 5,000 rewards
	// arm v2: 95% of traffic: P(best)=1.00, mean 0.071 ± 0.004 over 5,210 rewards
}

// LinUCB serves each segment the version that is best for it.
func ExampleLinUCB() {
	model, _ := bandit.NewRidge([]string{"mobile"}, 2, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	// Version 0 converts 8% of desktop users and 3% of mobile ones;
	// version 1 converts 4% and 7%.
	rate := [2][2]float64{{0.08, 0.03}, {0.04, 0.07}}
	policy, _ := bandit.NewLinUCB(0.5)
	for range 50000 {
		mobile := float64(rng.IntN(2))
		arm, _ := policy.Choose(model, []float64{mobile}, rng)
		reward := 0.0
		if rng.Float64() < rate[arm][int(mobile)] {
			reward = 1
		}
		if err := model.Update(arm, []float64{mobile}, reward); err != nil {
			panic(err)
		}
	}
	for _, mobile := range []float64{0, 1} {
		arm, _ := policy.Choose(model, []float64{mobile}, rng)
		fmt.Printf("mobile=%v: version %d\n", mobile, arm)
	}
	// Output:
	// mobile=0: version 0
	// mobile=1: version 1
}
