package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrations are the schema versions in order: migrations[i] moves a database
// from version i to version i+1. A released migration is never edited; a
// change of schema is a new entry.
var migrations = []string{
	// 1: events, their payloads, sessions and spans.
	`
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;

-- seq is assigned by the store, above both max(seq) and meta's last_seq
-- (recorded before retention removes events), so that it never repeats.
CREATE TABLE events (
	seq               INTEGER PRIMARY KEY,
	id                TEXT    NOT NULL,
	time              INTEGER NOT NULL, -- receive time, unix ns UTC
	session_id        TEXT    NOT NULL,
	event             TEXT    NOT NULL,
	prompt_id         TEXT,
	agent_id          TEXT,
	agent_type        TEXT,
	tool              TEXT,
	tool_use_id       TEXT,
	mcp_server        TEXT,
	outcome           TEXT,
	duration_ms       REAL,
	error             TEXT,
	summary           TEXT,
	notification_type TEXT,
	cwd               TEXT,
	model             TEXT
);
CREATE UNIQUE INDEX events_id ON events(id);
CREATE INDEX events_session ON events(session_id, seq);
CREATE INDEX events_event ON events(event, seq);
CREATE INDEX events_tool ON events(tool, seq) WHERE tool IS NOT NULL;
CREATE INDEX events_time ON events(time);

CREATE TABLE payloads (
	seq       INTEGER PRIMARY KEY,
	truncated INTEGER NOT NULL,
	data      BLOB
);

CREATE TABLE sessions (
	session_id    TEXT PRIMARY KEY,
	start_time    INTEGER NOT NULL,
	end_time      INTEGER,
	last_activity INTEGER NOT NULL,
	status        TEXT    NOT NULL,
	end_reason    TEXT,
	source        TEXT,
	model         TEXT,
	cwd           TEXT,
	turns         INTEGER NOT NULL,
	tool_calls    INTEGER NOT NULL,
	failures      INTEGER NOT NULL,
	subagents     INTEGER NOT NULL,
	events        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_start ON sessions(start_time, session_id);
CREATE INDEX sessions_last ON sessions(last_activity);

CREATE TABLE spans (
	session_id TEXT    NOT NULL,
	span_key   TEXT    NOT NULL,
	parent_key TEXT    NOT NULL,
	kind       TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	start_time INTEGER NOT NULL,
	end_time   INTEGER NOT NULL,
	outcome    TEXT,
	error_type TEXT,
	attrs      TEXT,
	PRIMARY KEY (session_id, span_key)
) WITHOUT ROWID;
`,
	// 2: the trigram full-text index and indexes for the outcome and agent filters.
	// The index is contentless (the text stays in events) and keeps no
	// positions (detail=none): it answers which rows hold every trigram of the
	// query, a superset the query then checks with LIKE on the row. With
	// positions it would answer substrings itself, at 3.6 times the size.
	`
CREATE INDEX events_outcome ON events(outcome, seq) WHERE outcome IS NOT NULL;
CREATE INDEX events_agent_id ON events(agent_id, seq) WHERE agent_id IS NOT NULL;
CREATE INDEX events_agent_type ON events(agent_type, seq) WHERE agent_type IS NOT NULL;
CREATE VIRTUAL TABLE events_fts USING fts5(
	tool, summary, error,
	content = '', contentless_delete = 1, detail = none, tokenize = 'trigram'
);
INSERT INTO events_fts(events_fts, rank) VALUES ('automerge', 16);
INSERT INTO events_fts(rowid, tool, summary, error)
	SELECT seq, tool, summary, error FROM events
	WHERE tool IS NOT NULL OR summary IS NOT NULL OR error IS NOT NULL;
`,
	// 3: token usage and cost per session (backfilled from the stored spans by
	// backfills[3]), and an index over the spans that carry them.
	`
ALTER TABLE sessions ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN cache_creation_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN models TEXT; -- sorted, comma-separated
CREATE INDEX spans_usage ON spans(session_id) WHERE kind IN ('session', 'turn');
`,
	// 4: the rest of the session tracker's summary. From this version on the
	// tracker's summary is stored as it is; rows written before keep the
	// figures earlier versions derived until their session changes.
	`
ALTER TABLE sessions ADD COLUMN turn_outcomes TEXT;     -- JSON object: closed turns by outcome
ALTER TABLE sessions ADD COLUMN tool_outcomes TEXT;     -- JSON object: ended tool calls by outcome
ALTER TABLE sessions ADD COLUMN compactions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN permission_waits INTEGER NOT NULL DEFAULT 0;
`,
}

// backfills run after the statements of a migration, in its transaction,
// for derived data SQL alone does not compute well: backfills[v] completes
// version v.
var backfills = map[int]func(ctx context.Context, conn *sql.Conn) error{
	3: backfillUsage,
}

// SchemaVersion is the schema version this build creates and reads.
var SchemaVersion = len(migrations)

// migrate brings the database to SchemaVersion, each step in its own
// transaction recorded in schema_migrations. A database newer than this
// build is refused rather than misread.
func migrate(ctx context.Context, conn *sql.Conn, now time.Time) error {
	return migrateTo(ctx, conn, now, len(migrations))
}

func migrateTo(ctx context.Context, conn *sql.Conn, now time.Time, target int) error {
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var current int
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this build's %d", current, len(migrations))
	}
	for v := current; v < target; v++ {
		if err := applyMigration(ctx, conn, v+1, migrations[v], now); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, conn *sql.Conn, version int, stmts string, now time.Time) (err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("migrate to version %d: begin: %w", version, err)
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if _, err := conn.ExecContext(ctx, stmts); err != nil {
		return fmt.Errorf("migrate to version %d: %w", version, err)
	}
	if fill := backfills[version]; fill != nil {
		if err := fill(ctx, conn); err != nil {
			return fmt.Errorf("migrate to version %d: %w", version, err)
		}
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`, version, now.UnixNano()); err != nil {
		return fmt.Errorf("migrate to version %d: record: %w", version, err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("migrate to version %d: commit: %w", version, err)
	}
	return nil
}
