// The agent workbench: sign in, set a status, work the lists (mine, queued, closed) that the
// desk socket keeps live, and serve one conversation at a time with the customer beside it.
import {
  $, Api, ApiError, clock, deskSocket, el, langSwitch, loadSession, modal, money, saveSession,
  setLang, signInForm, t, toast, lang,
} from './common.js';

const S = {
  api: null,
  me: null,
  scope: 'mine',
  lists: { mine: [], queued: [], closed: [] },
  current: null, // conversation id
  work: null, // its WorkConversation
  profile: null,
  shown: new Set(), // message ids in the log
  canned: [],
  cannedPicked: null, // {canned_id, text} put in the composer
  known: new Set(), // offers already announced
};

const KEY_OF_REASON = (r) => `reason_${r}`;

// ------------------------------------------------------------------ language
setLang(lang);
for (const s of document.querySelectorAll('.lang-select')) langSwitch(s, () => { renderLists(); if (S.work) renderWork(); renderCanned(); });

function start(session) {
  S.api = new Api(session, () => { saveSession(null); location.reload(); });
  S.me = session.agent;
  $('#signin').hidden = true;
  $('#app').hidden = false;
  $('#me-name').textContent = `${S.me.display_name || S.me.login}`;
  $('#status').value = S.me.status || 'offline';
  deskSocket(session, onEvent, (up) => {
    $('#conn').textContent = up ? t('connected') : t('reconnecting');
    $('#conn').classList.toggle('bad', !up);
    if (up) refreshLists();
  });
  // The status stored at sign-in may be stale after a reload; a choice made meanwhile wins.
  const edits = statusEdits;
  S.api.get('/me').then((a) => {
    if (edits !== statusEdits) return;
    S.me.status = a.status;
    $('#status').value = a.status;
  }).catch(() => {});
  refreshLists();
  loadCanned('');
  preloadTransferTargets();
  setInterval(tickCountdowns, 1000);
  setInterval(refreshLists, 15000);
}

// ------------------------------------------------------------------ status, sign-out, notify
let statusEdits = 0;
$('#status').addEventListener('change', async (e) => {
  statusEdits += 1;
  try {
    const a = await S.api.put('/me/status', { status: e.target.value });
    S.me.status = a.status;
  } catch (x) {
    toast(`${t('err')}: ${x.message}`, 'error');
    e.target.value = S.me.status;
  }
});
$('#signout').addEventListener('click', async () => {
  try { await S.api.put('/me/status', { status: 'offline' }); } catch { /* signing out anyway */ }
  saveSession(null);
  location.reload();
});
const notifyBtn = $('#notify');
const syncNotify = () => { notifyBtn.hidden = !('Notification' in window) || Notification.permission !== 'default'; };
syncNotify();
notifyBtn.addEventListener('click', () => Notification.requestPermission().then(syncNotify));

// ------------------------------------------------------------------ socket events
let listTimer = 0;
function refreshListsSoon() {
  clearTimeout(listTimer);
  listTimer = setTimeout(refreshLists, 150);
}

function onEvent(ev) {
  const c = ev.conversation;
  switch (ev.type) {
    case 'hello':
      // Only before the agent picks a status here: a later change arrives as agent.updated.
      if (ev.agent?.status && statusEdits === 0) { S.me.status = ev.agent.status; $('#status').value = ev.agent.status; }
      break;
    case 'assignment.offered':
      if (c && !S.known.has(offerKey(c))) {
        S.known.add(offerKey(c));
        announce(c);
      }
      // Shown at once from the event; the refetch below fills in the details.
      if (c && !S.lists.mine.some((w) => idOf(w) === c.conversation_id)) {
        S.lists.mine = [...S.lists.mine, c];
        S.lists.queued = S.lists.queued.filter((w) => idOf(w) !== c.conversation_id);
        renderLists();
      }
      refreshListsSoon();
      if (c && (!S.current || S.current === c.conversation_id)) openConversation(c.conversation_id);
      break;
    case 'assignment.revoked':
    case 'conversation.updated':
      refreshListsSoon();
      // Closing adds the CSAT invitation, rating adds the thanks: re-read the log too.
      if (c && c.conversation_id === S.current) loadWork().then(loadMessages);
      break;
    case 'message':
      if (ev.conversation_id === S.current) appendMessage(ev.message);
      else markUnread(ev.conversation_id);
      break;
    case 'queue.changed':
      refreshListsSoon();
      break;
    case 'customer.typing':
    case 'customer.read':
      if (ev.conversation_id === S.current) showCustomerSignal(ev.type === 'customer.typing' ? 'customer_typing' : 'customer_read');
      break;
    case 'agent.removed':
      // This account was removed or changed: its session is over.
      if (ev.agent_id === S.me.agent_id) { saveSession(null); location.reload(); }
      break;
    case 'agent.updated':
      if (ev.agent_id === S.me.agent_id && ev.status) { S.me.status = ev.status; $('#status').value = ev.status; }
      break;
    default:
      break;
  }
}

