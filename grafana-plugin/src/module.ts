import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { DataSource } from './datasource';
import { ClaudeOptions, ClaudeQuery, ClaudeSecureOptions } from './types';

export const plugin = new DataSourcePlugin<DataSource, ClaudeQuery, ClaudeOptions, ClaudeSecureOptions>(DataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
