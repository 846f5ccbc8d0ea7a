// Command composecheck loads a compose file with github.com/compose-spec/compose-go,
// the loader Docker Compose itself uses (interpolation, schema validation,
// normalisation, path resolution), and prints the resulting project as JSON.
//
// It is a module of its own under testdata/ so that compose-go's dependencies stay
// out of the product's go.mod; internal/stacktest builds and runs it.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "composecheck:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: composecheck COMPOSE_FILE")
	}
	file, err := filepath.Abs(args[0])
	if err != nil {
		return fmt.Errorf("resolve %s: %w", args[0], err)
	}
	opts, err := cli.NewProjectOptions([]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithOsEnv,
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return fmt.Errorf("options: %w", err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		return fmt.Errorf("load %s: %w", file, err)
	}
	b, err := project.MarshalJSON()
	if err != nil {
		return fmt.Errorf("marshal project: %w", err)
	}
	_, err = os.Stdout.Write(b)
	return err
}
