/*
 * Kefu chat widget. One tag on a tenant's page:
 *   <script src="https://kefu.example/widget.js" data-channel="demo-web"
 *           data-page-type="product" data-product-id="ring-7" data-token="<identity JWT>"></script>
 * adds a launcher button and a chat panel inside a shadow root, so the host page's CSS cannot
 * reach it. `data-mode="inline"` fills the page instead (the standalone /chat page).
 * The host may call `KefuWidget.setPage({page_type, product_id, order_id})` when the shopper
 * navigates; the page context goes with every message.
 *
 * A classic script, not a module: tenants paste one tag and nothing else. It speaks the web chat
 * socket protocol of services/gateway/src/webchat.rs.
 */
(() => {
  'use strict';
  const script = document.currentScript;
  if (!script || window.KefuWidget) return;
  const data = script.dataset;
  const channel = data.channel || new URL(location.href).searchParams.get('channel') || '';
  const origin = new URL(script.src, location.href).origin;
  const inline = data.mode === 'inline';
  const PAGE_TYPES = ['home', 'list', 'product', 'cart', 'checkout', 'order', 'other'];
  const MAX_TEXT = 5000;
  // The standalone page (an app's web view) may pass the same settings in its query string.
  const query = inline ? new URL(location.href).searchParams : new URLSearchParams();
  const page = {
    page_type: data.pageType || query.get('page_type') || '',
    product_id: data.productId || query.get('product_id') || '',
    order_id: data.orderId || query.get('order_id') || '',
  };
  let token = data.token || query.get('token') || '';

  const T = {
    'zh-CN': {
      title: '在线客服', open: '联系客服', close: '关闭客服窗口', lang: '语言',
      menu: '您想咨询什么？', order: '订单查询', returns: '退换货', product: '商品咨询', faq: '常见问题',
      q_order: '帮我查一下订单状态', q_returns: '怎么申请退货', q_product: '其他门店有没有货', q_faq: '一般几天能到',
      input: '请输入您的问题', send: '发送', human: '转人工', human_text: '转人工',
      image: '发送图片', image_url: '图片链接（https://…）', image_send: '发送图片链接',
      waiting: '正在为您转接人工客服，请稍候…', typing: '对方正在输入…', sending: '发送中', delivered: '已送达',
      offline: '连接中断，正在重连…', failed: '发送失败', me: '我', bot: '智能助手', agent: '客服', system: '系统',
      stars: (n) => `${n} 星`, log: '聊天记录', suggestions: '您可能想问', unread: (n) => `${n} 条未读`,
      no_channel: '缺少 data-channel 属性，无法连接客服。',
      position: (n) => `您当前排在第 ${n} 位`, left: '客服繁忙，您的留言已记录，客服上线后会尽快回复。',
      connecting: '客服即将为您服务…',
    },
    'zh-TW': {
      title: '線上客服', open: '聯絡客服', close: '關閉客服視窗', lang: '語言',
      menu: '您想諮詢什麼？', order: '訂單查詢', returns: '退換貨', product: '商品諮詢', faq: '常見問題',
      q_order: '幫我查一下訂單狀態', q_returns: '怎麼申請退貨', q_product: '其他門市有沒有貨', q_faq: '一般幾天能到',
      input: '請輸入您的問題', send: '傳送', human: '轉真人客服', human_text: '轉人工',
      image: '傳送圖片', image_url: '圖片連結（https://…）', image_send: '傳送圖片連結',
      waiting: '正在為您轉接真人客服，請稍候…', typing: '對方正在輸入…', sending: '傳送中', delivered: '已送達',
      offline: '連線中斷，正在重新連線…', failed: '傳送失敗', me: '我', bot: '智慧助理', agent: '客服', system: '系統',
      stars: (n) => `${n} 星`, log: '聊天紀錄', suggestions: '您可能想問', unread: (n) => `${n} 則未讀`,
      no_channel: '缺少 data-channel 屬性，無法連線客服。',
      position: (n) => `您目前排在第 ${n} 位`, left: '客服忙碌中，您的留言已記錄，客服上線後會盡快回覆。',
      connecting: '客服即將為您服務…',
    },
    en: {
      title: 'Customer service', open: 'Chat with us', close: 'Close the chat', lang: 'Language',
      menu: 'What can we help with?', order: 'My orders', returns: 'Returns', product: 'This product', faq: 'FAQ',
      q_order: 'Check my order status', q_returns: 'How do I return an item?', q_product: 'Do other stores have it in stock?', q_faq: 'How long does delivery take?',
      input: 'Type your question', send: 'Send', human: 'Talk to a person', human_text: 'Talk to a person',
      image: 'Send a picture', image_url: 'Picture link (https://…)', image_send: 'Send the picture link',
      waiting: 'Connecting you to an agent, please wait…', typing: 'Typing…', sending: 'Sending', delivered: 'Delivered',
      offline: 'Connection lost, reconnecting…', failed: 'Not sent', me: 'Me', bot: 'Assistant', agent: 'Agent', system: 'System',
      stars: (n) => `${n} star${n > 1 ? 's' : ''}`, log: 'Conversation', suggestions: 'You may ask', unread: (n) => `${n} unread`,
      no_channel: 'The data-channel attribute is missing; the chat cannot connect.',
      position: (n) => `You are number ${n} in the queue`, left: 'All agents are busy. Your message is saved and an agent will reply soon.',
      connecting: 'An agent is about to join…',
    },
  };
  const LANG_KEY = 'kefu.lang';
  const pickLang = () => {
    const saved = store('get', LANG_KEY);
    if (saved && T[saved]) return saved;
    if (data.lang && T[data.lang]) return data.lang;
    const nav = (navigator.language || 'zh-CN').toLowerCase();
    if (nav.startsWith('zh')) return /tw|hk|mo|hant/.test(nav) ? 'zh-TW' : 'zh-CN';
    return nav.startsWith('en') ? 'en' : 'zh-CN';
  };
  // localStorage may be unavailable (privacy modes, sandboxed frames): the chat still works.
  function store(op, key, value) {
    try {
      if (op === 'get') return localStorage.getItem(key);
      if (op === 'set') localStorage.setItem(key, value);
      if (op === 'del') localStorage.removeItem(key);
    } catch { /* not persisted */ }
    return null;
  }
  let lang = pickLang();
  const t = (k, ...a) => { const v = T[lang][k] ?? T.en[k]; return typeof v === 'function' ? v(...a) : v; };

  // ------------------------------------------------------------------ DOM
  const el = (tag, attrs = {}, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const kid of kids) if (kid) e.append(kid);
    return e;
  };

  const host = el('div', { class: 'kefu-widget-host', 'data-kefu-widget': '' });
  const root = host.attachShadow({ mode: 'open' });
  const css = `
:host{all:initial}
*{box-sizing:border-box}
.w{font:15px/1.45 system-ui,-apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;color:#1f2329}
button,input{font:inherit}
button{cursor:pointer}
:focus-visible{outline:3px solid #1677ff;outline-offset:2px}
.launcher{position:fixed;right:24px;bottom:24px;z-index:2147483000;border:0;border-radius:28px;padding:14px 20px;background:#e1251b;color:#fff;font-weight:600;box-shadow:0 6px 20px rgba(0,0,0,.25)}
.badge{display:inline-block;min-width:20px;margin-left:8px;padding:0 6px;border-radius:10px;background:#fff;color:#e1251b;font-size:13px}
.panel{position:fixed;right:24px;bottom:24px;z-index:2147483001;width:380px;height:min(640px,calc(100vh - 48px));display:flex;flex-direction:column;background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.28);overflow:hidden}
.panel[hidden],.launcher[hidden]{display:none}
.inline .panel{position:static;width:100%;height:100vh;border-radius:0;box-shadow:none;max-width:720px;margin:0 auto}
header{display:flex;align-items:center;gap:8px;padding:10px 12px;background:#e1251b;color:#fff}
header h2{flex:1;margin:0;font-size:17px}
header select{border-radius:6px;border:0;padding:3px}
header .x{background:transparent;border:0;color:#fff;font-size:22px;line-height:1;padding:2px 8px;border-radius:6px}
.status{padding:6px 12px;font-size:13px;background:#fff7e6;color:#874d00}
.status[hidden]{display:none}
.log{flex:1;overflow-y:auto;padding:12px;background:#f5f6f7;display:flex;flex-direction:column;gap:10px}
.menu{background:#fff;border-radius:10px;padding:10px}
.menu p{margin:0 0 8px;font-weight:600}
.menu div{display:grid;grid-template-columns:1fr 1fr;gap:8px}
.menu button,.chip{border:1px solid #e1251b;background:#fff;color:#c41d13;border-radius:16px;padding:6px 10px}
.msg{max-width:84%;display:flex;flex-direction:column;gap:4px}
.msg.me{align-self:flex-end;align-items:flex-end}
.who{font-size:12px;color:#646a73}
.bubble{padding:8px 12px;border-radius:12px;background:#fff;white-space:pre-wrap;word-break:break-word}
.me .bubble{background:#e1251b;color:#fff}
.system .bubble{background:#eef0f3;color:#3a3f45}
.meta{font-size:12px;color:#8f959e}
.meta.err{color:#c41d13}
.bubble img,.card img{display:block;max-width:100%;max-height:220px;border-radius:8px}
.chips{display:flex;flex-wrap:wrap;gap:6px}
.card{background:#fff;border:1px solid #dee0e3;border-radius:10px;padding:10px;min-width:240px}
.card h3{margin:0 0 2px;font-size:15px}
.card .sub{margin:0 0 6px;color:#646a73;font-size:13px}
.card dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:0 0 8px;font-size:13px}
.card dt{color:#8f959e}.card dd{margin:0}
.card .btns{display:flex;flex-wrap:wrap;gap:6px}
.card .btns button{border:1px solid #1677ff;background:#fff;color:#0958d9;border-radius:6px;padding:5px 10px}
.stars{display:flex;gap:4px}
.stars button{font-size:28px;line-height:1;border:0;background:transparent;color:#c9cdd4;padding:2px}
.stars button.on{color:#faad14}
.stars button:disabled{cursor:default}
.typing{font-size:13px;color:#646a73;padding:0 12px 4px;background:#f5f6f7;min-height:22px}
.tools{display:flex;gap:6px;padding:8px 10px 0;border-top:1px solid #eee}
.tools button{border:1px solid #d0d3d6;background:#fff;border-radius:14px;padding:4px 10px;font-size:13px}
.tools .human{border-color:#e1251b;color:#c41d13}
form{display:flex;gap:8px;padding:8px 10px 10px}
form input{flex:1;min-width:0;border:1px solid #d0d3d6;border-radius:8px;padding:8px 10px}
form button{border:0;border-radius:8px;padding:8px 14px;background:#e1251b;color:#fff;font-weight:600}
form[hidden]{display:none}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
`;
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } catch {
    root.append(el('style', { text: css }));
  }

  const wrap = el('div', { class: `w${inline ? ' inline' : ''}` });
  const badge = el('span', { class: 'badge', hidden: true });
  const launcher = el('button', { class: 'launcher', type: 'button', 'aria-haspopup': 'dialog', 'aria-expanded': 'false' });
  const launcherText = el('span');
  launcher.append(launcherText, badge);
  const title = el('h2', { id: 'kefu-title' });
  const langSel = el('select', {}, ...Object.keys(T).map((k) => el('option', { value: k, text: { 'zh-CN': '简体中文', 'zh-TW': '繁體中文', en: 'English' }[k] })));
  const closeBtn = el('button', { class: 'x', type: 'button', text: '×' });
  const status = el('div', { class: 'status', role: 'status', hidden: true });
  const log = el('div', { class: 'log', role: 'log', 'aria-live': 'polite', tabindex: '0' });
  const typingLine = el('div', { class: 'typing', 'aria-live': 'polite' });
  const humanBtn = el('button', { class: 'human', type: 'button' });
  const imageBtn = el('button', { type: 'button', 'aria-expanded': 'false' });
  const input = el('input', { type: 'text', maxlength: String(MAX_TEXT), autocomplete: 'off', enterkeyhint: 'send' });
  const sendBtn = el('button', { type: 'submit' });
  const form = el('form', {}, input, sendBtn);
  const imageInput = el('input', { type: 'url', inputmode: 'url', maxlength: '2048' });
  const imageSend = el('button', { type: 'submit' });
  const imageForm = el('form', { hidden: true }, imageInput, imageSend);
  const panel = el('section', { class: 'panel', role: inline ? 'region' : 'dialog', 'aria-labelledby': 'kefu-title', hidden: !inline },
    el('header', {}, title, langSel, inline ? null : closeBtn),
    status, log, typingLine, el('div', { class: 'tools' }, humanBtn, imageBtn), imageForm, form);
  if (!inline) wrap.append(launcher);
  wrap.append(panel);
  root.append(wrap);

  function applyLang() {
    host.setAttribute('lang', lang);
    launcherText.textContent = t('open');
    title.textContent = t('title');
    langSel.value = lang;
    langSel.setAttribute('aria-label', t('lang'));
    closeBtn.setAttribute('aria-label', t('close'));
    log.setAttribute('aria-label', t('log'));
    humanBtn.textContent = t('human');
    imageBtn.textContent = t('image');
    input.placeholder = t('input');
    input.setAttribute('aria-label', t('input'));
    sendBtn.textContent = t('send');
    imageInput.placeholder = t('image_url');
    imageInput.setAttribute('aria-label', t('image_url'));
    imageSend.textContent = t('image_send');
    renderMenu();
    if (waiting) status.textContent = t('waiting');
  }

  // ------------------------------------------------------------------ state
  const visitorKey = `kefu.visitor.${channel}`;
  const pending = new Map(); // client id -> {frame, meta element}
  const seen = new Set(); // message ids shown
  let ws = null;
  let backoff = 1000;
  let waiting = false;
  let unread = 0;
  let lastIncoming = '';
  let typingTimer = 0;
  let lastTypingSent = 0;
  let menuBox = null;

  const newId = () => `w-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  const pageContext = () => {
    const p = { url: location.href.slice(0, 2048) };
    if (PAGE_TYPES.includes(page.page_type)) p.page_type = page.page_type;
    if (page.product_id) p.product_id = String(page.product_id).slice(0, 128);
    if (page.order_id) p.order_id = String(page.order_id).slice(0, 128);
    return p;
  };
  const isOpen = () => inline || !panel.hidden;

  // While waiting for a person the widget asks for its place in the queue every 10 s.
  let queueTimer = 0;
  const askQueue = () => send({ type: 'queue', id: newId() });

  function setWaiting(on) {
    const was = waiting;
    waiting = on;
    status.hidden = !on;
    status.textContent = on ? t('waiting') : '';
    if (on && !was) { askQueue(); queueTimer = setInterval(askQueue, 10000); }
    if (!on) { clearInterval(queueTimer); queueTimer = 0; }
  }

  function showQueue(f) {
    if (f.state === 'waiting' || f.state === 'left_message' || f.state === 'offered') {
      if (!waiting) setWaiting(true);
      status.hidden = false;
      status.textContent = f.state === 'offered' ? t('connecting')
        : f.state === 'left_message' ? t('left')
        : `${t('waiting')} ${t('position', f.position)}`;
    } else if (waiting) {
      setWaiting(false);
    }
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function renderMenu() {
    const box = el('div', { class: 'menu', role: 'group', 'aria-labelledby': 'kefu-menu-title' },
      el('p', { id: 'kefu-menu-title', text: t('menu') }),
      el('div', {}, ...['order', 'returns', 'product', 'faq'].map((k) =>
        el('button', { type: 'button', text: t(k), onclick: () => sendText(t(`q_${k}`)) }))));
    if (menuBox) menuBox.replaceWith(box); else log.prepend(box);
    menuBox = box;
  }

  function bubble(side, who, ...content) {
    const m = el('div', { class: `msg ${side}` }, el('span', { class: 'who', text: who }), ...content);
    log.append(m);
    scrollDown();
    return m;
  }

  const isHttpUrl = (s) => /^https?:\/\/\S+$/i.test(s || '');

  function renderCard(card) {
    if (card.kind === 'csat') return renderCsat(card);
    const box = el('div', { class: `card card-${card.kind}`, role: 'group', 'aria-label': card.title || card.kind });
    if (isHttpUrl(card.image_url)) box.append(el('img', { src: card.image_url, alt: card.title || '', loading: 'lazy' }));
    if (card.title) box.append(el('h3', { text: card.title }));
    if (card.subtitle) box.append(el('p', { class: 'sub', text: card.subtitle }));
    if (card.fields?.length) {
      const dl = el('dl');
      for (const f of card.fields) dl.append(el('dt', { text: f.label }), el('dd', { text: f.value }));
      box.append(dl);
    }
    const btns = (card.buttons || []).filter((b) => b.action);
    if (btns.length) {
      box.append(el('div', { class: 'btns' }, ...btns.map((b) =>
        el('button', { type: 'button', text: b.label, onclick: () => sendAction(b.action, b.label) }))));
    }
    return box;
  }

  // The session's CSAT card: five buttons csat:1..csat:5, shown as stars.
  function renderCsat(card) {
    const buttons = (card.buttons || []).filter((b) => b.action && /^csat:[1-5]$/.test(b.action.action));
    const group = el('div', { class: 'stars', role: 'group', 'aria-label': card.title || card.label });
    const stars = buttons.map((b, i) => el('button', {
      type: 'button', text: '★', title: b.label, 'aria-label': `${t('stars', i + 1)} ${b.label}`.trim(), 'aria-pressed': 'false',
      onclick: () => {
        stars.forEach((s, j) => { s.classList.toggle('on', j <= i); s.disabled = true; });
        stars[i].setAttribute('aria-pressed', 'true');
        sendAction(b.action, b.label);
      },
    }));
    stars.forEach((s, i) => {
      s.addEventListener('mouseenter', () => stars.forEach((x, j) => x.classList.toggle('on', j <= i)));
      s.addEventListener('mouseleave', () => stars.forEach((x) => { if (!x.disabled) x.classList.remove('on'); }));
    });
    group.append(...stars);
    return el('div', { class: 'card card-csat' }, card.title ? el('h3', { text: card.title }) : null, group);
  }

  function contentOf(m) {
    const parts = [];
    const type = m.message_type || 'text';
    if (type === 'image' && isHttpUrl(m.text)) {
      parts.push(el('div', { class: 'bubble' }, el('img', { src: m.text, alt: t('image'), loading: 'lazy' })));
    } else if (m.text) {
      parts.push(el('div', { class: 'bubble', text: m.text }));
    }
    for (const c of m.cards || []) {
      // The CSAT invitation repeats its text as the card title: say it once.
      parts.push(renderCard(c.kind === 'csat' && c.title === m.text ? { ...c, title: '', label: c.title } : c));
    }
    return parts;
  }

  function showIncoming(m) {
    if (m.message_id) {
      if (seen.has(m.message_id)) return;
      seen.add(m.message_id);
    }
    const sender = m.sender || 'bot';
    const out = bubble(sender === 'system' ? 'system' : 'them', t(sender) || sender, ...contentOf(m));
    const sugg = m.bot?.suggestions || [];
    if (sugg.length) {
      out.append(el('div', { class: 'chips', role: 'group', 'aria-label': t('suggestions') },
        ...sugg.map((s) => el('button', { class: 'chip', type: 'button', text: s, onclick: () => sendText(s) }))));
    }
    if (m.bot?.handoff) setWaiting(true);
    if (sender === 'agent') setWaiting(false);
    lastIncoming = m.message_id || lastIncoming;
    if (isOpen() && document.visibilityState === 'visible') markRead();
    else { unread += 1; showBadge(); }
    scrollDown();
  }

  function showMine(text, id, imageUrl) {
    const meta = el('span', { class: 'meta', text: id ? t('sending') : t('delivered') });
    const body = imageUrl
      ? el('div', { class: 'bubble' }, el('img', { src: imageUrl, alt: t('image') }))
      : el('div', { class: 'bubble', text });
    bubble('me', t('me'), body, meta);
    return meta;
  }

  function showBadge() {
    badge.hidden = unread === 0;
    badge.textContent = String(unread);
    badge.setAttribute('aria-label', t('unread', unread));
  }

  function markRead() {
    unread = 0;
    showBadge();
    if (lastIncoming) send({ type: 'read', message_id: lastIncoming });
  }

  // ------------------------------------------------------------------ socket
  function send(frame) {
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(frame)); return true; }
    return false;
  }

  // Every message waits in `pending` until acked; a reconnect sends it again with the same id,
  // which the gateway acknowledges without storing it twice.
  function submit(frame, meta) {
    frame.id = newId();
    frame.page = pageContext();
    pending.set(frame.id, { frame, meta });
    send(frame);
    return frame.id;
  }

  function sendText(text) {
    const s = String(text).trim().slice(0, MAX_TEXT);
    if (!s) return;
    const meta = showMine(s, true);
    submit({ type: 'message', text: s }, meta);
  }

  function sendAction(action, label) {
    const meta = showMine(label || action.action, true);
    const a = { action: action.action };
    if (action.order_id) a.order_id = action.order_id;
    if (action.product_id) a.product_id = action.product_id;
    submit({ type: 'action', text: label || '', action: a }, meta);
  }

  function sendImage(url) {
    const meta = showMine('', true, url);
    submit({ type: 'image', image_url: url }, meta);
  }

  function connect() {
    if (!channel) { status.hidden = false; status.textContent = t('no_channel'); return; }
    const q = new URLSearchParams();
    const visitor = store('get', visitorKey);
    if (token) q.set('token', token);
    else if (visitor) q.set('visitor', visitor);
    const url = `${origin.replace(/^http/, 'ws')}/v1/channels/${encodeURIComponent(channel)}/ws?${q}`;
    let opened = false;
    const sock = new WebSocket(url);
    ws = sock;
    sock.onopen = () => { opened = true; backoff = 1000; };
    sock.onmessage = (ev) => {
      let f;
      try { f = JSON.parse(ev.data); } catch { return; }
      onFrame(f);
    };
    sock.onclose = () => {
      if (ws !== sock) return;
      ws = null;
      // A refused credential (e.g. the channel secret was rotated) is dropped: start anew.
      if (!opened && !token && visitor) store('del', visitorKey);
      if (!waiting) { status.hidden = false; status.textContent = t('offline'); }
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    };
  }

  function onFrame(f) {
    switch (f.type) {
      case 'welcome':
        if (f.visitor && !token) store('set', visitorKey, f.visitor);
        if (!waiting) status.hidden = true;
        // After a reload: is this customer still waiting for a person?
        askQueue();
        break;
      case 'queue':
        showQueue(f);
        break;
      case 'history':
        // The server's history is the truth after a reconnect: redraw it, then re-send what
        // was never acknowledged.
        for (const n of [...log.children]) if (n !== menuBox) n.remove();
        seen.clear();
        for (const m of f.messages || []) {
          seen.add(m.message_id);
          if (m.direction === 'in' || m.sender === 'customer') {
            const img = m.message_type === 'image' && isHttpUrl(m.text) ? m.text : '';
            showMine(m.text, false, img);
          } else {
            bubble(m.sender === 'system' ? 'system' : 'them', t(m.sender) || m.sender, ...contentOf(m));
            lastIncoming = m.message_id;
          }
        }
        for (const { frame, meta } of pending.values()) {
          log.append(meta.closest('.msg'));
          send(frame);
        }
        scrollDown();
        break;
      case 'message':
        typingLine.textContent = '';
        showIncoming(f);
        break;
      case 'ack': {
        const p = pending.get(f.id);
        if (p) { p.meta.textContent = t('delivered'); pending.delete(f.id); }
        break;
      }
      case 'typing':
        typingLine.textContent = t('typing');
        clearTimeout(typingTimer);
        typingTimer = setTimeout(() => { typingLine.textContent = ''; }, 6000);
        break;
      case 'error': {
        const p = f.id && pending.get(f.id);
        const why = `${t('failed')}: ${f.message || f.error}`;
        if (p) { p.meta.textContent = why; p.meta.classList.add('err'); pending.delete(f.id); }
        else bubble('system', t('system'), el('div', { class: 'bubble', text: why }));
        break;
      }
      default:
        break;
    }
  }

  // ------------------------------------------------------------------ events
  function openPanel() {
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute('aria-expanded', 'true');
    input.focus();
    markRead();
    scrollDown();
  }
  function closePanel() {
    if (inline) return;
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.focus();
  }
  launcher.addEventListener('click', openPanel);
  closeBtn.addEventListener('click', closePanel);
  panel.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.stopPropagation(); closePanel(); } });
  langSel.addEventListener('change', () => { lang = langSel.value; store('set', LANG_KEY, lang); applyLang(); });
  form.addEventListener('submit', (e) => { e.preventDefault(); sendText(input.value); input.value = ''; });
  input.addEventListener('input', () => {
    const now = Date.now();
    if (now - lastTypingSent > 3000) { lastTypingSent = now; send({ type: 'typing' }); }
  });
  humanBtn.addEventListener('click', () => {
    const meta = showMine(t('human_text'), true);
    submit({ type: 'action', text: t('human_text'), action: { action: 'handoff' } }, meta);
  });
  imageBtn.addEventListener('click', () => {
    imageForm.hidden = !imageForm.hidden;
    imageBtn.setAttribute('aria-expanded', String(!imageForm.hidden));
    if (!imageForm.hidden) imageInput.focus();
  });
  imageForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const url = imageInput.value.trim();
    if (!isHttpUrl(url)) { imageInput.setCustomValidity(t('image_url')); imageInput.reportValidity(); return; }
    imageInput.setCustomValidity('');
    sendImage(url);
    imageInput.value = '';
    imageForm.hidden = true;
    imageBtn.setAttribute('aria-expanded', 'false');
  });
  document.addEventListener('visibilitychange', () => { if (isOpen() && document.visibilityState === 'visible') markRead(); });
  setInterval(() => send({ type: 'ping' }), 25000);

  window.KefuWidget = {
    setPage(p = {}) {
      if ('page_type' in p) page.page_type = p.page_type || '';
      if ('product_id' in p) page.product_id = p.product_id || '';
      if ('order_id' in p) page.order_id = p.order_id || '';
    },
    identify(newToken) { token = newToken || ''; if (ws) ws.close(); },
    open: openPanel,
    close: closePanel,
    setLanguage(l) { if (T[l]) { lang = l; store('set', LANG_KEY, l); applyLang(); } },
  };

  applyLang();
  const attach = () => { (inline && data.target && document.getElementById(data.target) || document.body).append(host); connect(); };
  if (document.body) attach(); else document.addEventListener('DOMContentLoaded', attach);
})();