// What the customer is doing right now (typing, has read), under the conversation.
let signalTimer = 0;
function showCustomerSignal(key) {
  const line = $('#customer-signal');
  line.textContent = t(key);
  clearTimeout(signalTimer);
  if (key === 'customer_typing') signalTimer = setTimeout(() => { line.textContent = ''; }, 6000);
}

// A short two-tone beep (WebAudio) and a desktop notification when permitted.
let audio = null;
function announce(c) {
  try {
    audio ??= new AudioContext();
    const now = audio.currentTime;
    for (const [i, f] of [880, 1320].entries()) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, now + i * 0.18);
      g.gain.exponentialRampToValueAtTime(0.25, now + i * 0.18 + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.18 + 0.16);
      o.connect(g).connect(audio.destination);
      o.start(now + i * 0.18);
      o.stop(now + i * 0.18 + 0.17);
    }
  } catch { /* no audio device */ }
  if ('Notification' in window && Notification.permission === 'granted') {
    const n = new Notification(t('new_offer'), { body: t('new_offer_body', c.customer_id?.slice(0, 8) || ''), tag: c.conversation_id });
    n.onclick = () => { window.focus(); openConversation(c.conversation_id); };
  }
  toast(t('new_offer'));
}

// ------------------------------------------------------------------ lists
const tabs = [...document.querySelectorAll('#tabs [role=tab]')];
for (const tab of tabs) {
  tab.addEventListener('click', () => selectTab(tab));
  tab.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(tab);
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      const next = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
      next.focus();
      selectTab(next);
    }
  });
}

function selectTab(tab) {
  for (const x of tabs) {
    const on = x === tab;
    x.setAttribute('aria-selected', String(on));
    x.tabIndex = on ? 0 : -1;
  }
  $('#list').setAttribute('aria-labelledby', tab.id);
  S.scope = tab.dataset.scope;
  renderLists();
}

async function refreshLists() {
  if (!S.api) return;
  try {
    const [mine, queued, closed] = await Promise.all(['mine', 'queued', 'closed'].map((s) => S.api.get(`/conversations?scope=${s}&limit=100`)));
    S.lists = { mine: mine.conversations, queued: queued.conversations, closed: closed.conversations };
    renderLists();
    // An offer made while the socket was (re)connecting is announced and opened from here.
    for (const w of S.lists.mine) {
      if (w.state !== 'offered' || S.known.has(offerKey(w))) continue;
      S.known.add(offerKey(w));
      announce({ conversation_id: idOf(w), customer_id: w.conversation?.customer_id });
      if (!S.current) openConversation(idOf(w));
    }
  } catch (x) {
    if (!(x instanceof ApiError && x.status === 401)) toast(`${t('err')}: ${x.message}`, 'error');
  }
}

const unread = new Set();
function markUnread(id) {
  unread.add(id);
  renderLists();
}

// One offer of one conversation, however its time is spelled (event or REST).
const offerKey = (w) => `${w.conversation?.conversation_id || w.conversation_id}:${Date.parse(w.offered_at)}`;
const idOf = (w) => w.conversation?.conversation_id || w.conversation_id;
const nameOf = (w) => w.customer_name || (w.conversation?.customer_id || w.customer_id || '').slice(0, 8);

function renderLists() {
  $('#count-mine').textContent = S.lists.mine.length ? String(S.lists.mine.length) : '';
  $('#count-queued').textContent = S.lists.queued.length ? String(S.lists.queued.length) : '';
  const list = $('#list');
  const items = S.lists[S.scope] || [];
  list.replaceChildren(...(items.length ? items.map(listItem) : [el('li', { class: 'muted empty', text: t('empty') })]));
}

