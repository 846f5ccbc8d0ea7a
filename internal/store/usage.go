package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
)

// This file computes session usage from stored spans for the migration to
// schema version 3 only: since version 4 the tracker's summary carries it.
// The attribute names are those the tracker wrote when version 3 was
// released, frozen here with the migration (a released migration is never
// edited).
const (
	v3AttrUsageInput         = "gen_ai.usage.input_tokens"
	v3AttrUsageOutput        = "gen_ai.usage.output_tokens"
	v3AttrUsageCacheRead     = "gen_ai.usage.cache_read.input_tokens"
	v3AttrUsageCacheCreation = "gen_ai.usage.cache_creation.input_tokens"
	v3AttrCostUSD            = "claude_code.cost.usd"
	v3AttrModels             = "claude_code.models"
)

// sessionUsage is a session's token usage and cost as the sessions table
// keeps them. The token types are disjoint: input is the uncached input only.
type sessionUsage struct {
	input, output, cacheRead, cacheCreation int64
	costUSD                                 float64
	models                                  string // sorted, comma-separated; "" when none
}

// usageSQL reads the usage attributes of a session's root and turn spans
// through the partial index spans_usage (its condition on kind is the
// index's): without INDEXED BY the planner takes the primary key, the
// covering choice, which reads every span of the session and its attributes.
var usageSQL = `SELECT span_key, parent_key, kind,
	CAST(json_extract(attrs, '$."` + v3AttrUsageInput + `"') AS INTEGER),
	CAST(json_extract(attrs, '$."` + v3AttrUsageOutput + `"') AS INTEGER),
	CAST(json_extract(attrs, '$."` + v3AttrUsageCacheRead + `"') AS INTEGER),
	CAST(json_extract(attrs, '$."` + v3AttrUsageCacheCreation + `"') AS INTEGER),
	CAST(json_extract(attrs, '$."` + v3AttrCostUSD + `"') AS REAL),
	json_extract(attrs, '$."` + v3AttrModels + `"')
	FROM spans INDEXED BY spans_usage WHERE session_id = ? AND kind IN ('session', 'turn') ORDER BY span_key`

// usageSpan is one row of usageSQL.
type usageSpan struct {
	key, parent, kind string
	in, out, cr, cc   sql.NullInt64
	cost              sql.NullFloat64
	models            sql.NullString
}

// readUsage folds the rows of usageSQL into the session's figures: for each
// generation of the session (each root key), the root span's figures when the
// root is stored (it holds all of the generation's usage, also what came
// between turns), else the sum of the generation's closed turns (which hold
// their subagents' usage: subagent spans are not read).
func readUsage(rows *sql.Rows) (sessionUsage, error) {
	defer rows.Close()
	var spans []usageSpan
	roots := map[string]bool{}
	for rows.Next() {
		var sp usageSpan
		if err := rows.Scan(&sp.key, &sp.parent, &sp.kind, &sp.in, &sp.out, &sp.cr, &sp.cc, &sp.cost, &sp.models); err != nil {
			return sessionUsage{}, err
		}
		if sp.kind == "session" && sp.parent == "" {
			roots[sp.key] = true
		}
		spans = append(spans, sp)
	}
	if err := rows.Err(); err != nil {
		return sessionUsage{}, err
	}
	var u sessionUsage
	for _, sp := range spans {
		switch {
		case sp.kind == "session" && sp.parent == "":
		case sp.kind == "turn" && !roots[sp.parent]:
		default:
			continue // a turn its stored root already counts
		}
		u.add(sp.in.Int64, sp.out.Int64, sp.cr.Int64, sp.cc.Int64, sp.cost.Float64, sp.models.String)
	}
	return u, nil
}

// add adds the usage attributes of one span: in is its
// gen_ai.usage.input_tokens, which includes the cached input (GenAI
// conventions), while the session keeps the uncached part. The cost is rounded
// to 1e-6 at each step, as the attributes are, so that the sum of the same
// spans is the same in any order.
func (u *sessionUsage) add(in, out, cr, cc int64, cost float64, models string) {
	cr, cc = max(cr, 0), max(cc, 0)
	u.input += max(in-cr-cc, 0)
	u.output += max(out, 0)
	u.cacheRead += cr
	u.cacheCreation += cc
	u.costUSD = math.Round((u.costUSD+max(cost, 0))*1e6) / 1e6
	if models == "" {
		return
	}
	list := append(splitModels(u.models), strings.Split(models, ",")...)
	slices.Sort(list)
	u.models = strings.Join(slices.Compact(list), ",")
}

// splitModels is the list form of sessionUsage.models.
func splitModels(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// backfillUsage computes the usage of the sessions already stored when the
// usage columns are added (schema version 3).
func backfillUsage(ctx context.Context, conn *sql.Conn) error {
	rows, err := conn.QueryContext(ctx, `SELECT DISTINCT session_id FROM spans
		WHERE kind IN ('session', 'turn') AND json_extract(attrs, '$."`+v3AttrUsageOutput+`"') IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("backfill usage: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("backfill usage: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("backfill usage: %w", err)
	}
	for _, id := range ids {
		rows, err := conn.QueryContext(ctx, usageSQL, id)
		if err != nil {
			return fmt.Errorf("backfill usage of %s: %w", id, err)
		}
		u, err := readUsage(rows)
		if err != nil {
			return fmt.Errorf("backfill usage of %s: %w", id, err)
		}
		if _, err := conn.ExecContext(ctx, `UPDATE sessions SET input_tokens = ?, output_tokens = ?,
			cache_read_tokens = ?, cache_creation_tokens = ?, cost_usd = ?, models = ? WHERE session_id = ?`,
			u.input, u.output, u.cacheRead, u.cacheCreation, u.costUSD, null(u.models), id); err != nil {
			return fmt.Errorf("backfill usage of %s: %w", id, err)
		}
	}
	return nil
}
