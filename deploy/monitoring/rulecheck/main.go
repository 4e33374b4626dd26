// Command rulecheck validates the monitoring files of deploy/monitoring the way Prometheus
// itself reads them: a rules file through rulefmt (what `promtool check rules` does), and
// the PromQL of every panel target of Grafana dashboards through the PromQL parser.
//
//	rulecheck rules FILE...   parse and validate Prometheus rule files; each problem is
//	                          printed on a line of its own
//	rulecheck exprs           read PromQL expressions from stdin, one JSON string a line,
//	                          and print for each a JSON line: the metric names it selects,
//	                          or the parse error
//
// The exit status is 1 when there is any problem or error.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sort"

	"github.com/prometheus/common/model"

	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: rulecheck rules FILE... | rulecheck exprs < lines")
		os.Exit(2)
	}
	var problems []string
	switch os.Args[1] {
	case "rules":
		problems = checkRules(os.Args[2:])
	case "exprs":
		if !checkExprs() {
			os.Exit(1)
		}
		return
	default:
		fmt.Fprintf(os.Stderr, "rulecheck: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}

func checkRules(files []string) []string {
	var problems []string
	for _, file := range files {
		groups, errs := rulefmt.ParseFile(
			file, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.Default())
		for _, err := range errs {
			problems = append(problems, err.Error()) // ParseFile names the file
		}
		if groups == nil {
			continue
		}
		rules := 0
		for _, g := range groups.Groups {
			rules += len(g.Rules)
		}
		if rules == 0 {
			problems = append(problems, fmt.Sprintf("%s: no rules", file))
		}
	}
	return problems
}

// One answer line of the exprs command.
type answer struct {
	Metrics []string `json:"metrics"`
	Error   string   `json:"error,omitempty"`
}

func checkExprs() bool {
	ok := true
	p := parser.NewParser(parser.Options{})
	out := json.NewEncoder(os.Stdout)
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		var expr string
		a := answer{Metrics: []string{}}
		if err := json.Unmarshal(scanner.Bytes(), &expr); err != nil {
			a.Error = fmt.Sprintf("not a JSON string: %v", err)
		} else if node, err := p.ParseExpr(expr); err != nil {
			a.Error = err.Error()
		} else {
			a.Metrics = metricNames(node)
		}
		ok = ok && a.Error == ""
		if err := out.Encode(a); err != nil {
			fmt.Fprintln(os.Stderr, "rulecheck:", err)
			return false
		}
	}
	if err := scanner.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "rulecheck: reading stdin:", err)
		return false
	}
	return ok
}

// metricNames are the names of every vector selector in the expression, sorted.
func metricNames(node parser.Node) []string {
	seen := map[string]bool{}
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" {
			seen[vs.Name] = true
		}
		return nil
	})
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
