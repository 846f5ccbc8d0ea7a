// Package wire holds the JSON shapes of the exporter's query API and live
// stream: the one definition of an event, a session and a timeline span that
// the daemon serves and the Grafana plugin reads.
//
// It is a leaf: plain types and constants, no behaviour beyond parsing the
// shared filter parameters, nothing of ours imported.
package wire
