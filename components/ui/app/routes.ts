/**
 * The app's pages and their URLs under `/ui/`. Pure, so both the page and the unit tests use it.
 *
 * @module
 */

export const MOUNT = '/ui/';

export type Route =
  | { page: 'agents'; kind?: string; skill?: string }
  | { page: 'agent-new' }
  | { page: 'agent-edit'; kind: string; name: string }
  | { page: 'chat'; kind: string; name: string; conversation?: string }
  | { page: 'knowledge'; collection?: string }
  | { page: 'document'; collection: string; id: string }
  | { page: 'workflows' }
  | { page: 'run'; id: string }
  | { page: 'platform' }
  | { page: 'not-found'; path: string };

const enc = encodeURIComponent;

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The route of a location (`pathname` under {@link MOUNT}, `search` for filters and the conversation). */
export function parseRoute(pathname: string, search = ''): Route {
  const q = new URLSearchParams(search);
  const rest = pathname.startsWith(MOUNT) ? pathname.slice(MOUNT.length) : pathname.replace(/^\/+/, '');
  const parts = rest.split('/').filter((p) => p !== '');
  const seg = parts.map(decode);
  if (seg.some((s) => s === undefined)) return { page: 'not-found', path: pathname };
  const s = seg as string[];
  const opt = (name: string) => q.get(name) || undefined;
  switch (s[0]) {
    case undefined:
    case 'agents':
      if (s.length <= 1) {
        const r: Route = { page: 'agents' };
        if (opt('kind')) r.kind = opt('kind');
        if (opt('skill')) r.skill = opt('skill');
        return r;
      }
      if (s.length === 2 && s[1] === 'new') return { page: 'agent-new' };
      if (s.length === 4 && s[3] === 'edit') return { page: 'agent-edit', kind: s[1]!, name: s[2]! };
      if (s.length === 4 && s[3] === 'chat') {
        const r: Route = { page: 'chat', kind: s[1]!, name: s[2]! };
        if (opt('c')) r.conversation = opt('c');
        return r;
      }
      break;
    case 'knowledge':
      if (s.length === 1) return { page: 'knowledge' };
      if (s.length === 2) return { page: 'knowledge', collection: s[1]! };
      if (s.length === 4 && s[2] === 'documents') return { page: 'document', collection: s[1]!, id: s[3]! };
      break;
    case 'workflows':
      if (s.length === 1) return { page: 'workflows' };
      if (s.length === 2) return { page: 'run', id: s[1]! };
      break;
    case 'platform':
      if (s.length === 1) return { page: 'platform' };
      break;
  }
  return { page: 'not-found', path: pathname };
}

/** The URL of a route; inverse of {@link parseRoute}. */
export function routeUrl(r: Route): string {
  switch (r.page) {
    case 'agents': {
      const q = new URLSearchParams();
      if (r.kind) q.set('kind', r.kind);
      if (r.skill) q.set('skill', r.skill);
      const qs = q.toString();
      return `${MOUNT}agents${qs ? `?${qs}` : ''}`;
    }
    case 'agent-new':
      return `${MOUNT}agents/new`;
    case 'agent-edit':
      return `${MOUNT}agents/${enc(r.kind)}/${enc(r.name)}/edit`;
    case 'chat':
      return `${MOUNT}agents/${enc(r.kind)}/${enc(r.name)}/chat${r.conversation ? `?c=${enc(r.conversation)}` : ''}`;
    case 'knowledge':
      return `${MOUNT}knowledge${r.collection ? `/${enc(r.collection)}` : ''}`;
    case 'document':
      return `${MOUNT}knowledge/${enc(r.collection)}/documents/${enc(r.id)}`;
    case 'workflows':
      return `${MOUNT}workflows`;
    case 'run':
      return `${MOUNT}workflows/${enc(r.id)}`;
    case 'platform':
      return `${MOUNT}platform`;
    case 'not-found':
      return r.path;
  }
}

/** The top-level section a route belongs to, for the navigation's `aria-current`. */
export function section(r: Route): 'agents' | 'knowledge' | 'workflows' | 'platform' | undefined {
  switch (r.page) {
    case 'agents':
    case 'agent-new':
    case 'agent-edit':
    case 'chat':
      return 'agents';
    case 'knowledge':
    case 'document':
      return 'knowledge';
    case 'workflows':
    case 'run':
      return 'workflows';
    case 'platform':
      return 'platform';
    case 'not-found':
      return undefined;
  }
}

/** The page title for a route (also announced on navigation). */
export function title(r: Route): string {
  switch (r.page) {
    case 'agents':
      return 'Agents';
    case 'agent-new':
      return 'New agent';
    case 'agent-edit':
      return `Edit ${r.kind}/${r.name}`;
    case 'chat':
      return `Chat with ${r.kind}/${r.name}`;
    case 'knowledge':
      return r.collection ? `Knowledge: ${r.collection}` : 'Knowledge';
    case 'document':
      return `Document ${r.id}`;
    case 'workflows':
      return 'Workflows';
    case 'run':
      return `Workflow run ${r.id}`;
    case 'platform':
      return 'Platform';
    case 'not-found':
      return 'Page not found';
  }
}
