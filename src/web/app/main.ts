/**
 * The KeyPears web app (docs/web.md): every key is made and kept in this browser, sealed under
 * the user's passphrase; the node that served the page sees public keys and signed requests
 * only, as with the CLI. Screens: welcome (create or import), unlock, register, and the home
 * screen with exchanges, verification and keys.
 */
import { z } from 'zod';
import { parseAddress } from '../../protocol/address.js';
import { ed25519PublicKey } from '../../protocol/crypto.js';
import { fromB64u, toHex } from '../../protocol/encoding.js';
import { isSettled, type ExchangeStatus, type ExchangeView } from '../../protocol/exchange-api.js';
import { isKeyPearsError } from '../../protocol/errors.js';
import { identityFingerprint, safetyNumber } from '../../protocol/fingerprint.js';
import { registerAccount, topUpPrekeys } from '../../sdk/account.js';
import { acceptContactKey, markVerified } from '../../sdk/contacts.js';
import {
  acceptExchange,
  applyRetention,
  exchangeSecret,
  forgetExchange,
  startExchange,
  waitForExchange,
  type ExchangeSummary,
} from '../../sdk/exchange.js';
import { createKeystore, DEFAULT_ONE_TIME_PREKEYS } from '../../sdk/identity.js';
import { busy, field, h, heading, replace, type Child } from './dom.js';
import { qrSvg } from './qr.js';
import { loadNode, Session, type NodeInfo } from './session.js';
import { deleteKeystoreDocument } from './storage.js';
import { checkNewPassphrase, importDocument, storedHeader, storeNew, unlock, type KeystoreHeader } from './vault.js';
import { explain } from './words.js';

// The page's policy allows no eval: zod validates without compiling its schemas.
z.config({ jitless: true });

const root = document.getElementById('app') as HTMLElement;
const who = document.getElementById('who') as HTMLElement;
const noticeBox = document.getElementById('notice') as HTMLElement;

/** Below this many one-time prekeys of either kind, the app tops up when it unlocks. */
const LOW_PREKEYS = 20;
/** Each long poll waits this long at the node for a change. */
const POLL_SECONDS = 25;

// --- Notices ------------------------------------------------------------------------------

function notice(kind: 'error' | 'info', text: string, code?: string, detail?: string): void {
  noticeBox.className = kind === 'info' ? 'notice info' : 'notice';
  noticeBox.setAttribute('role', kind === 'info' ? 'status' : 'alert');
  const dismiss = h('button', { type: 'button', class: 'secondary', 'aria-label': 'Dismiss this message' }, '×');
  dismiss.addEventListener('click', () => replace(noticeBox));
  replace(
    noticeBox,
    dismiss,
    h('span', {}, text),
    code ? h('span', { class: 'code' }, ` (code: `, h('code', { 'data-testid': 'error-code' }, code), ')') : null,
    detail ? h('details', {}, h('summary', {}, 'Details'), h('p', { class: 'mono' }, detail)) : null,
  );
}

const showError = (error: unknown): void => {
  const { text, code, detail } = explain(error);
  notice('error', text, code, detail);
};
const info = (text: string): void => notice('info', text);
const clearNotice = (): void => replace(noticeBox);

/** Runs a button's action: clears the last notice, disables the button meanwhile, shows any error. */
function action(button: HTMLButtonElement, label: string, work: () => Promise<void>): void {
  clearNotice();
  busy(button, label, work).catch(showError);
}

/** Shows a screen and moves the focus to its heading. */
function show(...children: Child[]): void {
  replace(root, ...children);
  (root.querySelector('h1') ?? root).focus();
}

// --- Boot -----------------------------------------------------------------------------------

async function boot(): Promise<void> {
  let node: NodeInfo;
  try {
    node = await loadNode();
  } catch (e) {
    show(heading('This node cannot be used'), h('p', {}, explain(e).text));
    showError(e);
    return;
  }
  try {
    const stored = await storedHeader();
    if (stored) showUnlock(node, stored.text, stored.header);
    else showWelcome(node);
  } catch (e) {
    showError(e);
    showWelcome(node);
  }
}

// --- Welcome: create or import ---------------------------------------------------------------

