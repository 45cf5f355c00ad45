// The console's own script: small, served by the gateway, no inline script anywhere (the CSP forbids it).
// Pages work without it; it only adds conveniences on top of htmx. (Without it, the server still
// refuses a row's button sent with boxes ticked, and a reload of a result sends nothing again.)
document.addEventListener('DOMContentLoaded', () => {
  const table = document.querySelector('table.versions');
  if (table) {
    const boxes = () => [...table.querySelectorAll('input[type=checkbox][name=seen]')];
    // "Select all" for the versions table: a real checkbox with a label, added only when scripts run.
    let all;
    if (boxes().length > 1) {
      const label = document.createElement('label');
      all = document.createElement('input');
      all.type = 'checkbox';
      all.id = 'select-all';
      label.htmlFor = 'select-all';
      label.textContent = ' Select all versions';
      all.addEventListener('change', () => {
        boxes().forEach((b) => (b.checked = all.checked));
        bulkMode();
      });
      table.before(all, label);
    }
    // Bulk operation mode (Cloudsmith's): while any box is ticked, every version's own buttons are
    // off, the buttons for the selection show at the top with the count, and the count is announced.
    const count = document.getElementById('selection-count');
    const bulkButtons = document.getElementById('bulk-buttons');
    const note = document.getElementById('bulk-mode-note');
    const rowButtons = () => [...table.querySelectorAll('button[name=row]')];
    const selectionButtons = bulkButtons ? [...bulkButtons.querySelectorAll('button[name=action]')] : [];
    const noneCan = document.getElementById('bulk-none-can');
    // A button for the selection is on when at least one selected version can take the action (allowed
    // by Cedar, and possible in its state: the server lists them in each box's data-can); the API still
    // decides, version by version.
    // A button the server turned off because no version on the page can take it (data-off-for-all,
    // naming its reason) stays off, with that reason.
    const selectionCan = (ticked) => {
      let off = 0;
      for (const b of selectionButtons) {
        if (b.dataset.offForAll) continue;
        b.disabled = ticked.length > 0 && !ticked.some((box) => (box.dataset.can ?? '').split(' ').includes(b.value));
        if (b.disabled) off++;
        if (b.disabled) b.setAttribute('aria-describedby', 'bulk-none-can');
        else b.removeAttribute('aria-describedby');
      }
      if (noneCan) noneCan.hidden = off === 0;
    };
    const bulkMode = () => {
      const ticked = boxes().filter((b) => b.checked);
      const n = ticked.length;
      selectionCan(ticked);
      if (all) all.checked = n > 0 && n === boxes().length;
      if (bulkButtons) bulkButtons.hidden = n === 0;
      if (note) note.hidden = n === 0;
      if (count) count.textContent = n === 0 ? 'No versions selected. Tick versions below to act on several at once.' : `${n} selected: the buttons for the selection are at the top of the list.`;
      for (const b of rowButtons()) {
        const described = (b.getAttribute('aria-describedby') ?? '').split(' ').filter((id) => id && id !== 'bulk-mode-note');
        // A button Cedar denies stays off whatever the selection (data-denied, set by the server).
        b.disabled = n > 0 || b.dataset.denied === 'true';
        if (n > 0) described.push('bulk-mode-note');
        if (described.length) b.setAttribute('aria-describedby', described.join(' '));
        else b.removeAttribute('aria-describedby');
      }
    };
    table.addEventListener('change', (e) => {
      if (e.target instanceof HTMLInputElement && e.target.name === 'seen') bulkMode();
    });
    // At once, and after back/forward, which restores the boxes' ticks.
    bulkMode();
    window.addEventListener('pageshow', bulkMode);
  }

  // A form that changes something is sent once: a double click, or a second click while a slow
  // gateway answers, sends nothing more. (The server's answer is a redirect to a result page, so a
  // reload never sends it again either.)
  for (const form of document.querySelectorAll('form[data-submit-once]')) {
    form.addEventListener('submit', (e) => {
      if (form.dataset.sent === 'true') {
        e.preventDefault();
        return;
      }
      form.dataset.sent = 'true';
      // After this turn: a button disabled now would leave its own name and value out of the form.
      setTimeout(() => {
        for (const b of form.querySelectorAll('button[type=submit], button:not([type])')) {
          b.disabled = true;
          b.setAttribute('aria-busy', 'true');
        }
      }, 0);
    });
  }
});
// Back to a page whose form was sent (bfcache): it may be sent again, on purpose.
window.addEventListener('pageshow', (e) => {
  if (!e.persisted) return;
  for (const form of document.querySelectorAll('form[data-submit-once]')) {
    delete form.dataset.sent;
    for (const b of form.querySelectorAll('button')) {
      b.disabled = false;
      b.removeAttribute('aria-busy');
    }
  }
});

// An htmx request the gateway refused: say so where the answer would have gone.
document.addEventListener('htmx:responseError', (e) => {
  const target = e.detail.target;
  if (!target) return;
  const p = document.createElement('p');
  p.className = 'notice notice-error';
  p.setAttribute('role', 'alert');
  p.textContent = `Error: the gateway answered HTTP ${e.detail.xhr.status}. Reload the page.`;
  target.replaceChildren(p);
});

// The gateway could not be reached (down, restarting, the network gone) or did not answer in time:
// say so above what is shown (which is now out of date), and ask again every few seconds.
const RETRY_MS = 5000;
const unreachable = (e) => {
  const elt = e.detail.elt;
  const target = e.detail.target ?? elt;
  if (!elt || !target || !elt.isConnected) return;
  let p = target.querySelector(':scope > .gateway-unreachable');
  if (!p) {
    p = document.createElement('p');
    p.className = 'notice notice-warning gateway-unreachable';
    p.setAttribute('role', 'status');
    target.prepend(p);
  }
  const at = new Date().toTimeString().slice(0, 8);
  p.textContent = `Warning: the gateway could not be reached at ${at}; retrying… What is shown here may be out of date.`;
  // A poll triggered by "load" stops at a failure (no answer replaced it): ask again. One triggered
  // by "every …" asks again by itself. A form's request is for the person to send again.
  const get = elt.getAttribute('hx-get');
  if (get && /\bload\b/.test(elt.getAttribute('hx-trigger') ?? '') && !elt.dataset.retrying) {
    elt.dataset.retrying = 'true';
    setTimeout(() => {
      delete elt.dataset.retrying;
      if (elt.isConnected) window.htmx.ajax('GET', get, { source: elt, target: elt, swap: elt.getAttribute('hx-swap') ?? 'innerHTML' });
    }, RETRY_MS);
  }
};
document.addEventListener('htmx:sendError', unreachable);
document.addEventListener('htmx:timeout', unreachable);
