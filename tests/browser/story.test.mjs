// The whole story in a real browser (headless Chromium), one browser with three people in it:
// a shopper on the demo product page asks the bot, then for a person; the supervisor's board
// shows the wait; the agent goes online, sees the handoff with its reason and transcript,
// accepts, answers with a canned response and an order card; the shopper sees both and presses
// a card button; the board shows the agent's load; the agent closes; the shopper rates 5 stars.
// Run by scripts/browser-test.sh, which starts kefu dev and sets KEFU_URL, CHROMIUM, ARTIFACTS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.KEFU_URL;
const ARTIFACTS = process.env.ARTIFACTS || 'target/browser-artifacts';
const PASSWORD = 'kefu-demo-2026';
// Routing decides every 200 ms and the bot answers in milliseconds; these allow a slow CI.
const WAIT = 20_000;

if (!BASE) {
  console.error('KEFU_URL is not set: run this through scripts/browser-test.sh');
  process.exit(2);
}

const shots = [];
async function shot(page, name) {
  const file = path.join(ARTIFACTS, `${String(shots.length + 1).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  shots.push(file);
}

/** Waits until `locator` is visible; the error says what the user should have seen. */
async function see(locator, what) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout: WAIT });
  } catch {
    throw new Error(`expected to see ${what} within ${WAIT / 1000} s`);
  }
  return locator.first();
}

/** Polls `read` until `ok(value)`; the error shows the last value. */
async function until(read, ok, what) {
  const end = Date.now() + WAIT;
  let last;
  while (Date.now() < end) {
    last = await read().catch((e) => `(${e.message})`);
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`expected ${what}; last seen: ${JSON.stringify(last)}`);
}

async function signIn(page, url, login) {
  await page.goto(`${BASE}${url}`);
  await page.getByLabel('账号', { exact: true }).fill(login);
  await page.getByLabel('密码', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: '登录' }).click();
}

test('customer, agent and supervisor: from the bot to a person to a 5-star rating', { timeout: 120_000 }, async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox'],
  });
  const errors = [];
  const pages = [];
  const context = async (who) => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 }, locale: 'zh-CN' });
    const page = await ctx.newPage();
    // A blocked script or style (CSP) or a script error fails the story.
    page.on('pageerror', (e) => errors.push(`${who}: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`${who} console: ${m.text()}`);
    });
    page.on('response', (r) => { if (r.status() >= 400) errors.push(`${who}: HTTP ${r.status()} ${r.url()}`); });
    pages.push([who, page]);
    return page;
  };
  try {
    const shopper = await context('shopper');
    const agent = await context('agent');
    const boss = await context('supervisor');

    // The board, before anything happens.
    await signIn(boss, '/board', 'zhao');
    const platform = boss.getByRole('article', { name: '队列 platform' });
    await see(platform, 'the platform queue on the board');
    await shot(boss, 'board-signed-in');

    // The shopper on the demo product page opens the widget and asks from the menu.
    await shopper.goto(`${BASE}/demo/shop/product/ring-7`);
    await see(shopper.getByRole('heading', { name: /足金素圈戒指/ }), 'the product page');
    await shopper.getByRole('button', { name: '联系客服' }).click();
    const chat = shopper.getByRole('dialog', { name: '在线客服' });
    await see(chat, 'the chat panel');
    await see(chat.getByRole('group', { name: '您想咨询什么？' }), 'the consultation menu');
    await shot(shopper, 'widget-open');
    await chat.getByRole('button', { name: '常见问题' }).click();
    await see(chat.getByText('一般几天能到'), 'the question sent');
    await see(chat.getByText(/江浙沪地区一般1-2天送达/), "the bot's answer");
    await see(chat.getByText('已送达'), 'the question acknowledged (delivered)');
    await shot(shopper, 'widget-bot-answer');

    // A reload reconnects with the stored identity and draws the history again.
    await shopper.reload();
    await shopper.getByRole('button', { name: '联系客服' }).click();
    await see(chat.getByText(/江浙沪地区一般1-2天送达/), 'the history after a reconnect');
    await see(chat.locator('.msg.me').getByText('一般几天能到'), "the shopper's own question on their side after a reconnect");

    // Talk to a person: nobody is online yet, so the shopper waits.
    await chat.getByRole('button', { name: '转人工' }).click();
    await see(chat.getByRole('status').filter({ hasText: '正在为您转接人工客服' }), 'the waiting notice');
    await see(chat.getByRole('status').filter({ hasText: '您当前排在第 1 位' }), 'the place in the queue');
    await shot(shopper, 'widget-waiting');

    // The board shows the waiting conversation.
    await until(() => platform.locator('.stat .num').first().textContent(), (v) => v === '1', 'one waiting on the platform queue');
    await shot(boss, 'board-waiting');

    // The agent signs in and goes online; the conversation is offered with its context.
    await signIn(agent, '/desk', 'lin');
    await see(agent.getByRole('heading', { name: '客服工作台' }), 'the workbench');
    await agent.getByLabel('状态').selectOption('online');
    const accept = await see(agent.getByRole('button', { name: /^接入/ }), 'the accept button of the offer');
    await see(agent.locator('#handoff-reason').filter({ hasText: /转人工|人工/ }), 'the handoff reason');
    await see(agent.locator('#transcript').getByText('一般几天能到'), 'the bot transcript');
    await see(agent.locator('#transcript').getByText(/江浙沪/), "the bot's answer in the transcript");
    const offerItem = agent.locator('#list').getByRole('button', { name: /李雷.*待接入/ });
    await see(offerItem, 'the offer in the "mine" list');
    await until(() => offerItem.locator('.countdown').textContent(), (v) => /^\d+s$/.test(v), "the offer's countdown in the list");
    assert.match(await accept.textContent(), /剩 \d+ 秒/, 'the offer shows its countdown');
    await until(() => agent.getByLabel('状态').inputValue(), (v) => v === 'online', 'the status still online');
    await shot(agent, 'desk-offer');

    // Accept with the keyboard shortcut.
    await agent.keyboard.press('Alt+A');
    await see(agent.locator('#conv-state').filter({ hasText: '进行中' }), 'the conversation active');
    const customer = agent.getByRole('complementary', { name: '客户与快捷回复' });
    await see(customer.getByText('李雷'), "the customer's name in the customer panel");
    await see(customer.getByText('D20261112002'), "the customer's recent orders");
    await see(customer.getByText('gold'), "the customer's tier");

    // Typing shows on the other side, both ways.
    const replyBox = agent.getByRole('textbox', { name: '回复' });
    await replyBox.pressSequentially('请稍');
    await see(chat.getByText('对方正在输入…'), "the agent's typing in the widget");
    await replyBox.fill('');
    const question = chat.getByRole('textbox', { name: '请输入您的问题' });
    await question.pressSequentially('好的');
    await see(agent.locator('#customer-signal').filter({ hasText: '客户正在输入' }), "the shopper's typing on the workbench");
    await question.fill('');

    // A canned response found by its shortcut, sent with Ctrl+Enter.
    await agent.getByRole('searchbox', { name: '搜索快捷回复' }).fill('/hello');
    await agent.getByRole('button', { name: /使用 \/hello/ }).click();
    await agent.getByRole('textbox', { name: '回复' }).press('Control+Enter');
    await see(agent.locator('#messages .m-agent').getByText(/很高兴为您服务/), 'the canned reply in the log');
    // An order card from the customer's recent orders.
    await agent.getByRole('button', { name: '发送订单卡片 D20261112002' }).click();
    await see(agent.locator('#messages .mini-card').getByText(/查物流/), 'the order card in the log');
    await shot(agent, 'desk-replied');

    // The shopper sees both and presses the card's button.
    await see(chat.getByText(/您好，我是人工客服，很高兴为您服务/), 'the canned reply in the widget');
    const card = chat.getByRole('group', { name: /鲜牛奶/ });
    await see(card, 'the order card in the widget');
    await until(() => chat.getByRole('status').isVisible(), (v) => v === false, 'the waiting notice gone once the agent answered');
    await shot(shopper, 'widget-agent-reply');
    await card.getByRole('button', { name: '查物流' }).click();
    await see(agent.locator('#messages .m-customer').getByText('查物流'), "the card button's action reaching the agent");

    // The board shows the agent's load while the conversation is active.
    const linRow = boss.getByRole('row', { name: /林晓/ });
    await until(() => linRow.locator('.num-cell').textContent(), (v) => /^1 \/ \d+$/.test(v), "lin's load of 1 on the board");
    await see(boss.locator('#convs').getByRole('button', { name: /监听/ }), 'the active conversation with its monitor button');
    await shot(boss, 'board-active');

    // The supervisor monitors and whispers; the agent writes an internal note. Neither reaches
    // the shopper.
    await boss.getByRole('button', { name: '监听 李雷' }).click();
    await see(boss.getByRole('button', { name: '监听 李雷' }).filter({ hasText: '监听中' }), 'monitoring on');
    await boss.getByRole('button', { name: '密语 李雷' }).click();
    const whisper = boss.getByRole('dialog', { name: '密语' });
    await whisper.getByRole('textbox').fill('先确认收货地址');
    await whisper.getByRole('button', { name: '发送' }).click();
    await see(agent.locator('#messages .m-internal').getByText('先确认收货地址'), 'the whisper on the workbench');
    await agent.getByRole('radio', { name: '内部备注' }).check();
    await agent.getByRole('textbox', { name: '回复' }).fill('客户很急，优先处理');
    await agent.getByRole('textbox', { name: '回复' }).press('Control+Enter');
    await see(agent.locator('#messages .m-internal').getByText('客户很急，优先处理'), 'the internal note on the workbench');
    await agent.getByRole('radio', { name: '回复' }).check();
    await shot(agent, 'desk-whisper-note');

    // The agent closes with a summary and tags (Alt+C opens the dialog).
    await agent.keyboard.press('Alt+C');
    const dlg = agent.getByRole('dialog', { name: '结束会话' });
    await see(dlg, 'the close dialog');
    await dlg.getByLabel('小结').fill('客户咨询配送时效，已发送订单卡片');
    await dlg.getByLabel('标签').fill('配送, 物流');
    await dlg.getByRole('button', { name: '确认结束' }).click();
    await see(agent.locator('#conv-state').filter({ hasText: '已结束' }), 'the conversation closed');

    // The shopper rates five stars.
    const stars = chat.getByRole('group', { name: /评价|评分|满意/ });
    await see(stars, 'the CSAT stars');
    await shot(shopper, 'widget-csat');
    await stars.getByRole('button', { name: /^5 星/ }).click();
    await see(chat.getByText('感谢您的评价！'), 'the thanks for the rating');
    for (const secret of ['先确认收货地址', '客户很急']) {
      assert.equal(await chat.getByText(secret).count(), 0, `the shopper must not see "${secret}"`);
    }
    await shot(shopper, 'widget-rated');
    await see(agent.locator('#conv-state').filter({ hasText: '★★★★★' }), 'the 5-star rating on the workbench');
    await agent.getByRole('tab', { name: /已结束/ }).click();
    await see(agent.locator('#list').getByText(/评分 5/), 'the rated conversation in the closed list');
    await shot(agent, 'desk-closed-rated');

    // The standalone (H5) chat page: the same widget filling the page, for a new visitor.
    const h5 = await shopper.context().newPage();
    await h5.goto(`${BASE}/chat?channel=demo-web`);
    const h5chat = h5.getByRole('region', { name: '在线客服' });
    await see(h5chat.getByRole('group', { name: '您想咨询什么？' }), 'the consultation menu on the H5 page');
    await see(h5chat.getByRole('textbox', { name: '请输入您的问题' }), 'the message box on the H5 page');
    await shot(h5, 'chat-h5');
    await h5chat.getByRole('combobox', { name: '语言' }).selectOption('en');
    await see(h5.getByRole('region', { name: 'Customer service' }).getByRole('group', { name: 'What can we help with?' }), 'the widget in English');
    await h5.close();

    // The help overlay, then English, remembered across a reload.
    await agent.keyboard.press('?');
    const help = agent.getByRole('dialog', { name: '快捷键' });
    await see(help, 'the shortcut help');
    await shot(agent, 'desk-help');
    await agent.keyboard.press('Escape');
    await until(() => help.isVisible(), (v) => v === false, 'Escape to close the help');
    await agent.getByRole('combobox', { name: '语言' }).selectOption('en');
    await see(agent.getByRole('heading', { name: 'Agent workbench' }), 'the workbench in English');
    await agent.reload();
    await see(agent.getByRole('heading', { name: 'Agent workbench' }), 'English remembered after a reload');
    await until(() => agent.getByLabel('Status').inputValue(), (v) => v === 'online', 'still online after a reload');
    await shot(agent, 'desk-english');

    assert.deepEqual(errors, [], 'no script errors or blocked resources');
  } catch (e) {
    // What each person saw when it failed.
    for (const [who, page] of pages) await shot(page, `failure-${who}`).catch(() => {});
    throw e;
  } finally {
    await browser.close();
    console.log(`screenshots (${shots.length}):\n${shots.map((s) => `  ${s}`).join('\n')}`);
  }
});