function showWelcome(node: NodeInfo): void {
  who.textContent = '';
  const local = h('input', { type: 'text', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false' });
  const domain =
    node.domains.length > 1
      ? h('select', { 'aria-label': 'Domain' }, ...node.domains.map((d) => h('option', { value: d }, d)))
      : h('span', { class: 'mono' }, node.domains[0] ?? '');
  local.id = 'new-name';
  const pass = h('input', { type: 'password', id: 'new-passphrase', autocomplete: 'new-password' });
  const again = h('input', { type: 'password', id: 'new-passphrase-again', autocomplete: 'new-password' });
  const create = h('button', { type: 'submit' }, 'Create my identity');
  const form = h(
    'form',
    { novalidate: true },
    h('h2', {}, 'Create an identity'),
    h(
      'div',
      {},
      h('label', { for: local.id }, 'Your name on this node'),
      h('div', { class: 'address-row' }, local, '@', domain),
    ),
    h(
      'p',
      { class: 'hint' },
      'Letters, digits and . _ - + only. This becomes your address, which others use to reach you.',
    ),
    field(
      'Passphrase',
      pass,
      'It protects your keys in this browser. It cannot be recovered: write it down somewhere safe.',
    ),
    field('Passphrase again', again),
    create,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosenDomain = domain instanceof HTMLSelectElement ? domain.value : (node.domains[0] ?? '');
    action(create, 'Protecting your keys…', async () => {
      const address = parseAddress(`${local.value.trim()}@${chosenDomain}`).canonical;
      checkNewPassphrase(pass.value, again.value);
      const ks = createKeystore(address, node.baseUrl, unixNow());
      const unlocked = await storeNew(ks, pass.value);
      startSession(new Session(node, unlocked));
    });
  });

  const file = h('input', { type: 'file', id: 'import-file', accept: '.json,application/json' });
  const importButton = h('button', { type: 'button', class: 'secondary' }, 'Import');
  importButton.addEventListener('click', () =>
    action(importButton, 'Reading…', async () => {
      const chosen = file.files?.[0];
      if (!chosen) throw new Error('Choose your keystore file first.');
      const text = await chosen.text();
      const header = await importDocument(text, node.baseUrl);
      showUnlock(node, text, header);
      info(`Keystore of ${header.address} imported. Enter its passphrase to unlock it.`);
    }),
  );
  show(
    heading('Welcome to KeyPears'),
    h(
      'p',
      {},
      'KeyPears lets you agree on a secret key with someone on another server. Your keys are made in this browser and never leave it; ',
      `the node at ${node.baseUrl} only carries public keys and signed messages.`,
    ),
    h('section', {}, form),
    h(
      'section',
      {},
      h('h2', {}, 'Already have a keystore?'),
      field(
        'Keystore file (keystore.json)',
        file,
        'A keystore exported from this app or from the keypears command line.',
      ),
      importButton,
    ),
  );
}

// --- Unlock --------------------------------------------------------------------------------

function showUnlock(node: NodeInfo, text: string, header: KeystoreHeader): void {
  who.textContent = header.address;
  const plain = header.version === 1;
  const pass = h('input', { type: 'password', id: 'unlock-passphrase', autocomplete: 'current-password' });
  const again = h('input', { type: 'password', id: 'unlock-passphrase-again', autocomplete: 'new-password' });
  const go = h('button', { type: 'submit' }, plain ? 'Protect and unlock' : 'Unlock');
  const form = h(
    'form',
    { novalidate: true },
    plain
      ? [
          h('p', {}, 'This keystore is not encrypted yet. Choose a passphrase to protect it in this browser.'),
          field('New passphrase', pass),
          field('New passphrase again', again),
        ].reduce<DocumentFragment>((f, n) => (f.append(n), f), document.createDocumentFragment())
      : header.emptyPassphrase
        ? h('p', {}, 'This keystore has no passphrase: anyone using this browser can unlock it.')
        : field('Passphrase', pass),
    go,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    action(go, 'Unlocking…', async () => {
      if (plain) checkNewPassphrase(pass.value, again.value);
      try {
        startSession(new Session(node, await unlock(text, header, pass.value)));
      } catch (e) {
        pass.value = '';
        pass.focus();
        throw e;
      }
    });
  });
  const other = h('button', { type: 'button', class: 'danger' }, 'Remove this identity from this browser');
  other.addEventListener('click', () => {
    if (!confirm(`Remove ${header.address} from this browser? Without a backup of its keystore it is gone for good.`)) {
      return;
    }
    action(other, 'Removing…', async () => {
      await deleteKeystoreDocument();
      showWelcome(node);
    });
  });
  show(
    heading('Unlock your identity'),
    h(
      'section',
      {},
      h('p', {}, 'Address: ', h('strong', { 'data-testid': 'unlock-address' }, header.address)),
      header.identityKey
        ? h('p', {}, 'Fingerprint: ', h('span', { class: 'mono' }, identityFingerprint(header.identityKey)))
        : null,
      form,
    ),
    h('section', {}, h('h2', {}, 'Someone else?'), other),
  );
}

