// Shared by the workbench (/desk) and the board (/board): the language, the REST client of the
// desk API (errors are `{error, message, field}`), the desk socket with reconnect, sign-in and
// small DOM helpers. No framework: the pages are small and must load with nothing installed.

const STRINGS = {
  'zh-CN': {
    app_desk: '客服工作台', app_board: '客服监控大屏', tenant: '租户', login: '账号', password: '密码',
    sign_in: '登录', sign_out: '退出', signing_in: '正在登录…', lang: '语言', help: '快捷键帮助',
    status: '状态', online: '在线', busy: '忙碌', away: '离开', offline: '离线',
    mine: '我的会话', queued: '排队中', closed: '已结束', empty: '暂无会话',
    qa_alerts: '质检告警', qa_none: '暂无告警', qa_alert: '质检告警', severity_critical: '致命', severity_major: '严重', severity_minor: '轻微',
    waiting: '等待中', offered: '待接入', active: '进行中', left_message: '留言', closed_state: '已结束',
    accept: '接入', accept_in: (s) => `接入（剩 ${s} 秒）`, offer_expired: '已超时',
    handoff_reason: '转人工原因', transcript: '机器人对话记录', history: '历史消息（全渠道）',
    reason_human_request: '客户要求转人工', reason_complaint: '投诉', reason_faq_handoff: '知识库要求人工',
    reason_repeated_misses: '机器人多次未能回答', reason_negative_sentiment: '客户情绪负面', reason_button: '客户点击“转人工”',
    customer: '客户信息', tier: '会员等级', tags: '标签', region: '地区', language: '语言', identities: '身份',
    orders: '最近订单', send_card: '发送订单卡片', no_orders: '暂无订单',
    reply: '回复', reply_ph: '输入回复，Ctrl+Enter 发送；输入 / 搜索快捷回复', send: '发送',
    note: '内部备注', note_ph: '仅客服可见的备注', add_note: '添加备注',
    canned: '快捷回复', canned_search: '搜索快捷回复', use: '使用',
    transfer: '转接', to_agent: '转给客服（账号）', to_queue: '转到队列', transfer_note: '转接说明', do_transfer: '确认转接',
    close: '结束会话', close_title: '结束会话', summary: '小结', tags_ph: '标签，用逗号分隔', do_close: '确认结束', cancel: '取消',
    pick: '从左侧选择一个会话', page: '所在页面', product: '商品', queue: '队列', agent: '客服',
    sender_customer: '客户', sender_bot: '机器人', sender_agent: '客服', sender_system: '系统', internal: '内部',
    new_offer: '新的会话分配', new_offer_body: (n) => `${n} 等待接入`, csat: '满意度',
    shortcuts: '快捷键', sc_send: '发送回复', sc_accept: '接入当前待接入会话', sc_close: '结束当前会话',
    sc_canned: '聚焦快捷回复搜索', sc_next: '下一个会话 / 上一个会话', sc_help: '显示本帮助', dismiss: '关闭', nav_lists: '会话列表', pane_conv: '会话', side_panel: '客户与快捷回复', sc_esc: '关闭对话框',
    connected: '实时连接正常', reconnecting: '实时连接中断，正在重连…',
    customer_typing: '客户正在输入…', customer_read: '客户已读', notify: '开启桌面通知',
    err: '出错了', whisper: '密语', whisper_ph: '只有客服能看到的指导', monitor: '监听', join: '加入',
    queues: '队列', agents: '客服', conversations: '进行中的会话', waiting_n: '排队', longest: '最长等待',
    sla: '服务水平', target: '目标', online_agents: '在线客服', free: '空闲接待位', active_n: '进行中',
    load: '负载', since: '持续', updated: '更新于', sla_breach: '低于目标', not_supervisor: '需要主管或管理员账号',
    seconds: (s) => `${s} 秒`, minutes: (m, s) => `${m} 分 ${s} 秒`, done: '已完成', rated: (n) => `评分 ${n}`,
    order_status: { paid: '已付款', shipped: '已发货', completed: '已完成', cancelled: '已取消', refunded: '已退款' },
    page_types: { home: '首页', list: '列表页', product: '商品页', cart: '购物车', checkout: '结算页', order: '订单页', other: '其他页面' }, new_msg: '有新消息',
    btn_logistics: '查物流', btn_urge: '催发货', btn_return: '申请退货', monitoring: '监听中', joined: '已加入',
  },
  en: {
    app_desk: 'Agent workbench', app_board: 'Service board', tenant: 'Tenant', login: 'Login', password: 'Password',
    sign_in: 'Sign in', sign_out: 'Sign out', signing_in: 'Signing in…', lang: 'Language', help: 'Keyboard shortcuts',
    status: 'Status', online: 'Online', busy: 'Busy', away: 'Away', offline: 'Offline',
    mine: 'Mine', queued: 'Queued', closed: 'Closed', empty: 'No conversations',
    qa_alerts: 'QA alerts', qa_none: 'No alerts', qa_alert: 'QA alert', severity_critical: 'Critical', severity_major: 'Major', severity_minor: 'Minor',
    waiting: 'Waiting', offered: 'Offered', active: 'Active', left_message: 'Left a message', closed_state: 'Closed',
    accept: 'Accept', accept_in: (s) => `Accept (${s}s left)`, offer_expired: 'Expired',
    handoff_reason: 'Handoff reason', transcript: 'Bot transcript', history: 'History (all channels)',
    reason_human_request: 'Customer asked for a person', reason_complaint: 'Complaint', reason_faq_handoff: 'The FAQ hands off',
    reason_repeated_misses: 'The bot missed repeatedly', reason_negative_sentiment: 'Negative sentiment', reason_button: 'Customer pressed "Talk to a person"',
    customer: 'Customer', tier: 'Tier', tags: 'Tags', region: 'Region', language: 'Language', identities: 'Identities',
    orders: 'Recent orders', send_card: 'Send order card', no_orders: 'No orders',
    reply: 'Reply', reply_ph: 'Type a reply, Ctrl+Enter sends; type / to search canned responses', send: 'Send',
    note: 'Internal note', note_ph: 'Seen by agents only', add_note: 'Add note',
    canned: 'Canned responses', canned_search: 'Search canned responses', use: 'Use',
    transfer: 'Transfer', to_agent: 'To agent (login)', to_queue: 'To queue', transfer_note: 'Note for the next agent', do_transfer: 'Transfer',
    close: 'Close', close_title: 'Close the conversation', summary: 'Summary', tags_ph: 'Tags, comma separated', do_close: 'Close it', cancel: 'Cancel',
    pick: 'Pick a conversation on the left', page: 'Page', product: 'Product', queue: 'Queue', agent: 'Agent',
    sender_customer: 'Customer', sender_bot: 'Bot', sender_agent: 'Agent', sender_system: 'System', internal: 'Internal',
    new_offer: 'New conversation offered', new_offer_body: (n) => `${n} is waiting`, csat: 'CSAT',
    shortcuts: 'Keyboard shortcuts', sc_send: 'Send the reply', sc_accept: 'Accept the offered conversation', sc_close: 'Close the current conversation',
    sc_canned: 'Search canned responses', sc_next: 'Next / previous conversation', sc_help: 'Show this help', dismiss: 'Close', nav_lists: 'Conversation lists', pane_conv: 'Conversation', side_panel: 'Customer and canned responses', sc_esc: 'Close a dialog',
    connected: 'Live updates connected', reconnecting: 'Live updates lost, reconnecting…',
    customer_typing: 'The customer is typing…', customer_read: 'Read by the customer', notify: 'Enable desktop notifications',
    err: 'Error', whisper: 'Whisper', whisper_ph: 'Guidance only the agent sees', monitor: 'Monitor', join: 'Join',
    queues: 'Queues', agents: 'Agents', conversations: 'Active conversations', waiting_n: 'Waiting', longest: 'Longest wait',
    sla: 'Service level', target: 'Target', online_agents: 'Agents online', free: 'Free slots', active_n: 'Active',
    load: 'Load', since: 'For', updated: 'Updated', sla_breach: 'Below target', not_supervisor: 'A supervisor or admin account is needed',
    seconds: (s) => `${s}s`, minutes: (m, s) => `${m}m ${s}s`, done: 'Done', rated: (n) => `Rated ${n}`,
    order_status: { paid: 'Paid', shipped: 'Shipped', completed: 'Completed', cancelled: 'Cancelled', refunded: 'Refunded' },
    page_types: { home: 'home', list: 'list', product: 'product page', cart: 'cart', checkout: 'checkout', order: 'order page', other: 'other page' }, new_msg: 'new message',
    btn_logistics: 'Track parcel', btn_urge: 'Urge shipment', btn_return: 'Return it', monitoring: 'Monitoring', joined: 'Joined',
  },
};

