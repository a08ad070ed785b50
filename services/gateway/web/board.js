// The supervisors' board: queues (waiting, longest wait, service level against target), agents
// (status, load) and active conversations with monitor, whisper and join. Refreshed on every desk
// event (debounced) and every few seconds, for a wall screen during a peak. QA alerts (`qa.alert`
// desk events) are listed as they arrive, newest first, with monitor and join.
import {
  $, Api, deskSocket, duration, el, langSwitch, loadSession, modal, saveSession, setLang,
  signInForm, t, toast, lang,
} from './common.js';

const REFRESH_MS = 3000;
const S = { api: null, me: null, agents: [], queues: [], convs: [], whisperFor: null, alerts: [] };
/** Alerts kept on the board. */
const MAX_ALERTS = 50;

setLang(lang);
for (const s of document.querySelectorAll('.lang-select')) langSwitch(s, render);

const supervisorOnly = (a) => (['supervisor', 'admin'].includes(a.role) ? null : t('not_supervisor'));

function start(session) {
  S.api = new Api(session, () => { saveSession(null); location.reload(); });
  S.me = session.agent;
  $('#signin').hidden = true;
  $('#app').hidden = false;
  $('#me-name').textContent = S.me.display_name || S.me.login;
  deskSocket(session, onEvent, (up) => {
    $('#conn').textContent = up ? t('connected') : t('reconnecting');
    $('#conn').classList.toggle('bad', !up);
  });
  refresh();
  setInterval(refresh, REFRESH_MS);
}

$('#signout').addEventListener('click', () => { saveSession(null); location.reload(); });

function onEvent(ev) {
  if (ev.type === 'qa.alert') {
    S.alerts = [ev, ...S.alerts.filter((a) => a.alert_id !== ev.alert_id)].slice(0, MAX_ALERTS);
    toast(`${t('qa_alert')}: ${ev.rule} · ${ev.excerpt || ''}`, ev.severity === 'critical' ? 'error' : '');
    renderAlerts();
    return;
  }
  soon();
}

function renderAlerts() {
  const items = S.alerts.map((a) => {
    const act = async (what) => {
      try {
        await S.api.post(`/conversations/${encodeURIComponent(a.conversation_id)}/${what}`);
        toast(t(what === 'monitor' ? 'monitoring' : 'joined'));
        soon();
      } catch (x) { toast(`${t('err')}: ${x.message}`, 'error'); }
    };
    const agent = S.agents.find((g) => g.agent_id === a.agent_id);
    return el('li', { class: `qa-alert sev-${a.severity}` },
      el('span', { class: `pill sev-${a.severity}`, text: t(`severity_${a.severity}`) }),
      el('strong', { text: ` ${a.rule} ` }),
      el('span', { class: 'muted', text: `${agent ? agent.display_name : a.agent_id} · ${new Date(a.raised_at).toLocaleTimeString(lang)} ` }),
      el('q', { text: a.excerpt || '' }),
      el('button', { type: 'button', class: 'small', text: t('monitor'), onclick: () => act('monitor') }),
      el('button', { type: 'button', class: 'small', text: t('join'), onclick: () => act('join') }));
  });
  $('#qa-alerts').replaceChildren(...(items.length ? items : [el('li', { class: 'muted', text: t('qa_none') })]));
}

let timer = 0;
function soon() {
  clearTimeout(timer);
  timer = setTimeout(refresh, 200);
}

let inFlight = false;
async function refresh() {
  if (!S.api || inFlight) return;
  inFlight = true;
  try {
    const [q, a, c] = await Promise.all([
      S.api.get('/queues'), S.api.get('/agents'), S.api.get('/conversations?scope=active&limit=200'),
    ]);
    S.queues = q.queues;
    S.agents = a.agents;
    S.convs = c.conversations;
    $('#updated').textContent = new Date().toLocaleTimeString(lang);
    render();
  } catch (x) {
    toast(`${t('err')}: ${x.message}`, 'error');
  } finally {
    inFlight = false;
  }
}

const sinceSeconds = (iso) => (iso ? (Date.now() - new Date(iso)) / 1000 : 0);

function render() {
  renderAlerts();
  $('#queues').replaceChildren(...S.queues.map(queueTile));
  $('#agents tbody').replaceChildren(...S.agents.filter((a) => a.role !== 'admin').map(agentRow));
  $('#convs tbody').replaceChildren(...(S.convs.length ? S.convs.map(convRow) : [el('tr', {}, el('td', { colspan: '5', class: 'muted', text: t('empty') }))]));
}

