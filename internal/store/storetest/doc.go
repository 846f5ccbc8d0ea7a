// Package storetest holds the scripted sessions the store and API tests share:
// hook payloads shaped like Claude Code's (copied from the project's samples),
// applied in time order to a session tracker, with the spans it closed.
//
// It is imported by tests only; it must not be used by the daemon.
package storetest
