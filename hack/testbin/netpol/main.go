// netpol says which flows a set of NetworkPolicies allows, as github.com/mattfenwick/cyclonus' policy matcher
// decides (the engine sigs.k8s.io/network-policy-api's policy-assistant was forked from; policy-assistant
// itself is not served by the Go module proxy). Policies: a directory of YAML or JSON files, one NetworkPolicy
// or NetworkPolicyList each (cyclonus' own reader). Flows: a JSON array of cyclonus' matcher.Traffic on stdin.
// Prints a JSON array, one verdict per flow, in order. A test helper only.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/mattfenwick/cyclonus/pkg/kube"
	"github.com/mattfenwick/cyclonus/pkg/matcher"
)

type direction struct {
	Allowed bool `json:"allowed"`
	// The policies (namespace/name) selecting the pod that allow, or deny, the flow.
	AllowedBy []string `json:"allowedBy"`
	DeniedBy  []string `json:"deniedBy"`
}

type verdict struct {
	Allowed bool      `json:"allowed"`
	Egress  direction `json:"egress"`
	Ingress direction `json:"ingress"`
}

func policyNames(targets []*matcher.Target) []string {
	names := []string{}
	for _, target := range targets {
		for _, policy := range target.SourceRules {
			names = append(names, policy.Namespace+"/"+policy.Name)
		}
	}
	return names
}

func directionOf(result *matcher.DirectionResult) direction {
	return direction{Allowed: result.IsAllowed(), AllowedBy: policyNames(result.AllowingTargets), DeniedBy: policyNames(result.DenyingTargets)}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: netpol <policy directory> < flows.json")
		os.Exit(2)
	}
	policies, err := kube.ReadNetworkPoliciesFromPath(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "netpol: reading policies: %v\n", err)
		os.Exit(2)
	}
	var flows []*matcher.Traffic
	decoder := json.NewDecoder(os.Stdin)
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&flows); err != nil {
		fmt.Fprintf(os.Stderr, "netpol: reading a JSON array of flows from stdin: %v\n", err)
		os.Exit(2)
	}
	// Not simplified: each target keeps the policy it came from.
	policy := matcher.BuildNetworkPolicies(false, policies)
	verdicts := make([]verdict, 0, len(flows))
	for _, flow := range flows {
		result := policy.IsTrafficAllowed(flow)
		verdicts = append(verdicts, verdict{Allowed: result.IsAllowed(), Egress: directionOf(result.Egress), Ingress: directionOf(result.Ingress)})
	}
	if err := json.NewEncoder(os.Stdout).Encode(verdicts); err != nil {
		fmt.Fprintf(os.Stderr, "netpol: %v\n", err)
		os.Exit(1)
	}
}