function queueTile(q) {
  // No answered conversation yet means no service level to judge.
  const breach = q.service_level_percent < q.sla_target_percent && q.active + q.waiting > 0;
  const waitBreach = q.longest_wait_seconds > q.sla_within_seconds;
  const stat = (label, value, cls = '') => el('div', { class: `stat ${cls}` }, el('div', { class: 'num', text: value }), el('div', { class: 'label', text: label }));
  return el('article', { class: `queue-tile${breach || waitBreach ? ' breach' : ''}`, 'aria-label': `${t('queue')} ${q.name}` },
    el('h3', { text: `${q.name}${q.merchant_id ? ` · ${q.merchant_id}` : ''}` }),
    el('div', { class: 'stats' },
      stat(t('waiting_n'), String(q.waiting), q.waiting > 0 ? 'warn' : ''),
      stat(t('longest'), duration(q.longest_wait_seconds), waitBreach ? 'bad' : ''),
      stat(t('sla'), `${Math.round(q.service_level_percent)}%`, breach ? 'bad' : 'good'),
      stat(t('active_n'), String(q.active)),
      stat(t('online_agents'), String(q.agents_online)),
      stat(t('free'), String(q.free_slots))),
    el('p', { class: 'target' }, `${t('target')} ${q.sla_target_percent}% / ${duration(q.sla_within_seconds)}`,
      breach ? el('strong', { class: 'bad-text', text: ` · ${t('sla_breach')}` }) : null));
}

function agentRow(a) {
  const load = Object.values(a.load || {}).reduce((s, n) => s + n, 0);
  const cap = (a.capacity || {}).web ?? (a.capacity || {})['*'] ?? 0;
  return el('tr', {},
    el('th', { scope: 'row', text: a.display_name || a.login }),
    el('td', {}, el('span', { class: `pill st-${a.status}`, text: t(a.status) })),
    el('td', { class: 'num-cell', text: `${load} / ${cap}` }),
    el('td', { text: a.status_since ? duration(sinceSeconds(a.status_since)) : '' }));
}

function convRow(w) {
  const id = w.conversation?.conversation_id;
  const who = w.customer_name || (w.conversation?.customer_id || '').slice(0, 8);
  const agent = S.agents.find((a) => a.agent_id === w.agent_id);
  const act = async (what) => {
    try {
      await S.api.post(`/conversations/${encodeURIComponent(id)}/${what}`);
      toast(t(what === 'monitor' ? 'monitoring' : 'joined'));
      soon();
    } catch (x) { toast(`${t('err')}: ${x.message}`, 'error'); }
  };
  const watching = w.monitors?.includes(S.me.agent_id);
  const inIt = w.participants?.includes(S.me.agent_id);
  return el('tr', {},
    el('th', { scope: 'row', text: `${who}${w.tier ? ` · ${w.tier}` : ''}` }),
    el('td', { text: w.queue }),
    el('td', { text: agent ? agent.display_name : w.agent_id }),
    el('td', { text: duration(sinceSeconds(w.accepted_at || w.offered_at)) }),
    el('td', { class: 'actions' },
      el('button', { type: 'button', class: 'small', disabled: watching, text: watching ? t('monitoring') : t('monitor'), 'aria-label': `${t('monitor')} ${who}`, onclick: () => act('monitor') }),
      el('button', { type: 'button', class: 'small', text: t('whisper'), 'aria-label': `${t('whisper')} ${who}`, onclick: () => openWhisper(id) }),
      el('button', { type: 'button', class: 'small', disabled: inIt, text: inIt ? t('joined') : t('join'), 'aria-label': `${t('join')} ${who}`, onclick: () => act('join') })));
}

const whisperDlg = modal($('#whisper-dlg'));
for (const b of document.querySelectorAll('dialog [data-close]')) b.addEventListener('click', () => b.closest('dialog').close());
function openWhisper(id) {
  S.whisperFor = id;
  $('#whisper-form').reset();
  $('.form-error', $('#whisper-form')).textContent = '';
  whisperDlg.open();
}
$('#whisper-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = String(new FormData(e.target).get('text')).trim();
  try {
    await S.api.post(`/conversations/${encodeURIComponent(S.whisperFor)}/whisper`, { text });
    whisperDlg.close();
  } catch (x) {
    $('.form-error', e.target).textContent = `${x.message}${x.field ? ` (${x.field})` : ''}`;
  }
});

// Last: everything above is defined.
const existing = loadSession();
if (existing && !supervisorOnly(existing.agent)) start(existing);
else signInForm($('#signin-form'), supervisorOnly).then(start);