function listItem(w) {
  const id = idOf(w);
  const state = w.state === 'closed' ? 'closed_state' : w.state;
  const countdown = w.state === 'offered' && w.offer_expires_at ? el('span', { class: 'countdown', 'data-expires': w.offer_expires_at }) : null;
  const b = el('button', {
    type: 'button', class: 'conv-item', 'aria-current': id === S.current ? 'true' : null,
    onclick: () => openConversation(id),
  },
  el('span', { class: 'conv-name', text: nameOf(w) }),
  unread.has(id) ? el('span', { class: 'dot', title: t('new_msg'), text: '●' }, el('span', { class: 'sr-only', text: t('new_msg') })) : null,
  el('span', { class: `pill state-${w.state}`, text: t(state) }),
  w.tier ? el('span', { class: 'pill tier', text: w.tier }) : null,
  el('span', { class: 'conv-meta', text: `${w.queue || ''} · ${clock(w.accepted_at || w.offered_at || w.enqueued_at)}${w.csat ? ` · ${t('rated', w.csat)}` : ''}` }),
  countdown);
  return el('li', {}, b);
}

function tickCountdowns() {
  for (const c of document.querySelectorAll('[data-expires]')) {
    const left = Math.round((new Date(c.dataset.expires) - Date.now()) / 1000);
    c.textContent = left > 0 ? `${left}s` : t('offer_expired');
  }
  renderAcceptButton();
}

// ------------------------------------------------------------------ the conversation
async function openConversation(id) {
  if (S.current !== id) {
    S.current = id;
    $('#customer-signal').textContent = '';
    S.work = null;
    S.profile = null;
    S.shown = new Set();
    $('#messages').replaceChildren();
    $('#customer-body').replaceChildren('—');
  }
  unread.delete(id);
  renderLists();
  $('#placeholder').hidden = true;
  $('#conv').hidden = false;
  await loadWork();
  await loadMessages();
}

async function loadWork() {
  const id = S.current;
  if (!id) return;
  try {
    const w = await S.api.get(`/conversations/${encodeURIComponent(id)}`);
    if (S.current !== id) return;
    S.work = w;
    renderWork();
    const customer = w.conversation?.customer_id;
    if (customer && S.profile?.customer_id !== customer) loadCustomer(customer);
  } catch (x) {
    toast(`${t('err')}: ${x.message}`, 'error');
  }
}

function renderWork() {
  const w = S.work;
  if (!w) return;
  $('#conv-title').textContent = `${nameOf(w)}${w.tier ? ` · ${w.tier}` : ''}`;
  const st = $('#conv-state');
  st.textContent = `${t(w.state === 'closed' ? 'closed_state' : w.state)} · ${t('queue')} ${w.queue}${w.csat ? ` · ${t('csat')} ${'★'.repeat(w.csat)}` : ''}`;
  st.className = `pill state-${w.state}`;
  const h = w.conversation?.handoff;
  $('#handoff').hidden = !h;
  if (h) {
    $('#handoff-reason').textContent = t(KEY_OF_REASON(h.reason)) === KEY_OF_REASON(h.reason) ? h.reason : t(KEY_OF_REASON(h.reason));
    const p = h.page || w.conversation?.page;
    $('#handoff-page').textContent = p && (p.page_type || p.product_id) ? `· ${t('page')}: ${t('page_types')[p.page_type] || p.page_type || ''} ${p.product_id ? `${t('product')} ${p.product_id}` : ''}` : '';
    // Open while deciding on an offer; afterwards the log below has the same turns.
    if (S.transcriptFor !== S.current) {
      S.transcriptFor = S.current;
      $('#transcript-box').open = w.state === 'offered' || w.state === 'waiting';
    }
    $('#transcript').replaceChildren(...(h.transcript || []).map((l) =>
      el('li', { class: `tl tl-${l.sender_kind}` }, el('b', { text: `${t(`sender_${l.sender_kind}`)}: ` }), l.text)));
  }
  const mine = w.agent_id === S.me.agent_id;
  const closable = w.state === 'active' || w.state === 'left_message';
  $('#close-btn').hidden = !closable || !(mine || w.participants?.includes(S.me.agent_id));
  $('#transfer-btn').hidden = w.state !== 'active' || !mine;
  $('#composer').hidden = w.state === 'closed';
  renderAcceptButton();
}

