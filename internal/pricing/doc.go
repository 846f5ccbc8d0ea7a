// Package pricing owns the price table that turns token counts into US dollars:
// per model-name prefix, the price per million input, output, cache-read and
// cache-write (5-minute and 1-hour) tokens. The default table is an embedded
// copy of deploy/prices.yaml (a test keeps the two identical); a user's file
// replaces it as a whole.
//
// It must not do I/O beyond Load, or know where token counts come from.
package pricing
