// Command goempty is the floor for BenchmarkHookExec: a Go program that starts
// and exits, so the benchmark shows what the Go runtime costs by itself.
package main

func main() {}