function renderAcceptButton() {
  const w = S.work;
  const btn = $('#accept');
  const offered = w && w.state === 'offered' && w.agent_id === S.me.agent_id;
  btn.hidden = !offered;
  if (offered) {
    const left = w.offer_expires_at ? Math.round((new Date(w.offer_expires_at) - Date.now()) / 1000) : null;
    btn.textContent = left === null ? t('accept') : left > 0 ? t('accept_in', left) : t('offer_expired');
    btn.disabled = left !== null && left <= 0;
  }
}

async function loadMessages() {
  const id = S.current;
  const customer = S.work?.conversation?.customer_id;
  try {
    // The customer's history on every channel (bot turns included) plus this conversation's
    // own messages, which add the internal notes and whispers.
    const [history, own] = await Promise.all([
      customer ? S.api.get(`/customers/${encodeURIComponent(customer)}/history?limit=200`) : { messages: [] },
      S.api.get(`/conversations/${encodeURIComponent(id)}/messages`),
    ]);
    if (S.current !== id) return;
    const all = new Map();
    for (const m of [...history.messages, ...own.messages]) all.set(m.message_id, m);
    const sorted = [...all.values()].sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
    for (const m of sorted) appendMessage(m, true);
    $('#messages').scrollTop = $('#messages').scrollHeight;
  } catch (x) {
    toast(`${t('err')}: ${x.message}`, 'error');
  }
}