const LANG_KEY = 'kefu.lang';

function detectLang() {
  try {
    const saved = localStorage.getItem(LANG_KEY);
    if (saved && STRINGS[saved]) return saved;
  } catch { /* no storage */ }
  return (navigator.language || 'zh-CN').toLowerCase().startsWith('en') ? 'en' : 'zh-CN';
}

export let lang = detectLang();

export function t(key, ...args) {
  const v = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return typeof v === 'function' ? v(...args) : v;
}

/** Sets the language, remembers it, and re-renders every `[data-t]` element. */
export function setLang(l) {
  if (!STRINGS[l]) return;
  lang = l;
  try { localStorage.setItem(LANG_KEY, l); } catch { /* not remembered */ }
  document.documentElement.lang = l;
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  for (const e of document.querySelectorAll('[data-t-ph]')) e.placeholder = t(e.dataset.tPh);
  for (const e of document.querySelectorAll('[data-t-label]')) e.setAttribute('aria-label', t(e.dataset.tLabel));
  for (const e of document.querySelectorAll('[data-t-title]')) e.title = t(e.dataset.tTitle);
}

/** A language switcher bound to `select`. */
export function langSwitch(select, onChange) {
  select.value = lang;
  select.addEventListener('change', () => { setLang(select.value); onChange?.(); });
}