// --- Register ------------------------------------------------------------------------------

function startSession(session: Session): void {
  who.textContent = session.ks.address;
  // The retention setting (docs/keystore.md), as the CLI applies it when it opens a keystore.
  if (applyRetention(session.ks, unixNow()).length > 0) session.save().catch(showError);
  if (session.ks.registeredAt === undefined) showRegister(session);
  else showHome(session);
}

function showRegister(session: Session): void {
  const invite = h('input', { type: 'text', id: 'invite', autocomplete: 'off', spellcheck: 'false' });
  const go = h('button', { type: 'submit' }, 'Register');
  const form = h(
    'form',
    { novalidate: true },
    field(
      'Invite code (if this node gave you one)',
      invite,
      'Some nodes accept new people only with an invite from their operator.',
    ),
    go,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    action(go, 'Registering…', async () => {
      try {
        await registerAccount(session.ctx, invite.value.trim() || undefined);
      } catch (e) {
        if (isKeyPearsError(e) && (e.code === 'invite_required' || e.code === 'invalid_invite')) invite.focus();
        throw e;
      }
      go.textContent = 'Making your one-time keys…';
      await topUpPrekeys(session.ctx, DEFAULT_ONE_TIME_PREKEYS);
      showHome(session);
      info(`${session.ks.address} is registered. You can now exchange keys.`);
    });
  });
  show(
    heading('Register on this node'),
    h(
      'section',
      {},
      h(
        'p',
        {},
        'Your address is ',
        h('strong', {}, session.ks.address),
        '. Registering publishes your public keys on ',
        session.node.baseUrl,
        '.',
      ),
      form,
    ),
  );
}

// --- Home ------------------------------------------------------------------------------------

type Tab = 'exchanges' | 'verify' | 'keys';

function showHome(session: Session): void {
  const panels: Record<Tab, HTMLElement> = {
    exchanges: exchangesPanel(session),
    verify: verifyPanel(session),
    keys: keysPanel(session),
  };
  const labels: Record<Tab, string> = { exchanges: 'Exchanges', verify: 'Verify a contact', keys: 'Keys and backup' };
  const buttons = (Object.keys(panels) as Tab[]).map((tab) => {
    const b = h('button', { type: 'button', 'aria-controls': `panel-${tab}` }, labels[tab]);
    b.addEventListener('click', () => select(tab));
    return b;
  });
  const lock = h('button', { type: 'button', class: 'secondary' }, 'Lock');
  lock.addEventListener('click', () =>
    action(lock, 'Locking…', async () => {
      await session.lock();
      location.reload();
    }),
  );
  const select = (tab: Tab) => {
    for (const [i, t] of (Object.keys(panels) as Tab[]).entries()) {
      panels[t].hidden = t !== tab;
      if (t === tab) buttons[i].setAttribute('aria-current', 'page');
      else buttons[i].removeAttribute('aria-current');
    }
  };
  for (const [tab, panel] of Object.entries(panels)) panel.id = `panel-${tab}`;
  show(
    heading(`Hello, ${session.ks.address}`),
    h('nav', { class: 'tabs', 'aria-label': 'Sections' }, ...buttons, lock),
    ...Object.values(panels),
  );
  select('exchanges');
  void topUpIfLow(session);
}

