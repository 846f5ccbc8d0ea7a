import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import { DataSourceSettings } from '@grafana/data';

import { ClaudeOptions, ClaudeSecureOptions } from '../types';
import { ConfigEditor } from './ConfigEditor';

function options(
  patch: Partial<DataSourceSettings<ClaudeOptions, ClaudeSecureOptions>> = {}
): DataSourceSettings<ClaudeOptions, ClaudeSecureOptions> {
  return {
    id: 1,
    uid: 'claude-hooks',
    name: 'Claude Code hooks',
    jsonData: { url: 'http://127.0.0.1:9469' },
    secureJsonFields: {},
    ...patch,
  } as DataSourceSettings<ClaudeOptions, ClaudeSecureOptions>;
}

describe('ConfigEditor', () => {
  it('edits the URL and the live history in jsonData', () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={options()} onOptionsChange={onOptionsChange} />);
    fireEvent.change(screen.getByPlaceholderText('http://127.0.0.1:9469'), { target: { value: 'http://exporter:9469' } });
    expect(onOptionsChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ jsonData: { url: 'http://exporter:9469' } })
    );
    fireEvent.change(screen.getByPlaceholderText('100'), { target: { value: '250' } });
    expect(onOptionsChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ jsonData: { url: 'http://127.0.0.1:9469', liveHistory: 250 } })
    );
  });

  it('keeps the token in secureJsonData and can reset a stored one', () => {
    const onOptionsChange = jest.fn();
    const { rerender } = render(<ConfigEditor options={options()} onOptionsChange={onOptionsChange} />);
    fireEvent.change(screen.getByPlaceholderText('bearer token'), { target: { value: 's3cret' } });
    expect(onOptionsChange).toHaveBeenLastCalledWith(expect.objectContaining({ secureJsonData: { token: 's3cret' } }));

    rerender(<ConfigEditor options={options({ secureJsonFields: { token: true } })} onOptionsChange={onOptionsChange} />);
    fireEvent.click(screen.getByRole('button', { name: /reset/i }));
    expect(onOptionsChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ secureJsonFields: { token: false }, secureJsonData: { token: '' } })
    );
  });
});
