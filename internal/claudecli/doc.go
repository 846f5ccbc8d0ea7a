// Package claudecli is test support for running the real Claude Code CLI
// offline, and its suite checks what the exporter makes of real sessions.
//
// The CLI (pinned in npm/package-lock.json, installed outside the repository by
// scripts/claude-code.sh) runs in print mode with stream-json input and output,
// in a private network namespace (CLONE_NEWNET, what `unshare -n` does) whose
// only route out is a bridge from 127.0.0.1:4080 to a Unix socket: there Server,
// a scripted Messages API, answers every model request from a script chosen by
// markers in the conversation. ServeMCP is a tiny MCP server whose tool asks the
// user through an elicitation. The test binary itself plays the bridge and the
// MCP server (RunMain in TestMain).
//
// The suite (realcli_test.go) registers the real claude-hooks-hook for every
// event with the real install command, drives one session through every
// scenario, and compares per scenario the metrics the daemon exposes, then the
// session's tokens and cost, its span tree, its API summary and the payloads
// the CLI sent with goldens under testdata/<version>/. `make test-claude
// CLAUDE_CODE_VERSION=x.y.z` runs another version against them, so a diff shows
// what that version changed.
//
// It must not be imported by non-test code, and nothing it runs may reach the
// network: without a namespace or the package it fails, it never skips.
package claudecli
