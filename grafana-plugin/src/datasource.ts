import {
  DataFrame,
  DataQueryRequest,
  DataSourceInstanceSettings,
  getDefaultTimeRange,
  LegacyMetricFindQueryOptions,
  MetricFindValue,
  ScopedVars,
  StreamingFrameAction,
  StreamingFrameOptions,
} from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';
import { lastValueFrom } from 'rxjs';

import { ClaudeOptions, ClaudeQuery, DEFAULT_QUERY, QueryType } from './types';

/** Rows a live panel keeps when the query sets no limit. */
export const DEFAULT_LIVE_ROWS = 1000;

/**
 * The data source: every query runs in the Go backend. A live query answers
 * with a frame whose meta.channel names a Grafana Live channel, which
 * DataSourceWithBackend subscribes the panel to.
 */
export class DataSource extends DataSourceWithBackend<ClaudeQuery, ClaudeOptions> {
  constructor(instanceSettings: DataSourceInstanceSettings<ClaudeOptions>) {
    super(instanceSettings);
    // A live panel keeps the newest rows of the stream, appended at the end,
    // and, on a dashboard whose range ends now, only those inside the range.
    this.streamOptionsProvider = (request, frame) => {
      const limit = request.targets.find((t) => t.refId === frame.refId)?.limit;
      const opts: Partial<StreamingFrameOptions> = {
        maxLength: limit && limit > 0 ? limit : DEFAULT_LIVE_ROWS,
        action: StreamingFrameAction.Append,
      };
      if (request.rangeRaw?.to === 'now') {
        opts.maxDelta = request.range.to.valueOf() - request.range.from.valueOf();
      }
      return opts;
    };
  }

  getDefaultQuery(): Partial<ClaudeQuery> {
    return DEFAULT_QUERY;
  }

  /** Skips hidden queries and session traces without a session yet. */
  filterQuery(query: ClaudeQuery): boolean {
    if (query.hide) {
      return false;
    }
    if (query.queryType === QueryType.SessionTrace && !query.session?.trim()) {
      return false;
    }
    return true;
  }

  /** Replaces dashboard variables in the filters; a multi-value variable in events becomes several names. */
  applyTemplateVariables(query: ClaudeQuery, scopedVars: ScopedVars): ClaudeQuery {
    const srv = getTemplateSrv();
    const one = (v?: string) => (v ? srv.replace(v, scopedVars) : v);
    const events = query.events
      ?.flatMap((e) => srv.replace(e, scopedVars, 'csv').split(','))
      .map((e) => e.trim())
      .filter((e) => e !== '');
    return {
      ...query,
      session: one(query.session),
      tool: one(query.tool),
      agent: one(query.agent),
      outcome: one(query.outcome),
      text: one(query.text),
      events,
    };
  }

  /**
   * Dashboard variables of session ids: runs a sessions query (a string is
   * taken as its text filter) over the dashboard's time range and returns the
   * session ids.
   */
  async metricFindQuery(query: ClaudeQuery | string, options?: LegacyMetricFindQueryOptions): Promise<MetricFindValue[]> {
    const target: ClaudeQuery =
      typeof query === 'string'
        ? { refId: 'variable', queryType: QueryType.Sessions, text: query || undefined }
        : { ...query, refId: 'variable', queryType: QueryType.Sessions };
    const range = options?.range ?? getDefaultTimeRange();
    const request = {
      targets: [target],
      range,
      rangeRaw: range.raw,
      interval: '1m',
      intervalMs: 60000,
      maxDataPoints: 1000,
      scopedVars: options?.scopedVars ?? {},
      timezone: 'browser',
      app: 'dashboard',
      requestId: 'claudehooks-variable',
      startTime: Date.now(),
    } as DataQueryRequest<ClaudeQuery>;
    const response = await lastValueFrom(this.query(request));
    if (response.errors?.length) {
      throw new Error(response.errors[0].message ?? 'sessions query failed');
    }
    const frame = response.data?.[0] as DataFrame | undefined;
    const field = frame?.fields.find((f) => f.name === 'session');
    if (!field) {
      return [];
    }
    const values: MetricFindValue[] = [];
    for (let i = 0; i < field.values.length; i++) {
      const id = String(field.values[i]);
      values.push({ text: id, value: id });
    }
    return values;
  }
}