async function topUpIfLow(session: Session): Promise<void> {
  try {
    const status = await session.client.getAccount();
    if (Math.min(status.oneTimePrekeys, status.pqOneTimePrekeys) < LOW_PREKEYS) {
      await topUpPrekeys(session.ctx, DEFAULT_ONE_TIME_PREKEYS);
    }
  } catch (e) {
    showError(e);
  }
}

const unixNow = (): number => Math.floor(Date.now() / 1000);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// --- Safety numbers ------------------------------------------------------------------------

/** The safety number of the user and `peer` as groups of digits, and as a QR code of its 60 digits. */
function safetyBlock(session: Session, peer: string, peerKey: Uint8Array, testId: string): HTMLElement {
  const number = safetyNumber(
    { address: session.ks.address, identityKey: ed25519PublicKey(session.ks.identitySecretKey) },
    { address: peer, identityKey: peerKey },
  );
  const groups = number.split(' ');
  return h(
    'div',
    {},
    h(
      'p',
      { class: 'hint' },
      `Safety number with ${peer}. Compare it with theirs, in person or on a call: if every digit matches, no one is in between.`,
    ),
    h(
      'div',
      {
        class: 'safety',
        'data-testid': testId,
        'data-safety-number': number,
        role: 'group',
        'aria-label': `Safety number: ${number}`,
      },
      ...groups.map((g) => h('span', {}, g)),
    ),
    qrSvg(groups.join(''), `QR code of the safety number with ${peer}`),
  );
}

// --- Verify ----------------------------------------------------------------------------------

/** An address field and a button that resolves it through this node; `found` receives the result. */
function lookupForm(
  session: Session,
  id: string,
  buttonLabel: string,
  found: (address: string, identityKey: Uint8Array, fingerprint: string) => void,
): HTMLFormElement {
  const input = h('input', {
    type: 'text',
    id,
    autocomplete: 'off',
    autocapitalize: 'none',
    spellcheck: 'false',
    inputmode: 'email',
  });
  const go = h('button', { type: 'submit' }, buttonLabel);
  const form = h('form', { novalidate: true }, field('Their address', input, 'For example bob@example.com.'), go);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    action(go, 'Looking up…', async () => {
      const address = parseAddress(input.value.trim()).canonical;
      const { identity } = await session.client.resolve(address);
      found(address, identity.identityKey, identity.fingerprint);
    });
  });
  return form;
}

function verifyPanel(session: Session): HTMLElement {
  const result = h('div', { 'aria-live': 'polite' });
  const show = (address: string, key: Uint8Array, fingerprint: string) => {
    const contact = session.ks.contacts?.get(address);
    const changed =
      contact?.changedKey !== undefined || (contact !== undefined && toHex(contact.identityKey) !== toHex(key));
    const state = h(
      'p',
      { 'data-testid': 'contact-state' },
      changed
        ? 'Their key is not the one from your first exchange: the safety number changed. Compare the new one with them before you accept it.'
        : contact?.verifiedAt !== undefined
          ? `You compared this safety number on ${new Date(contact.verifiedAt * 1000).toLocaleString()}.`
          : 'You have not compared this safety number yet.',
    );
    const buttons: HTMLButtonElement[] = [];
    if (changed) {
      const accept = h('button', { type: 'button', class: 'danger' }, 'It is theirs: accept the new key');
      accept.addEventListener('click', () =>
        action(accept, 'Accepting…', async () => {
          acceptContactKey(session.ks, address, unixNow());
          await session.save();
          show(address, key, fingerprint);
        }),
      );
      buttons.push(accept);
    } else {
      const verified = h('button', { type: 'button', class: 'secondary' }, 'We compared it: mark as verified');
      verified.addEventListener('click', () =>
        action(verified, 'Saving…', async () => {
          markVerified(session.ks, address, key, unixNow());
          await session.save();
          show(address, key, fingerprint);
        }),
      );
      buttons.push(verified);
    }
    replace(
      result,
      h('p', {}, h('strong', {}, address), ' — identity fingerprint ', h('span', { class: 'mono' }, fingerprint)),
      safetyBlock(session, address, key, 'verify-safety-number'),
      state,
      ...buttons,
    );
  };
  const form = lookupForm(session, 'verify-address', 'Show safety number', show);
  return h(
    'section',
    {},
    h('h2', {}, 'Verify a contact'),
    h('p', { class: 'hint' }, 'Look up someone’s address to see the safety number you share with them.'),
    form,
    result,
  );
}

