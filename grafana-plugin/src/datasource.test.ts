import {
  DataQueryRequest,
  DataQueryResponse,
  DataSourceInstanceSettings,
  dateTime,
  FieldType,
  createDataFrame,
  StreamingFrameAction,
} from '@grafana/data';
import { DataSourceWithBackend } from '@grafana/runtime';
import { of } from 'rxjs';

import { DataSource, DEFAULT_LIVE_ROWS } from './datasource';
import { ClaudeOptions, ClaudeQuery, QueryType } from './types';

const variables: Record<string, string | string[]> = {
  session: '5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13',
  tool: 'Bash',
  events: ['PreToolUse', 'PostToolUse'],
};

jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getTemplateSrv: () => ({
    replace: (target: string, _scoped: unknown, format?: string) =>
      target.replace(/\$(\w+)/g, (m: string, name: string) => {
        const v = variables[name];
        if (v === undefined) {
          return m;
        }
        return Array.isArray(v) ? (format === 'csv' ? v.join(',') : `{${v.join(',')}}`) : v;
      }),
  }),
}));

const settings = {
  id: 1,
  uid: 'claude-hooks',
  type: 'claudehooks-live-datasource',
  name: 'Claude Code hooks',
  access: 'proxy',
  jsonData: { url: 'http://127.0.0.1:9469' },
  meta: {},
  readOnly: false,
} as unknown as DataSourceInstanceSettings<ClaudeOptions>;

describe('DataSource', () => {
  afterEach(() => jest.restoreAllMocks());

  it('defaults to an events query', () => {
    expect(new DataSource(settings).getDefaultQuery()).toEqual({ queryType: QueryType.Events });
  });

  it('replaces dashboard variables in every filter, splitting multi-value events', () => {
    const ds = new DataSource(settings);
    const q: ClaudeQuery = {
      refId: 'A',
      queryType: QueryType.Live,
      session: '$session',
      tool: '$tool',
      agent: 'Explore',
      text: 'npm $unknown',
      events: ['$events', 'Stop'],
    };
    expect(ds.applyTemplateVariables(q, {})).toEqual({
      refId: 'A',
      queryType: QueryType.Live,
      session: '5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13',
      tool: 'Bash',
      agent: 'Explore',
      outcome: undefined,
      text: 'npm $unknown',
      events: ['PreToolUse', 'PostToolUse', 'Stop'],
    });
  });

  it('skips hidden queries and session traces without a session', () => {
    const ds = new DataSource(settings);
    expect(ds.filterQuery({ refId: 'A', queryType: QueryType.Events })).toBe(true);
    expect(ds.filterQuery({ refId: 'A', queryType: QueryType.Events, hide: true })).toBe(false);
    expect(ds.filterQuery({ refId: 'A', queryType: QueryType.SessionTrace })).toBe(false);
    expect(ds.filterQuery({ refId: 'A', queryType: QueryType.SessionTrace, session: '  ' })).toBe(false);
    expect(ds.filterQuery({ refId: 'A', queryType: QueryType.SessionTrace, session: 's1' })).toBe(true);
  });

  it('keeps the live rows the query asks for', () => {
    const ds = new DataSource(settings);
    const request = {
      targets: [
        { refId: 'A', queryType: QueryType.Live, limit: 50 },
        { refId: 'B', queryType: QueryType.Live },
      ],
      range: { from: dateTime(1000), to: dateTime(61000), raw: { from: 'now-1m', to: 'now-30s' } },
      rangeRaw: { from: 'now-1m', to: 'now-30s' },
    } as DataQueryRequest<ClaudeQuery>;
    const frame = (refId: string) => createDataFrame({ refId, fields: [] });
    expect(ds.streamOptionsProvider(request, frame('A'))).toEqual({ maxLength: 50, action: StreamingFrameAction.Append });
    expect(ds.streamOptionsProvider(request, frame('B'))).toEqual({
      maxLength: DEFAULT_LIVE_ROWS,
      action: StreamingFrameAction.Append,
    });
  });

  it('keeps only the rows inside a range that ends now', () => {
    const ds = new DataSource(settings);
    const request = {
      targets: [{ refId: 'A', queryType: QueryType.Live }],
      range: { from: dateTime(1000), to: dateTime(61000), raw: { from: 'now-1m', to: 'now' } },
      rangeRaw: { from: 'now-1m', to: 'now' },
    } as DataQueryRequest<ClaudeQuery>;
    expect(ds.streamOptionsProvider(request, createDataFrame({ refId: 'A', fields: [] }))).toEqual({
      maxLength: DEFAULT_LIVE_ROWS,
      action: StreamingFrameAction.Append,
      maxDelta: 60000,
    });
  });

  describe('metricFindQuery', () => {
    const sessions = createDataFrame({
      refId: 'variable',
      fields: [
        { name: 'session', type: FieldType.string, values: ['s-newest', 's-older'] },
        { name: 'status', type: FieldType.string, values: ['active', 'ended'] },
      ],
    });

    it('runs a sessions query over the given range and returns the session ids', async () => {
      const spy = jest
        .spyOn(DataSourceWithBackend.prototype, 'query')
        .mockReturnValue(of({ data: [sessions] } as DataQueryResponse));
      const range = { from: dateTime(1000), to: dateTime(2000), raw: { from: 'now-1h', to: 'now' } };
      const values = await new DataSource(settings).metricFindQuery(
        { refId: 'A', queryType: QueryType.Events, text: 'billing', activeOnly: true },
        { range }
      );
      expect(values).toEqual([
        { text: 's-newest', value: 's-newest' },
        { text: 's-older', value: 's-older' },
      ]);
      const request = spy.mock.calls[0][0] as DataQueryRequest<ClaudeQuery>;
      expect(request.targets).toEqual([
        { refId: 'variable', queryType: QueryType.Sessions, text: 'billing', activeOnly: true },
      ]);
      expect(request.range).toBe(range);
    });

    it('takes a string as the text filter', async () => {
      const spy = jest
        .spyOn(DataSourceWithBackend.prototype, 'query')
        .mockReturnValue(of({ data: [sessions] } as DataQueryResponse));
      await new DataSource(settings).metricFindQuery('acme');
      expect((spy.mock.calls[0][0] as DataQueryRequest<ClaudeQuery>).targets).toEqual([
        { refId: 'variable', queryType: QueryType.Sessions, text: 'acme' },
      ]);
    });

    it('reports the query error', async () => {
      jest
        .spyOn(DataSourceWithBackend.prototype, 'query')
        .mockReturnValue(of({ data: [], errors: [{ message: 'Connection refused' }] } as DataQueryResponse));
      await expect(new DataSource(settings).metricFindQuery('')).rejects.toThrow('Connection refused');
    });

    it('returns nothing for a frame without sessions', async () => {
      jest.spyOn(DataSourceWithBackend.prototype, 'query').mockReturnValue(of({ data: [] } as DataQueryResponse));
      await expect(new DataSource(settings).metricFindQuery('')).resolves.toEqual([]);
    });
  });
});
