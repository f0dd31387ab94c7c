/**
 * Chat with an agent: the answer streams in token by token (SSE over fetch), tool calls appear as they happen with
 * their results, and earlier conversations can be reopened or deleted.
 *
 * Accessibility: the transcript is a `log` live region; the answer being streamed is `aria-busy` until it is done, so
 * screen readers read it once, whole, instead of word by word.
 *
 * @module
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { path } from '../api.ts';
import { CONVERSATION_ID, validateMessage } from '../validate.ts';
import { describeError, ErrorNotice, Field, formatTime, Link, Loading, Page, useApp, useLoad } from './ui.tsx';

interface ToolCall {
  id: string;
  name: string;
  arguments: string;
  result?: string;
  refused?: boolean;
}

interface Message {
  role: 'user' | 'assistant';
  content: string;
  toolCalls: ToolCall[];
  at?: string;
  streaming?: boolean;
  error?: string;
  model?: string;
}

interface TurnBody {
  conversationId: string;
  turns: { role: 'user' | 'assistant'; content: string; at: string; toolCalls?: ToolCall[] }[];
}

const newConversationId = () => `c-${crypto.randomUUID()}`;

export function ChatPage({ kind, name, conversation }: { kind: string; name: string; conversation?: string | undefined }) {
  const { api, navigate } = useApp();
  const agentId = `${kind}/${name}`;
  const agent = useLoad(() => api.get<{ description: string; model: string }>(path`/api/v1/agents/${kind}/${name}`), [kind, name]);
  const conversations = useLoad(
    () => api.get<{ items: { id: string; keys: number }[] }>(`/api/v1/conversations?agent=${encodeURIComponent(agentId)}`),
    [agentId],
  );
  const [messages, setMessages] = useState<Message[]>([]);
  const [draft, setDraft] = useState('');
  const [inputError, setInputError] = useState<string | undefined>();
  const [failure, setFailure] = useState<unknown>();
  const [streaming, setStreaming] = useState(false);
  const [status, setStatus] = useState('');
  const stop = useRef<AbortController | null>(null);
  // The conversation this page talks in: the URL's, or a fresh id for a new one.
  const conversationId = useRef(conversation ?? newConversationId());
  const log = useRef<HTMLOListElement>(null);
  const input = useRef<HTMLTextAreaElement>(null);

  const history = useLoad(async () => {
    if (!conversation || !CONVERSATION_ID.test(conversation)) return undefined;
    return api.get<TurnBody>(path`/agents/${kind}/${name}/conversations/${conversation}`);
  }, [conversation]);

  useEffect(() => {
    if (conversation !== conversationId.current) conversationId.current = conversation ?? newConversationId();
    if (!streaming) setMessages([]);
  }, [conversation]);
  useEffect(() => {
    if (history.data)
      setMessages(history.data.turns.map((t) => ({ role: t.role, content: t.content, toolCalls: t.toolCalls ?? [], at: t.at })));
  }, [history.data]);
  useEffect(() => {
    log.current?.lastElementChild?.scrollIntoView?.({ block: 'end' });
  }, [messages]);

  /** Updates the last message (the assistant's answer being streamed). */
  const update = (f: (m: Message) => Message) => setMessages((ms) => [...ms.slice(0, -1), f(ms[ms.length - 1]!)]);

  const send = async (e?: Event) => {
    e?.preventDefault();
    if (streaming) return;
    const problem = validateMessage(draft);
    setInputError(problem);
    if (problem) return input.current?.focus();
    setFailure(undefined);
    const text = draft;
    const controller = new AbortController();
    stop.current = controller;
    setMessages((ms) => [
      ...ms,
      { role: 'user', content: text, toolCalls: [] },
      { role: 'assistant', content: '', toolCalls: [], streaming: true },
    ]);
    setDraft('');
    setStreaming(true);
    setStatus(`${agentId} is answering…`);
    let finished = false;
    try {
      for await (const ev of api.stream(
        path`/agents/${kind}/${name}/chat`,
        { message: text, conversationId: conversationId.current },
        controller.signal,
      )) {
        if (controller.signal.aborted) break;
        const data = JSON.parse(ev.data) as Record<string, unknown>;
        if (ev.event === 'token') update((m) => ({ ...m, content: m.content + String(data.text ?? '') }));
        else if (ev.event === 'tool_call')
          update((m) => ({
            ...m,
            toolCalls: [...m.toolCalls, { id: String(data.id), name: String(data.name), arguments: String(data.arguments ?? '') }],
          }));
        else if (ev.event === 'tool_result')
          update((m) => ({
            ...m,
            toolCalls: m.toolCalls.map((t) =>
              t.id === data.id ? { ...t, result: String(data.result ?? ''), refused: data.refused === true } : t,
            ),
          }));
        else if (ev.event === 'done') {
          finished = true;
          const reply = data as { reply?: string; model?: string; conversationId?: string };
          update((m) => ({ ...m, content: reply.reply ?? m.content, model: reply.model, streaming: false, at: new Date().toISOString() }));
        } else if (ev.event === 'error') {
          finished = true;
          update((m) => ({ ...m, streaming: false, error: `${String(data.code ?? 'error')}: ${String(data.message ?? '')}` }));
        }
      }
      if (!finished)
        update((m) => ({
          ...m,
          streaming: false,
          error: controller.signal.aborted ? 'stopped' : 'the answer ended early (the stream was cut)',
        }));
      setStatus(finished ? `${agentId} answered.` : '');
      if (conversation !== conversationId.current)
        navigate({ page: 'chat', kind, name, conversation: conversationId.current }, { replace: true });
      conversations.reload();
    } catch (err) {
      if (controller.signal.aborted) {
        update((m) => ({ ...m, streaming: false, error: 'stopped' }));
        setStatus('Stopped.');
        return;
      }
      // The request itself failed: drop the empty answer, give the text back, say what happened.
      setMessages((ms) => ms.slice(0, -2));
      setDraft(text);
      setFailure(err);
      setStatus(describeError(err).title);
    } finally {
      setStreaming(false);
      stop.current = null;
      input.current?.focus();
    }
  };

  const removeConversation = async (id: string) => {
    try {
      await api.request('DELETE', path`/api/v1/conversations/${kind}/${name}/${id}`);
      if (id === conversation) navigate({ page: 'chat', kind, name }, { replace: true });
      conversations.reload();
    } catch (err) {
      setFailure(err);
    }
  };

  return (
    <Page
      title={`Chat with ${agentId}`}
      actions={
        <Link to={{ page: 'agents' }} class="button">
          All agents
        </Link>
      }
    >
      {agent.error !== undefined && <ErrorNotice error={agent.error} onRetry={agent.reload} />}
      {agent.data && (
        <p class="muted">
          {agent.data.description || 'No description.'} Model <code>{agent.data.model}</code>.
        </p>
      )}
      <div class="chat">
        <nav class="conversations" aria-label="Conversations">
          <h2>Conversations</h2>
          <Link to={{ page: 'chat', kind, name }} class="button" aria-current={conversation ? undefined : 'page'}>
            New conversation
          </Link>
          {conversations.loading && <Loading what="conversations" />}
          {conversations.error !== undefined && <ErrorNotice error={conversations.error} onRetry={conversations.reload} />}
          <ul>
            {conversations.data?.items.map((c) => (
              <li>
                <Link to={{ page: 'chat', kind, name, conversation: c.id }} aria-current={c.id === conversation ? 'page' : undefined}>
                  {c.id}
                </Link>
                <button
                  type="button"
                  class="icon danger-outline"
                  aria-label={`Delete conversation ${c.id}`}
                  onClick={() => removeConversation(c.id)}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        </nav>
        <section class="transcript" aria-labelledby="transcript-title">
          <h2 id="transcript-title" class="visually-hidden">
            Messages
          </h2>
          {history.loading && conversation && <Loading what="the conversation" />}
          {history.error !== undefined && <ErrorNotice error={history.error} onRetry={history.reload} />}
          <div role="log" aria-live="polite" aria-relevant="additions text" aria-labelledby="transcript-title">
            <ol class="messages" ref={log}>
              {messages.length === 0 && !history.loading && <li class="muted empty">No messages yet. Say hello.</li>}
              {messages.map((m) => (
                <MessageView message={m} agent={agentId} />
              ))}
            </ol>
          </div>
          <p class="visually-hidden" role="status">
            {status}
          </p>
          {failure !== undefined && <ErrorNotice error={failure} />}
          <form class="composer" onSubmit={send} noValidate>
            <Field id="chat-message" label="Message" error={inputError} hint="Enter sends, Shift+Enter starts a new line">
              {(a) => (
                <textarea
                  {...a}
                  ref={input}
                  rows={3}
                  value={draft}
                  onInput={(e) => setDraft(e.currentTarget.value)}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) void send(e);
                  }}
                />
              )}
            </Field>
            <div class="actions">
              <button type="submit" class="primary" disabled={streaming}>
                Send
              </button>
              {streaming && (
                <button type="button" onClick={() => stop.current?.abort()}>
                  Stop
                </button>
              )}
            </div>
          </form>
        </section>
      </div>
    </Page>
  );
}

function MessageView({ message: m, agent }: { message: Message; agent: string }) {
  return (
    <li class={`message ${m.role}`} aria-busy={m.streaming ? 'true' : undefined}>
      <p class="who">
        {m.role === 'user' ? 'You' : agent}
        {m.at && <time dateTime={m.at}> · {formatTime(m.at)}</time>}
        {m.model && <span class="muted"> · {m.model}</span>}
      </p>
      {m.toolCalls.length > 0 && (
        <ul class="tool-calls" aria-label="Tool calls">
          {m.toolCalls.map((t) => (
            <li class={`tool-call${t.refused ? ' refused' : ''}`}>
              <span class="tool-name">
                <code>{t.name}</code>({t.arguments})
              </span>{' '}
              {t.result === undefined ? (
                <span class="muted">running…</span>
              ) : (
                <span>
                  {t.refused ? 'refused: ' : '→ '}
                  <output>{t.result}</output>
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
      <div class="content">{m.content || (m.streaming ? <span class="muted">…</span> : '')}</div>
      {m.error && (
        <p class="field-error" role="alert">
          The answer failed: {m.error}
        </p>
      )}
    </li>
  );
}