// --- Keys and backup -------------------------------------------------------------------------

function keysPanel(session: Session): HTMLElement {
  const counts = h('p', { 'aria-live': 'polite', 'data-testid': 'prekey-counts' }, 'Checking…');
  const refresh = async () => {
    const s = await session.client.getAccount();
    counts.textContent = `Your node holds ${s.oneTimePrekeys} one-time keys and ${s.pqOneTimePrekeys} post-quantum one-time keys for you (at most ${s.maxOneTimePrekeys} of each). Each incoming exchange uses one of each.`;
  };
  refresh().catch(showError);
  const topUp = h('button', { type: 'button' }, 'Top up one-time keys');
  topUp.addEventListener('click', () =>
    action(topUp, 'Making keys…', async () => {
      const result = await topUpPrekeys(session.ctx, DEFAULT_ONE_TIME_PREKEYS);
      await refresh();
      info(
        result.uploadedOneTimePrekeys + result.uploadedPqOneTimePrekeys === 0
          ? 'Your node already holds enough one-time keys.'
          : `Published ${result.uploadedOneTimePrekeys} + ${result.uploadedPqOneTimePrekeys} new one-time keys.`,
      );
    }),
  );
  const exportButton = h('button', { type: 'button', class: 'secondary' }, 'Download keystore backup');
  exportButton.addEventListener('click', () =>
    action(exportButton, 'Preparing…', async () => {
      const stored = await storedHeader();
      if (!stored) throw new Error('No keystore is stored in this browser.');
      const url = URL.createObjectURL(new Blob([stored.text], { type: 'application/json' }));
      const link = h('a', { href: url, download: 'keystore.json' });
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      info('Downloaded keystore.json: it is encrypted under your passphrase. The keypears command line opens it too.');
    }),
  );
  return h(
    'section',
    {},
    h('h2', {}, 'Your keys'),
    h(
      'p',
      {},
      'Identity fingerprint: ',
      h(
        'span',
        { class: 'mono', 'data-testid': 'own-fingerprint' },
        identityFingerprint(ed25519PublicKey(session.ks.identitySecretKey)),
      ),
    ),
    counts,
    topUp,
    h('h2', {}, 'Backup'),
    h(
      'p',
      { class: 'hint' },
      'The backup is your keystore, sealed under your passphrase. Keep it somewhere safe: without it and the passphrase, this identity cannot be recovered.',
    ),
    exportButton,
  );
}

// --- Exchanges -------------------------------------------------------------------------------

const STATUS_WORDS: Record<ExchangeStatus, (role: ExchangeSummary['role']) => string> = {
  pending: () => 'Sending to their node…',
  delivered: (role) => (role === 'initiator' ? 'Waiting for them to accept' : 'Accepting…'),
  confirmed: () => 'Confirmed: you both hold the same secret',
  failed: () => 'Failed',
  expired: () => 'Expired',
};

