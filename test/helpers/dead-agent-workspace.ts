/**
 * A workspace whose `prod` environment names deploy `windows` and one target on a port nothing
 * answers (127.0.0.1:9), with an artifact and a token file: for CLI tests whose every case ends
 * before a host is contacted (deploy windows, the cold deploy bundle's answers).
 */
import { stringify } from 'yaml';
import { type Workspace, workspace } from './cli.js';

export function deadAgentWorkspace(windows: unknown): Workspace {
  const ws = workspace(
    stringify({
      version: 1,
      tasks: { a: { run: 'true' } },
      environments: {
        prod: {
          artifact: 'art',
          token: { file: 'agent.token' },
          windows,
          regions: { eu: { targets: [{ agent: 'http://127.0.0.1:9' }] } },
        },
      },
    }),
  );
  ws.write('art/index.html', 'hello\n');
  ws.write('agent.token', 'test-token-0123456789\n');
  return ws;
}
