// The console's own script: small, served by the gateway, no inline script anywhere (the CSP forbids it).
// Pages work without it; it only adds conveniences on top of htmx.
document.addEventListener('DOMContentLoaded', () => {
  // "Select all" for the versions table: a real checkbox with a label, added only when scripts run.
  const table = document.querySelector('table.versions');
  if (table) {
    const boxes = () => [...table.querySelectorAll('input[type=checkbox][name=versions]')];
    if (boxes().length > 1) {
      const label = document.createElement('label');
      const all = document.createElement('input');
      all.type = 'checkbox';
      all.id = 'select-all';
      label.htmlFor = 'select-all';
      label.textContent = ' Select all versions';
      all.addEventListener('change', () => boxes().forEach((b) => (b.checked = all.checked)));
      table.before(all, label);
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
