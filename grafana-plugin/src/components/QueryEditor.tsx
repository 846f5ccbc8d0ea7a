import React, { ChangeEvent } from 'react';
import { QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, InlineFieldRow, InlineSwitch, Input, MultiSelect, RadioButtonGroup, Select } from '@grafana/ui';

import { DataSource } from '../datasource';
import { ClaudeOptions, ClaudeQuery, HOOK_EVENTS, OUTCOMES, QueryType } from '../types';

type Props = QueryEditorProps<DataSource, ClaudeQuery, ClaudeOptions>;

export const QUERY_TYPES: Array<SelectableValue<QueryType>> = [
  { label: 'Events', value: QueryType.Events, description: 'Table of hook events over the time range' },
  { label: 'Sessions', value: QueryType.Sessions, description: 'Sessions, each linked to its trace' },
  { label: 'Session trace', value: QueryType.SessionTrace, description: "One session's waterfall for the Traces panel" },
  { label: 'Event rate', value: QueryType.EventRate, description: 'Events per interval by event name' },
  { label: 'Live', value: QueryType.Live, description: 'Events as they happen, over Grafana Live' },
];

const EVENT_OPTIONS: Array<SelectableValue<string>> = HOOK_EVENTS.map((e) => ({ label: e, value: e }));
const OUTCOME_OPTIONS: Array<SelectableValue<string>> = [
  { label: 'any', value: '' },
  ...OUTCOMES.map((o) => ({ label: o, value: o })),
];

const GROUP_BY_OPTIONS: Array<SelectableValue<'event' | 'tool'>> = [
  { label: 'Event name', value: 'event', description: 'One series per event name' },
  { label: 'Tool name', value: 'tool', description: 'One series per tool (events without a tool are not counted)' },
];

const LABEL_WIDTH = 12;

/** The query type and the filters that apply to it. */
export function QueryEditor({ query, onChange, onRunQuery }: Props) {
  const queryType = query.queryType ?? QueryType.Events;
  const update = (patch: Partial<ClaudeQuery>, run = true) => {
    onChange({ ...query, ...patch });
    if (run) {
      onRunQuery();
    }
  };
  const text = (key: 'session' | 'tool' | 'agent' | 'text') => ({
    value: query[key] ?? '',
    onChange: (e: ChangeEvent<HTMLInputElement>) => update({ [key]: e.target.value || undefined }, false),
    onBlur: () => onRunQuery(),
  });
  const eventFilters = queryType !== QueryType.Sessions && queryType !== QueryType.SessionTrace;
  const hasLimit = queryType === QueryType.Events || queryType === QueryType.Sessions || queryType === QueryType.Live;

  return (
    <>
      <InlineFieldRow>
        <InlineField label="Query type" labelWidth={LABEL_WIDTH}>
          <RadioButtonGroup<QueryType>
            options={QUERY_TYPES}
            value={queryType}
            onChange={(v) => update({ queryType: v })}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField
          label="Session"
          labelWidth={LABEL_WIDTH}
          tooltip="Session id; dashboard variables such as $session work"
          required={queryType === QueryType.SessionTrace}
          invalid={queryType === QueryType.SessionTrace && !query.session}
        >
          <Input id="query-session" width={42} placeholder="session id" {...text('session')} />
        </InlineField>
        <InlineField label="Text" labelWidth={LABEL_WIDTH} tooltip="Substring of commands, paths, errors and messages">
          <Input id="query-text" width={30} placeholder="npm test" {...text('text')} />
        </InlineField>
      </InlineFieldRow>
      {eventFilters && (
        <InlineFieldRow>
          <InlineField label="Events" labelWidth={LABEL_WIDTH}>
            <MultiSelect<string>
              inputId="query-events"
              width={42}
              options={EVENT_OPTIONS}
              value={query.events ?? []}
              allowCustomValue
              placeholder="all events"
              onChange={(v) => update({ events: v.map((o) => o.value!).filter(Boolean) })}
            />
          </InlineField>
          <InlineField label="Tool" labelWidth={LABEL_WIDTH}>
            <Input id="query-tool" width={20} placeholder="Bash" {...text('tool')} />
          </InlineField>
          <InlineField label="Agent" labelWidth={LABEL_WIDTH} tooltip="Subagent id or type">
            <Input id="query-agent" width={16} placeholder="Explore" {...text('agent')} />
          </InlineField>
          <InlineField label="Outcome" labelWidth={LABEL_WIDTH}>
            <Select<string>
              inputId="query-outcome"
              width={16}
              options={OUTCOME_OPTIONS}
              value={query.outcome ?? ''}
              onChange={(v) => update({ outcome: v.value || undefined })}
            />
          </InlineField>
        </InlineFieldRow>
      )}
      {queryType === QueryType.EventRate && (
        <InlineFieldRow>
          <InlineField label="Group by" labelWidth={LABEL_WIDTH}>
            <RadioButtonGroup<'event' | 'tool'>
              options={GROUP_BY_OPTIONS}
              value={query.groupBy ?? 'event'}
              onChange={(v) => update({ groupBy: v === 'event' ? undefined : v })}
            />
          </InlineField>
        </InlineFieldRow>
      )}
      {hasLimit && (
        <InlineFieldRow>
          <InlineField
            label="Limit"
            labelWidth={LABEL_WIDTH}
            tooltip={queryType === QueryType.Live ? 'Rows the live panel keeps' : 'Rows of the table'}
          >
            <Input
              id="query-limit"
              type="number"
              width={12}
              min={1}
              value={query.limit ?? ''}
              placeholder={queryType === QueryType.Sessions ? '500' : '1000'}
              onChange={(e: ChangeEvent<HTMLInputElement>) => {
                const n = parseInt(e.currentTarget.value, 10);
                update({ limit: Number.isNaN(n) ? undefined : n }, false);
              }}
              onBlur={() => onRunQuery()}
            />
          </InlineField>
          {queryType === QueryType.Sessions && (
            <InlineField label="Active only" labelWidth={LABEL_WIDTH}>
              <InlineSwitch
                id="query-active"
                value={Boolean(query.activeOnly)}
                onChange={(e) => update({ activeOnly: e.currentTarget.checked || undefined })}
              />
            </InlineField>
          )}
        </InlineFieldRow>
      )}
    </>
  );
}
