import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';

import { DataSource } from '../datasource';
import { ClaudeQuery, QueryType } from '../types';
import { QueryEditor } from './QueryEditor';

function setup(query: ClaudeQuery) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  render(
    <QueryEditor datasource={{} as DataSource} query={query} onChange={onChange} onRunQuery={onRunQuery} />
  );
  return { onChange, onRunQuery };
}

describe('QueryEditor', () => {
  it('switches the query type and runs the query', () => {
    const { onChange, onRunQuery } = setup({ refId: 'A', queryType: QueryType.Events });
    fireEvent.click(screen.getByLabelText('Live'));
    expect(onChange).toHaveBeenCalledWith({ refId: 'A', queryType: QueryType.Live });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it('edits text filters without running on every key, and runs on blur', () => {
    const { onChange, onRunQuery } = setup({ refId: 'A', queryType: QueryType.Events });
    const session = screen.getByPlaceholderText('session id');
    fireEvent.change(session, { target: { value: '$session' } });
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: QueryType.Events, session: '$session' });
    expect(onRunQuery).not.toHaveBeenCalled();
    fireEvent.blur(session);
    expect(onRunQuery).toHaveBeenCalledTimes(1);

    fireEvent.change(screen.getByPlaceholderText('Bash'), { target: { value: 'Edit' } });
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: QueryType.Events, tool: 'Edit' });
    fireEvent.change(screen.getByPlaceholderText('npm test'), { target: { value: 'billing' } });
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: QueryType.Events, text: 'billing' });
  });

  it('clears a filter to undefined', () => {
    const { onChange } = setup({ refId: 'A', queryType: QueryType.Events, agent: 'Explore' });
    fireEvent.change(screen.getByPlaceholderText('Explore'), { target: { value: '' } });
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: QueryType.Events, agent: undefined });
  });

  it('reads the limit as a number', () => {
    const { onChange } = setup({ refId: 'A', queryType: QueryType.Events, limit: 300 });
    fireEvent.change(screen.getByPlaceholderText('1000'), { target: { value: '250' } });
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: QueryType.Events, limit: 250 });
    fireEvent.change(screen.getByPlaceholderText('1000'), { target: { value: '' } });
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: QueryType.Events, limit: undefined });
  });

  it('shows the filters that apply to each query type', () => {
    setup({ refId: 'A', queryType: QueryType.Sessions });
    expect(screen.queryByText('Events')).toBeInTheDocument(); // the query type button
    expect(screen.queryByPlaceholderText('Bash')).not.toBeInTheDocument();
    expect(screen.getByText('Active only')).toBeInTheDocument();
    expect(screen.getByPlaceholderText('500')).toBeInTheDocument();
  });

  it('hides the limit of an event-rate query and the tool filter of a trace', () => {
    setup({ refId: 'A', queryType: QueryType.EventRate });
    expect(screen.queryByPlaceholderText('1000')).not.toBeInTheDocument();
    expect(screen.getByPlaceholderText('Bash')).toBeInTheDocument();
  });

  it('groups an event rate by tool', () => {
    const { onChange, onRunQuery } = setup({ refId: 'A', queryType: QueryType.EventRate });
    fireEvent.click(screen.getByLabelText('Tool name'));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: QueryType.EventRate, groupBy: 'tool' });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it('offers no grouping outside event-rate queries', () => {
    setup({ refId: 'A', queryType: QueryType.Events });
    expect(screen.queryByText('Group by')).not.toBeInTheDocument();
  });

  it('toggles active sessions', () => {
    const { onChange, onRunQuery } = setup({ refId: 'A', queryType: QueryType.Sessions });
    fireEvent.click(document.getElementById('query-active')!);
    expect(onChange).toHaveBeenCalledWith({ refId: 'A', queryType: QueryType.Sessions, activeOnly: true });
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('marks a session trace without a session as invalid', () => {
    setup({ refId: 'A', queryType: QueryType.SessionTrace });
    expect(screen.getByPlaceholderText('session id')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.queryByPlaceholderText('Bash')).not.toBeInTheDocument();
  });
});