export function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids) if (kid !== null && kid !== undefined && kid !== false) e.append(kid);
  return e;
}

export const $ = (sel, root = document) => root.querySelector(sel);

export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? t('seconds', s) : t('minutes', Math.floor(s / 60), s % 60);
}

export function clock(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function money(cents) {
  return `¥${(cents / 100).toFixed(2)}`;
}

/** An error of the desk API, with the field it names. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error;
    this.field = body?.field;
  }
}

const SESSION_KEY = 'kefu.desk.session';

/** The signed-in agent: token, agent and tenant, kept in sessionStorage (per tab). */
export function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    if (s && new Date(s.expires_at) > new Date()) return s;
  } catch { /* signed out */ }
  return null;
}

export function saveSession(s) {
  try {
    if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
    else sessionStorage.removeItem(SESSION_KEY);
  } catch { /* per page load only */ }
}

export class Api {
  constructor(session, onUnauthorized) {
    this.session = session;
    this.onUnauthorized = onUnauthorized;
  }

  path(p) {
    return `/v1/tenants/${encodeURIComponent(this.session.tenant)}${p}`;
  }

  async call(method, p, body) {
    const headers = { Authorization: `Bearer ${this.session.token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(this.path(p), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await r.json().catch(() => null);
    if (r.status === 401) this.onUnauthorized?.();
    if (!r.ok) throw new ApiError(r.status, data);
    return data;
  }

  get(p) { return this.call('GET', p); }
  post(p, body = {}) { return this.call('POST', p, body); }
  put(p, body) { return this.call('PUT', p, body); }
}

export async function signIn(tenant, login, password) {
  const r = await fetch(`/v1/tenants/${encodeURIComponent(tenant)}/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login, password }),
  });
  const data = await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(r.status, data);
  return { tenant, token: data.token, agent: data.agent, expires_at: data.expires_at };
}

/**
 * The desk socket: calls `onEvent(event)` for each desk event and `onState(connected)` when the
 * connection comes and goes. Reconnects with backoff; after a reconnect the page re-reads its
 * lists, since events sent meanwhile are gone.
 */
export function deskSocket(session, onEvent, onState) {
  let backoff = 1000;
  let stopped = false;
  let ws = null;
  const open = () => {
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    ws = new WebSocket(`${proto}://${location.host}/v1/tenants/${encodeURIComponent(session.tenant)}/desk/ws?token=${encodeURIComponent(session.token)}`);
    ws.onopen = () => { backoff = 1000; onState(true); };
    ws.onmessage = (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch { return; }
      onEvent(ev);
    };
    ws.onclose = () => {
      onState(false);
      if (stopped) return;
      setTimeout(open, backoff);
      backoff = Math.min(backoff * 2, 15000);
    };
  };
  open();
  const ping = setInterval(() => { if (ws?.readyState === WebSocket.OPEN) ws.send('{"type":"ping"}'); }, 25000);
  return { close() { stopped = true; clearInterval(ping); ws?.close(); } };
}

/** Wires the sign-in form; resolves with the session once signed in. */
export function signInForm(form, roleCheck) {
  return new Promise((resolve) => {
    const err = $('.form-error', form);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const f = new FormData(form);
      const button = $('button[type=submit]', form);
      button.disabled = true;
      err.textContent = t('signing_in');
      try {
        const s = await signIn(String(f.get('tenant')).trim(), String(f.get('login')).trim(), String(f.get('password')));
        const why = roleCheck?.(s.agent);
        if (why) { err.textContent = why; return; }
        saveSession(s);
        err.textContent = '';
        resolve(s);
      } catch (x) {
        err.textContent = `${t('err')}: ${x.message}`;
      } finally {
        button.disabled = false;
      }
    });
  });
}

/** Makes `dialog` a modal that Escape closes and that gives focus back. */
export function modal(dialog) {
  let back = null;
  dialog.addEventListener('close', () => back?.focus());
  return {
    open() { back = document.activeElement; dialog.showModal(); },
    close() { dialog.close(); },
  };
}

export function toast(text, kind = 'info') {
  const box = $('#toasts');
  if (!box) return;
  const n = el('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status', text });
  box.append(n);
  setTimeout(() => n.remove(), 6000);
}