function appendMessage(m, bulk = false) {
  if (!m || S.shown.has(m.message_id)) return;
  S.shown.add(m.message_id);
  const kind = m.internal ? 'internal' : m.direction === 'in' ? 'customer' : m.sender_kind;
  const who = m.internal ? `${t('internal')} · ${m.agent_id}` : t(`sender_${m.direction === 'in' ? 'customer' : m.sender_kind}`);
  const other = m.conversation_id && S.current && m.conversation_id !== S.current;
  const li = el('li', { class: `m m-${kind}${other ? ' m-earlier' : ''}` },
    el('div', { class: 'm-who' }, `${who} · ${clock(m.created_at)}${m.channel_id ? ` · ${m.channel_id}` : ''}`));
  if (m.message_type === 'image' && /^https?:\/\//.test(m.text)) li.append(el('img', { src: m.text, alt: m.text, class: 'm-img' }));
  else if (m.text) li.append(el('div', { class: 'm-text', text: m.text }));
  for (const c of m.cards || []) li.append(cardView(c));
  $('#messages').append(li);
  if (!bulk) $('#messages').scrollTop = $('#messages').scrollHeight;
}

function cardView(c) {
  const box = el('div', { class: `mini-card card-${c.kind}` }, el('b', { text: c.title || c.kind }));
  if (c.subtitle) box.append(el('div', { class: 'muted', text: c.subtitle }));
  for (const f of c.fields || []) box.append(el('div', { text: `${f.label}: ${f.value}` }));
  if (c.buttons?.length) box.append(el('div', { class: 'muted', text: c.buttons.map((b) => `[${b.label}]`).join(' ') }));
  return box;
}

// ------------------------------------------------------------------ customer panel
async function loadCustomer(id) {
  try {
    const p = await S.api.get(`/customers/${encodeURIComponent(id)}`);
    S.profile = p;
    renderCustomer();
  } catch (x) {
    $('#customer-body').textContent = `${t('err')}: ${x.message}`;
  }
}

function renderCustomer() {
  const p = S.profile;
  if (!p) return;
  const row = (k, v) => (v ? [el('dt', { text: t(k) }), el('dd', { text: v })] : []);
  const dl = el('dl', { class: 'facts' },
    ...row('tier', p.tier), ...row('tags', (p.tags || []).join('、')), ...row('region', p.region),
    ...row('language', p.language), ...row('identities', (p.identities || []).map((i) => `${i.kind}: ${i.value}`).join('\n')));
  const orders = (p.recent_orders || []).map((o) => el('li', { class: 'order' },
    el('div', {}, el('b', { text: o.title || o.order_id })),
    el('div', { class: 'muted', text: `${o.order_id} · ${t('order_status')[o.status] || o.status} · ${money(o.amount_cents)}` }),
    el('button', { type: 'button', class: 'small', text: t('send_card'), 'aria-label': `${t('send_card')} ${o.order_id}`, onclick: () => sendOrderCard(o) })));
  $('#customer-body').classList.remove('muted');
  $('#customer-body').replaceChildren(
    el('div', { class: 'cust-name', text: p.display_name || p.customer_id.slice(0, 8) }),
    dl,
    el('h3', { text: t('orders') }),
    orders.length ? el('ul', { class: 'orders' }, ...orders) : el('p', { class: 'muted', text: t('no_orders') }));
}

// The card speaks the customer's language, not the agent's.
const CARD_WORDS = {
  'zh-Hans': { order: '订单', status: '状态', amount: '金额', logistics: '查物流', urge: '催发货', st: { paid: '已付款', shipped: '已发货', completed: '已完成' } },
  'zh-Hant': { order: '訂單', status: '狀態', amount: '金額', logistics: '查物流', urge: '催出貨', st: { paid: '已付款', shipped: '已出貨', completed: '已完成' } },
  en: { order: 'Order', status: 'Status', amount: 'Amount', logistics: 'Track parcel', urge: 'Urge shipment', st: { paid: 'Paid', shipped: 'Shipped', completed: 'Completed' } },
};

async function sendOrderCard(o) {
  const w = CARD_WORDS[S.profile?.language] || CARD_WORDS['zh-Hans'];
  const card = {
    kind: 'order',
    title: o.title || `${w.order} ${o.order_id}`,
    subtitle: `${w.order} ${o.order_id}`,
    order_id: o.order_id,
    fields: [
      { label: w.status, value: w.st[o.status] || o.status },
      { label: w.amount, value: money(o.amount_cents) },
    ],
    buttons: [
      { label: w.logistics, action: { action: 'logistics_lookup', order_id: o.order_id } },
      { label: w.urge, action: { action: 'urge_shipment', order_id: o.order_id } },
    ],
  };
  await post(`/conversations/${encodeURIComponent(S.current)}/messages`, { cards: [card], client_id: clientId() });
}

// ------------------------------------------------------------------ composer
const clientId = () => `d-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

async function post(path, body) {
  try {
    const m = await S.api.post(path, body);
    if (m?.message_id) appendMessage(m);
    return m;
  } catch (x) {
    toast(`${t('err')}: ${x.message}${x.field ? ` (${x.field})` : ''}`, 'error');
    return null;
  }
}

async function sendComposer() {
  const box = $('#reply');
  const text = box.value.trim();
  if (!text || !S.current) return;
  const note = new FormData($('#composer')).get('mode') === 'note';
  let body;
  if (note) body = { text, client_id: clientId() };
  else if (S.cannedPicked && S.cannedPicked.text === text) body = { canned_id: S.cannedPicked.canned_id, client_id: clientId() };
  else body = { text, client_id: clientId() };
  const m = await post(`/conversations/${encodeURIComponent(S.current)}/${note ? 'notes' : 'messages'}`, body);
  if (m) { box.value = ''; S.cannedPicked = null; }
  box.focus();
}

$('#composer').addEventListener('submit', (e) => { e.preventDefault(); sendComposer(); });
$('#reply').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); sendComposer(); }
  if (e.key === 'ArrowDown' && $('#reply').value.startsWith('/')) { e.preventDefault(); $('#canned-list button')?.focus(); }
});
// The customer sees "typing…" while the agent writes a reply (at most every 3 s; not for notes).
let typingSent = 0;
$('#reply').addEventListener('input', () => {
  const v = $('#reply').value;
  const note = new FormData($('#composer')).get('mode') === 'note';
  if (S.current && !note && v && Date.now() - typingSent > 3000) {
    typingSent = Date.now();
    S.api.post(`/conversations/${encodeURIComponent(S.current)}/typing`).catch(() => {});
  }
  if (/^\/\S*$/.test(v)) { $('#canned-q').value = v; loadCanned(v); }
});

// ------------------------------------------------------------------ canned responses
let cannedTimer = 0;
$('#canned-q').addEventListener('input', () => {
  clearTimeout(cannedTimer);
  cannedTimer = setTimeout(() => loadCanned($('#canned-q').value.trim()), 150);
});

async function loadCanned(q) {
  if (!S.api) return;
  try {
    const r = await S.api.get(`/canned-responses${q ? `?q=${encodeURIComponent(q.slice(0, 100))}` : ''}`);
    S.canned = r.canned;
    renderCanned();
  } catch (x) {
    toast(`${t('err')}: ${x.message}`, 'error');
  }
}

function renderCanned() {
  $('#canned-list').replaceChildren(...S.canned.map((c) => el('li', {},
    el('button', {
      type: 'button', class: 'canned-item', 'aria-label': `${t('use')} ${c.shortcut} ${c.title}`,
      onclick: () => {
        $('#reply').value = c.text;
        S.cannedPicked = { canned_id: c.canned_id, text: c.text };
        $('#reply').focus();
      },
    }, el('b', { text: c.shortcut }), ` ${c.title}`, el('div', { class: 'muted', text: c.text })))));
}

// ------------------------------------------------------------------ accept, transfer, close
async function accept() {
  const w = S.work?.state === 'offered' && S.work.agent_id === S.me.agent_id
    ? S.work
    : S.lists.mine.find((x) => x.state === 'offered');
  if (!w) return;
  const id = idOf(w);
  try {
    await S.api.post(`/conversations/${encodeURIComponent(id)}/accept`);
    // Accepted: the log has the same turns, so give its room back.
    $('#transcript-box').open = false;
    await openConversation(id);
    refreshListsSoon();
    $('#reply').focus();
  } catch (x) {
    toast(`${t('err')}: ${x.message}`, 'error');
  }
}
$('#accept').addEventListener('click', accept);

const transferDlg = modal($('#transfer-dlg'));
const closeDlg = modal($('#close-dlg'));
const helpDlg = modal($('#help-dlg'));
for (const b of document.querySelectorAll('dialog [data-close]')) b.addEventListener('click', () => b.closest('dialog').close());
$('#transfer-btn').addEventListener('click', () => { $('#transfer-form').reset(); transferDlg.open(); });
$('#close-btn').addEventListener('click', openClose);
$('#help-btn').addEventListener('click', () => helpDlg.open());

function openClose() {
  if (!S.work || S.work.state === 'closed' || $('#close-btn').hidden) return;
  $('#close-form').reset();
  closeDlg.open();
}

$('#transfer-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const body = {};
  const agent = String(f.get('agent')).trim();
  const queue = String(f.get('queue')).trim();
  if (agent) body.to_agent_id = agent;
  if (queue) body.to_queue = queue;
  if (String(f.get('note')).trim()) body.note = String(f.get('note')).trim();
  try {
    await S.api.post(`/conversations/${encodeURIComponent(S.current)}/transfer`, body);
    transferDlg.close();
    refreshListsSoon();
    loadWork();
  } catch (x) {
    $('.form-error', e.target).textContent = `${x.message}${x.field ? ` (${x.field})` : ''}`;
  }
});

$('#close-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const tags = String(f.get('tags')).split(/[,，、]/).map((s) => s.trim()).filter(Boolean);
  try {
    await S.api.post(`/conversations/${encodeURIComponent(S.current)}/close`, { summary: String(f.get('summary')).trim(), tags });
    closeDlg.close();
    refreshListsSoon();
    await loadWork();
  } catch (x) {
    $('.form-error', e.target).textContent = `${x.message}${x.field ? ` (${x.field})` : ''}`;
  }
});

// Agents may not list colleagues or queues (supervisors may): the fields stay free text then.
async function preloadTransferTargets() {
  try {
    const [agents, queues] = await Promise.all([S.api.get('/agents'), S.api.get('/queues')]);
    $('#agent-ids').replaceChildren(...agents.agents.map((a) => el('option', { value: a.agent_id, text: a.display_name })));
    $('#queue-ids').replaceChildren(...queues.queues.map((q) => el('option', { value: q.name })));
  } catch { /* free text */ }
}

// ------------------------------------------------------------------ keyboard
document.addEventListener('keydown', (e) => {
  if ($('#app').hidden || document.querySelector('dialog[open]')) return;
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName);
  if (e.altKey && !e.ctrlKey && !e.metaKey) {
    const k = e.code;
    if (k === 'KeyA') { e.preventDefault(); accept(); }
    else if (k === 'KeyC') { e.preventDefault(); openClose(); }
    else if (k === 'KeyK') { e.preventDefault(); $('#canned-q').focus(); }
    else if (k === 'ArrowDown' || k === 'ArrowUp') {
      e.preventDefault();
      const items = S.lists[S.scope];
      const i = items.findIndex((w) => idOf(w) === S.current);
      const next = items[(i + (k === 'ArrowDown' ? 1 : items.length - 1) + items.length) % items.length];
      if (next) openConversation(idOf(next));
    }
  } else if (e.key === '?' && !typing) {
    e.preventDefault();
    helpDlg.open();
  }
});

// ------------------------------------------------------------------ boot (last: everything above is defined)
const existing = loadSession();
if (existing) start(existing);
else signInForm($('#signin-form')).then(start);
