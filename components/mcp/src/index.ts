/**
 * `mcp`: the platform's MCP server at `/mcp` (Streamable HTTP, stateless; revisions 2025-03-26 to 2025-11-25 and
 * 2026-07-28). Tools, resources and prompts are served over the other components' HTTP APIs, whose base URLs come
 * from variables; the component has no other capability (world `mcp`: variables only).
 *
 * @module
 */
import { fire, warmUp } from '../../../shared/http/fire.ts';
import { mcpApp } from '../../../shared/mcp/http.ts';
import type { ServiceUrls } from '../../../shared/mcp/platform.ts';
import { variable } from '../../../shared/spin/variables.ts';

const DEFAULTS: ServiceUrls = {
  api: 'http://api.spin.internal',
  rag: 'http://rag.spin.internal',
  workflow: 'http://workflow.spin.internal',
  sandbox: 'http://sandbox.spin.internal',
  agents: 'http://self.alt',
};

function url(name: string, fallback: string): string {
  return (variable(name) || fallback).replace(/\/+$/, '');
}

// Variables are read per request (host calls are not available at initialisation).
const app = mcpApp({
  urls: () => ({
    api: url('api_url', DEFAULTS.api),
    rag: url('rag_url', DEFAULTS.rag),
    workflow: url('workflow_url', DEFAULTS.workflow),
    sandbox: url('sandbox_url', DEFAULTS.sandbox),
    agents: url('agents_url', DEFAULTS.agents),
  }),
  apiKeys: () => variable('api_keys'),
  allowedOrigins: () => variable('mcp_allowed_origins'),
  pageSize: () => variable('mcp_page_size'),
});

warmUp(() => {
  // The protocol paths that need no callee, with authentication off, so their code is compiled into the snapshot.
  const warm = mcpApp({ urls: () => DEFAULTS, apiKeys: () => '', allowedOrigins: () => '', pageSize: () => '2' });
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const bodies: unknown[] = [
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'w', version: '1' } },
    },
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} },
    { jsonrpc: '2.0', id: 3, method: 'prompts/get', params: { name: 'specification', arguments: { task: 'warm up' } } },
    { jsonrpc: '2.0', id: 4, method: 'resources/templates/list' },
    { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'execute_code', arguments: { code: 1 } } },
    { jsonrpc: '2.0', id: 6, method: 'nope' },
  ];
  void (async () => {
    for (const body of bodies) {
      await warm.fetch(
        new Request('http://warm.up/mcp', {
          method: 'POST',
          headers: { ...headers, 'mcp-protocol-version': '2025-11-25' },
          body: JSON.stringify(body),
        }),
      );
    }
    await warm.fetch(new Request('http://warm.up/mcp', { method: 'POST', headers, body: '{' }));
    await warm.fetch(new Request('http://warm.up/mcp', { method: 'GET' }));
  })();
  // The real app's router compiles its matchers on the first request: do that now, on a route without host calls.
  void app.fetch(new Request('http://warm.up/no-such-route'));
});

fire(app);