function exchangesPanel(session: Session): HTMLElement {
  const mine = h('ul', { class: 'list', 'aria-live': 'polite', 'data-testid': 'exchanges' });
  const incoming = h('ul', { class: 'list', 'aria-live': 'polite', 'data-testid': 'incoming' });
  const emptyMine = h('p', { class: 'hint' }, 'No exchanges yet.');
  const emptyIncoming = h('p', { class: 'hint' }, 'No one is waiting for you.');
  const rows = new Map<string, HTMLLIElement>();
  /** Peer identity keys by exchange id, as the node verified them (for responders' safety numbers). */
  const peerKeys = new Map<string, Uint8Array>();
  const following = new Set<string>();

  const peerKeyOf = async (id: string): Promise<Uint8Array | undefined> => {
    const record = session.ks.exchanges?.get(id);
    if (record?.responderIdentityKey) return record.responderIdentityKey;
    if (!peerKeys.has(id)) {
      const view = await session.client.getExchange(id).catch(() => undefined);
      if (view?.peerIdentity) peerKeys.set(id, fromB64u(view.peerIdentity.identityKey));
    }
    return peerKeys.get(id);
  };

  const renderRow = (summary: ExchangeSummary, reason?: string) => {
    let row = rows.get(summary.id);
    if (!row) {
      row = h('li', { 'data-exchange-id': summary.id });
      rows.set(summary.id, row);
      mine.prepend(row);
    }
    emptyMine.hidden = true;
    const focused = row.contains(document.activeElement)
      ? (document.activeElement as HTMLElement).dataset.action
      : undefined;
    const secretBox = h('div');
    const actions: HTMLButtonElement[] = [];
    const forgottenAt = session.ks.exchanges?.get(summary.id)?.forgottenAt;
    if (summary.status === 'confirmed' && forgottenAt === undefined) {
      const reveal = h('button', { type: 'button', class: 'secondary', 'data-action': 'reveal' }, 'Show secret');
      reveal.addEventListener('click', () => {
        clearNotice();
        try {
          const shown = secretBox.firstChild !== null;
          replace(
            secretBox,
            shown
              ? null
              : h('code', { class: 'secret', 'data-testid': 'secret' }, exchangeSecret(session.ks, summary.id)),
          );
          reveal.textContent = shown ? 'Show secret' : 'Hide secret';
          reveal.setAttribute('aria-expanded', String(!shown));
        } catch (e) {
          showError(e);
        }
      });
      reveal.setAttribute('aria-expanded', 'false');
      const copy = h('button', { type: 'button', class: 'secondary', 'data-action': 'copy' }, 'Copy secret');
      copy.addEventListener('click', () =>
        action(copy, 'Copying…', async () => {
          await navigator.clipboard.writeText(exchangeSecret(session.ks, summary.id));
          info('The secret is on your clipboard. Paste it where you need it, then clear the clipboard.');
        }),
      );
      actions.push(reveal, copy);
    }
    const forget = h('button', { type: 'button', class: 'danger', 'data-action': 'forget' }, 'Forget');
    forget.addEventListener('click', () => {
      if (
        !confirm(
          `Forget this exchange with ${summary.peer}? Its secret and the keys it used are deleted from this browser.`,
        )
      )
        return;
      action(forget, 'Forgetting…', async () => {
        forgetExchange(session.ks, summary.id, unixNow());
        await session.save();
        renderRow(summary);
        info(`Forgotten: the secret of the exchange with ${summary.peer} is gone from this browser.`);
      });
    });
    if (forgottenAt === undefined) actions.push(forget);
    const safety = h('div');
    replace(
      row,
      h(
        'p',
        {},
        h('strong', {}, summary.role === 'initiator' ? `To ${summary.peer}` : `From ${summary.peer}`),
        ' ',
        h(
          'span',
          { class: `status ${summary.status}`, 'data-testid': 'status' },
          STATUS_WORDS[summary.status](summary.role),
        ),
      ),
      reason ? h('p', { class: 'hint' }, reason) : null,
      forgottenAt !== undefined
        ? h(
            'p',
            { 'data-testid': 'forgotten' },
            `Secret forgotten on ${new Date(forgottenAt * 1000).toLocaleString()}.`,
          )
        : null,
      h('p', { class: 'hint mono' }, `Exchange ${summary.id}`),
      safety,
      ...actions,
      secretBox,
    );
    if (focused) (row.querySelector(`[data-action="${focused}"]`) as HTMLElement | null)?.focus();
    void peerKeyOf(summary.id).then((key) => {
      if (key) replace(safety, safetyBlock(session, summary.peer, key, 'exchange-safety-number'));
    });
  };

  /** Follows an exchange until it settles (long polling), updating its row. */
  const follow = async (id: string) => {
    if (following.has(id)) return;
    following.add(id);
    try {
      while (session.isActive) {
        try {
          const last = await waitForExchange(session.ctx, id, {
            timeoutMs: 10 * 60_000,
            pollSeconds: POLL_SECONDS,
            onProgress: (s) => session.isActive && renderRow(s, s.failureReason),
          });
          if (isSettled(last.status)) return;
        } catch (e) {
          if (!session.isActive) return;
          showError(e);
          await pause(5000);
        }
      }
    } finally {
      following.delete(id);
    }
  };

  const incomingRow = (view: ExchangeView): HTMLLIElement => {
    const accept = h('button', { type: 'button' }, 'Accept');
    const key = view.peerIdentity ? fromB64u(view.peerIdentity.identityKey) : undefined;
    if (key) peerKeys.set(view.id, key);
    accept.addEventListener('click', () =>
      action(accept, 'Accepting…', async () => {
        const summary = await acceptExchange(session.ctx, view.id);
        li.remove();
        emptyIncoming.hidden = incoming.children.length > 0;
        renderRow(summary);
        void follow(summary.id);
        (rows.get(summary.id)?.querySelector('button') as HTMLElement | null)?.focus();
      }),
    );
    const li = h(
      'li',
      { 'data-exchange-id': view.id },
      h('p', {}, h('strong', {}, view.peer), ' wants to agree on a secret with you.'),
      key ? safetyBlock(session, view.peer, key, 'incoming-safety-number') : null,
      accept,
    );
    return li;
  };

  /** Keeps the incoming list current: a long poll while it is empty, a check every few seconds while it is not. */
  const watchInbox = async () => {
    let shown = '';
    while (session.isActive) {
      try {
        const { exchanges } = await session.client.inbox({ waitSeconds: POLL_SECONDS });
        if (!session.isActive) return;
        const fresh = exchanges.filter((v) => !session.ks.exchanges?.has(v.id));
        const ids = fresh.map((v) => v.id).join(',');
        if (ids !== shown) {
          const focusedId = incoming.contains(document.activeElement)
            ? document.activeElement?.closest('li')?.dataset.exchangeId
            : undefined;
          replace(incoming, ...fresh.map(incomingRow));
          emptyIncoming.hidden = fresh.length > 0;
          shown = ids;
          if (focusedId)
            (incoming.querySelector(`li[data-exchange-id="${focusedId}"] button`) as HTMLElement | null)?.focus();
        }
        if (exchanges.length > 0) await pause(3000);
      } catch (e) {
        if (!session.isActive) return;
        showError(e);
        await pause(5000);
      }
    }
  };

  const resultBox = h('div', { 'aria-live': 'polite' });
  const startForm = lookupForm(session, 'exchange-address', 'Look up', (address, key, fingerprint) => {
    const start = h('button', { type: 'button' }, `Start exchange with ${address}`);
    start.addEventListener('click', () =>
      action(start, 'Starting…', async () => {
        const summary = await startExchange(session.ctx, address);
        replace(resultBox);
        renderRow(summary);
        void follow(summary.id);
        info(`Exchange started. ${address} sees it under “Incoming” and accepts it there.`);
      }),
    );
    replace(
      resultBox,
      h('p', {}, h('strong', {}, address), ' — identity fingerprint ', h('span', { class: 'mono' }, fingerprint)),
      safetyBlock(session, address, key, 'lookup-safety-number'),
      start,
    );
    start.focus();
  });

  for (const record of [...(session.ks.exchanges?.values() ?? [])].sort((a, b) => a.createdAt - b.createdAt)) {
    renderRow({
      id: record.id,
      status: record.status,
      peer: record.peer,
      role: record.role,
      usedLastResort: record.usedLastResort,
    });
    if (!isSettled(record.status)) void follow(record.id);
  }
  emptyMine.hidden = rows.size > 0;
  void watchInbox();

  return h(
    'div',
    {},
    h(
      'section',
      {},
      h('h2', {}, 'Start an exchange'),
      h(
        'p',
        { class: 'hint' },
        'You and the other person end up with the same secret key, which no one else, not even the nodes, can learn.',
      ),
      startForm,
      resultBox,
    ),
    h('section', {}, h('h2', {}, 'Incoming'), emptyIncoming, incoming),
    h('section', {}, h('h2', {}, 'Your exchanges'), emptyMine, mine),
  );
}

void boot();
