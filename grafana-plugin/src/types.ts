import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

/** The query types the backend answers (the query's queryType). */
export enum QueryType {
  Events = 'events',
  Sessions = 'sessions',
  SessionTrace = 'session-trace',
  EventRate = 'event-rate',
  Live = 'live',
}

/** Outcomes of a tool call, as the exporter reports them. */
export const OUTCOMES = ['success', 'failure', 'interrupted', 'denied'] as const;

/** Hook event names Claude Code sends, offered in the event filter. */
export const HOOK_EVENTS = [
  'SessionStart',
  'SessionEnd',
  'Setup',
  'UserPromptSubmit',
  'UserPromptExpansion',
  'PreToolUse',
  'PostToolUse',
  'PostToolUseFailure',
  'PostToolBatch',
  'PermissionRequest',
  'PermissionDenied',
  'Notification',
  'SubagentStart',
  'SubagentStop',
  'Stop',
  'StopFailure',
  'PreCompact',
  'PostCompact',
  'TaskCreated',
  'TaskCompleted',
  'InstructionsLoaded',
  'Elicitation',
  'ElicitationResult',
];

/** One query, as the backend's plugin.Query reads it. */
export interface ClaudeQuery extends DataQuery {
  queryType?: QueryType;
  /** Session id; required by session-trace. */
  session?: string;
  /** Hook event names. */
  events?: string[];
  tool?: string;
  /** Subagent id or type. */
  agent?: string;
  outcome?: string;
  /** Full-text query. */
  text?: string;
  /** Rows of events and sessions tables; buffer size of live panels. */
  limit?: number;
  /** Sessions query: active sessions only. */
  activeOnly?: boolean;
  /** Event-rate query: one series per event name (default) or per tool. */
  groupBy?: 'event' | 'tool';
}

export const DEFAULT_QUERY: Partial<ClaudeQuery> = {
  queryType: QueryType.Events,
};

/** Data source settings kept in jsonData. */
export interface ClaudeOptions extends DataSourceJsonData {
  /** The exporter's base URL, e.g. http://127.0.0.1:9469. */
  url?: string;
  /** Recent events a new live panel starts with. */
  liveHistory?: number;
}

/** Data source settings kept in secureJsonData. */
export interface ClaudeSecureOptions {
  /** The exporter's bearer token (its --web.auth-token-file). */
  token?: string;
}
