import React, { ChangeEvent } from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { InlineField, Input, SecretInput } from '@grafana/ui';

import { ClaudeOptions, ClaudeSecureOptions } from '../types';

type Props = DataSourcePluginOptionsEditorProps<ClaudeOptions, ClaudeSecureOptions>;

const LABEL_WIDTH = 20;

/** Settings: the exporter's URL, its token (kept encrypted by Grafana) and the live history size. */
export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields } = options;
  const secureJsonData = options.secureJsonData ?? {};

  const onURLChange = (e: ChangeEvent<HTMLInputElement>) => {
    onOptionsChange({ ...options, jsonData: { ...jsonData, url: e.target.value } });
  };
  const onHistoryChange = (e: ChangeEvent<HTMLInputElement>) => {
    const n = parseInt(e.target.value, 10);
    onOptionsChange({ ...options, jsonData: { ...jsonData, liveHistory: Number.isNaN(n) ? undefined : n } });
  };
  const onTokenChange = (e: ChangeEvent<HTMLInputElement>) => {
    onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, token: e.target.value } });
  };
  const onTokenReset = () => {
    onOptionsChange({
      ...options,
      secureJsonFields: { ...secureJsonFields, token: false },
      secureJsonData: { ...secureJsonData, token: '' },
    });
  };

  return (
    <>
      <InlineField
        label="Exporter URL"
        labelWidth={LABEL_WIDTH}
        tooltip="Base URL of claude-hooks-exporter: its --web.listen-address, e.g. http://127.0.0.1:9469"
        interactive
      >
        <Input
          id="config-url"
          width={40}
          value={jsonData.url ?? ''}
          placeholder="http://127.0.0.1:9469"
          onChange={onURLChange}
        />
      </InlineField>
      <InlineField
        label="Token"
        labelWidth={LABEL_WIDTH}
        tooltip="Contents of the exporter's --web.auth-token-file; leave empty when it runs without one"
      >
        <SecretInput
          id="config-token"
          width={40}
          isConfigured={Boolean(secureJsonFields?.token)}
          value={secureJsonData.token ?? ''}
          placeholder="bearer token"
          onChange={onTokenChange}
          onReset={onTokenReset}
        />
      </InlineField>
      <InlineField
        label="Live history"
        labelWidth={LABEL_WIDTH}
        tooltip="Recent events a live panel starts with before new ones stream in (default 100, at most 1000)"
      >
        <Input
          id="config-live-history"
          type="number"
          width={12}
          min={0}
          max={1000}
          value={jsonData.liveHistory ?? ''}
          placeholder="100"
          onChange={onHistoryChange}
        />
      </InlineField>
    </>
  );
}
