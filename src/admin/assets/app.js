// snigate dashboard: polls the API every 2 s and fills the page's tables.
// Every value shown goes into the page as text (textContent), never as
// markup: SNIs, ALPNs and user names are chosen by clients. URLs are
// relative (../api/...), so the page works under any api.basePath.
'use strict';

const POLL_MS = 2000;
const MAX_PAGES = 20;  // of a paged list (100 items each); a bound, not an expected size

// ------------------------------------------------------------ DOM helpers

// el('td', {class: 'num', title: 't'}, 'text', node, [more], null)
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// A class name built from API text: letters only.
function cls(prefix, text) {
  return prefix + String(text || 'unknown').toLowerCase().replace(/[^a-z]/g, '');
}

const dash = () => el('span', {class: 'muted'}, '–');
// Control characters (a terminal escape in an SNI) shown as \xNN, not as nothing.
const visible = (s) => String(s).replace(/[\x00-\x1f\x7f]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'));
const text = (v) => (v === undefined || v === null || v === '' ? dash() : visible(v));
const list = (v) => (Array.isArray(v) ? v : []);

function badge(label, kind, title) {
  return el('span', {class: 'badge ' + cls('b-', kind || label), title}, label);
}

// "db@file" as its name with the provider dimmed.
function name(full) {
  if (!full) return dash();
  const at = String(full).lastIndexOf('@');
  if (at <= 0) return el('span', {class: 'name'}, full);
  return el('span', {class: 'name'}, full.slice(0, at), el('span', {class: 'provider'}, full.slice(at)));
}

function fillRows(key, rows, columns, emptyText) {
  const body = document.querySelector(`[data-rows="${key}"]`);
  const cells = rows.length ? rows : [el('tr', {}, el('td', {colspan: columns, class: 'empty'}, emptyText))];
  body.replaceChildren(...cells);
}

function setCount(key, value) {
  document.querySelector(`[data-count="${key}"]`).textContent = value === undefined ? '' : String(value);
}

function setProblem(key, message) {
  const p = document.querySelector(`[data-problem="${key}"]`);
  p.hidden = !message;
  p.textContent = message || '';
}

// ------------------------------------------------------------ formatting

function bytes(n) {
  if (typeof n !== 'number' || !isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
}

const rate = (n) => (n === undefined ? '–' : bytes(n) + '/s');
const perSecond = (n) => (n === undefined ? '–' : n < 10 && n > 0 ? n.toFixed(1) : n.toFixed(0));

const plural = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;

function duration(seconds) {
  if (typeof seconds !== 'number' || !isFinite(seconds)) return '–';
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
}

// An RFC 3339 time as the local clock time, the full stamp as its tooltip.
function clock(stamp) {
  const t = new Date(stamp);
  if (!stamp || isNaN(t)) return text(stamp);
  return el('time', {datetime: stamp, title: stamp}, t.toLocaleTimeString([], {hour12: false}));
}

// ------------------------------------------------------------ API access

async function getJSON(path) {
  const res = await fetch('../api/' + path, {headers: {Accept: 'application/json'}, cache: 'no-store'});
  let data = null;
  try { data = await res.json(); } catch (e) { /* not JSON: said below */ }
  if (!res.ok) {
    const why = data && data.message ? data.message : res.statusText;
    throw new Error(`/api/${path}: ${res.status} ${why}`);
  }
  return {data, next: res.headers.get('X-Next-Page')};
}

// All pages of a Traefik-style list (X-Next-Page is 1 on the last page).
async function getList(path) {
  let all = [];
  let page = 1;
  for (let i = 0; i < MAX_PAGES; i++) {
    const {data, next} = await getJSON(`${path}?per_page=100&page=${page}`);
    all = all.concat(list(data));
    const n = Number(next);
    if (!next || !(n > page)) break;
    page = n;
  }
  return all;
}

// ------------------------------------------------------------ live counters

// Rates need two samples of /api/stats' counters: the previous one is kept.
const state = {prevStats: null, prevAt: 0, rates: {}, stats: null, routers: []};

function updateRates(stats) {
  const now = performance.now();
  const prev = state.prevStats;
  const seconds = (now - state.prevAt) / 1000;
  const rates = {};
  for (const [router, cur] of Object.entries((stats && stats.routers) || {})) {
    const before = prev && prev.routers && prev.routers[router];
    if (!before || seconds <= 0) continue;
    const delta = (k) => {
      const d = Number(cur[k]) - Number(before[k]);
      return isFinite(d) && d >= 0 ? d / seconds : undefined;  // a restart resets the counters
    };
    rates[router] = {conn: delta('connections'), in: delta('bytesIn'), out: delta('bytesOut')};
  }
  state.prevStats = stats;
  state.prevAt = now;
  state.rates = rates;
  state.stats = stats;
}

// ------------------------------------------------------------ sections

function renderSummary(overview, version) {
  const tcp = (overview && overview.tcp) || {};
  const card = (label, counts) => {
    const c = counts || {};
    const issues = [];
    if (c.warnings) issues.push(badge(plural(c.warnings, 'warning'), 'warning'));
    if (c.errors) issues.push(badge(plural(c.errors, 'error'), 'error'));
    return el('div', {class: 'card'}, el('div', {class: 'card-label'}, label),
              el('div', {class: 'card-value'}, c.total === undefined ? '–' : String(c.total)),
              el('div', {class: 'card-extra'}, issues.length ? issues : c.total === undefined ? '' : el('span', {class: 'muted'}, 'no problems')));
  };
  const stats = state.stats;
  let open;
  if (stats && stats.entryPoints)
    open = Object.values(stats.entryPoints).reduce((sum, e) => sum + (Number(e.open) || 0), 0);
  const started = version && version.startDate ? new Date(version.startDate) : null;
  const uptime = started && !isNaN(started) ? duration((Date.now() - started) / 1000) : '–';
  document.getElementById('summary').replaceChildren(
      card('TCP routers', tcp.routers),
      card('TCP services', tcp.services),
      card('TCP middlewares', tcp.middlewares),
      el('div', {class: 'card'}, el('div', {class: 'card-label'}, 'Open connections'),
         el('div', {class: 'card-value'}, open === undefined ? '–' : String(open)),
         el('div', {class: 'card-extra muted'}, 'on every entry point')),
      el('div', {class: 'card'}, el('div', {class: 'card-label'}, 'Up for'),
         el('div', {class: 'card-value small'}, uptime),
         el('div', {class: 'card-extra muted'}, version && version.startDate ? 'since ' + version.startDate : '')));
}

function tlsMode(router) {
  const tls = router.tls;
  if (!tls) return badge('plain', 'plain', 'not TLS: routed as it comes (HostSNI(`*`))');
  if (tls.passthrough) return badge('passthrough', 'passthrough', 'TLS sent on as it is');
  return badge('terminate', 'terminate', tls.options ? 'TLS ended here, options ' + tls.options : 'TLS ended here');
}

function renderRouters(routers) {
  state.routers = routers;
  const statsRouters = state.stats && state.stats.routers;
  const rows = routers.map((r) => {
    const live = statsRouters ? statsRouters[r.name] || {open: 0} : {};
    const rt = state.rates[r.name] || {};
    const middlewares = list(r.middlewares);
    return el('tr', {'data-router': r.name},
        el('td', {}, name(r.name),
           middlewares.length ? el('div', {class: 'chips'}, middlewares.map((m) => el('span', {class: 'chip', title: 'middleware'}, m))) : null),
        el('td', {class: 'rule'}, el('code', {}, text(r.rule)),
           r.priority !== undefined ? el('div', {class: 'muted small'}, 'priority ' + r.priority) : null),
        el('td', {}, list(r.entryPoints).join(', ') || dash()),
        el('td', {}, tlsMode(r)),
        el('td', {}, r.status ? badge(r.status, r.status, list(r.error).join('; ') || undefined) : dash()),
        el('td', {}, name(r.service)),
        el('td', {class: 'num'}, live.open === undefined ? '–' : String(live.open)),
        el('td', {class: 'num'}, perSecond(rt.conn)),
        el('td', {class: 'num'}, rate(rt.in)),
        el('td', {class: 'num'}, rate(rt.out)));
  });
  setCount('routers', routers.length);
  fillRows('routers', rows, 10, 'No TCP routers.');
}

function serverList(service) {
  const lb = service.loadBalancer;
  const status = service.serverStatus || {};
  if (lb) {
    return el('ul', {class: 'servers'}, list(lb.servers).map((s) => {
      const addr = s.address || s.url || '';
      const st = status[addr];
      return el('li', {}, el('code', {}, text(addr)), ' ',
                st ? badge(st, st === 'UP' ? 'up' : 'down') : el('span', {class: 'muted small', title: 'no health check'}, 'not checked'));
    }));
  }
  const weighted = service.weighted;
  if (weighted) {
    return el('ul', {class: 'servers'}, list(weighted.services).map((s) =>
        el('li', {}, name(s.name), el('span', {class: 'muted small'}, ' weight ' + (s.weight === undefined ? 1 : s.weight)))));
  }
  return dash();
}

function renderServices(services) {
  const rows = services.map((s) => el('tr', {'data-service': s.name},
      el('td', {}, name(s.name)),
      el('td', {}, text(s.type)),
      el('td', {}, serverList(s)),
      el('td', {}, s.status ? badge(s.status, s.status) : dash()),
      el('td', {}, list(s.usedBy).length ? list(s.usedBy).map((u, i) => [i ? ', ' : '', name(u)]) : dash())));
  setCount('services', services.length);
  fillRows('services', rows, 5, 'No TCP services.');
}

function renderEntryPoints(eps) {
  const open = state.stats ? state.stats.entryPoints || {} : null;
  const rows = eps.map((e) => el('tr', {},
      el('td', {}, el('span', {class: 'name'}, text(e.name))),
      el('td', {}, el('code', {}, text(e.address))),
      el('td', {}, text(e.protocol || (e.name === 'traefik' ? 'http (admin)' : undefined)),
         e.proxyProtocol ? el('span', {class: 'chip', title: 'accepts the PROXY protocol'}, 'PROXY') : null),
      el('td', {class: 'num'}, !open ? '–' : open[e.name] ? String(open[e.name].open) : '0')));
  setCount('entrypoints', eps.length);
  fillRows('entrypoints', rows, 4, 'No entry points.');
  fillEntryPointChoice(eps);
}

function renderRefusals(refusals) {
  const rows = refusals.map((r) => el('tr', {},
      el('td', {class: 'nowrap'}, clock(r.time)),
      el('td', {}, text(r.entryPoint)),
      el('td', {}, el('code', {}, text(r.client))),
      el('td', {class: 'sni'}, text(r.sni)),
      el('td', {}, text(r.alpn)),
      el('td', {}, text(r.mode)),
      el('td', {}, r.router ? name(r.router) : dash()),
      el('td', {}, r.end ? badge(r.end, 'end') : dash()),
      el('td', {class: 'detail'}, text(r.detail))));
  setCount('refusals', refusals.length);
  fillRows('refusals', rows, 9, 'No refusals since start.');
}

function renderConnections(answer) {
  const conns = list(answer && answer.connections);
  const rows = conns.map((c) => el('tr', {},
      el('td', {}, el('code', {}, text(c.client))),
      el('td', {}, text(c.entryPoint)),
      el('td', {class: 'sni'}, text(c.sni)),
      el('td', {}, text(c.mode)),
      el('td', {}, name(c.router)),
      el('td', {}, el('code', {}, text(c.server))),
      el('td', {class: 'num'}, bytes(c.bytesIn)),
      el('td', {class: 'num'}, bytes(c.bytesOut)),
      el('td', {class: 'num'}, duration(c.ageSeconds))));
  const total = answer && answer.total !== undefined ? answer.total : conns.length;
  setCount('connections', total > conns.length ? `${conns.length} of ${total}` : total);
  fillRows('connections', rows, 9, 'No open connections.');
}

// ------------------------------------------------------------ explain

// Keeps the chosen entry point across polls; preselects the first one with routers.
function fillEntryPointChoice(eps) {
  const select = document.querySelector('#explain-form select[name="entrypoint"]');
  const names = eps.filter((e) => e.protocol !== 'http').map((e) => e.name).filter(Boolean);  // http: the admin side, no routers
  const current = select.value;
  if ([...select.options].map((o) => o.value).join('\n') === names.join('\n')) return;
  select.replaceChildren(...names.map((n) => el('option', {value: n}, n)));
  const used = names.find((n) => state.routers.some((r) => list(r.entryPoints).includes(n)));
  if (names.includes(current)) select.value = current;
  else if (used) select.value = used;
}

function explainQuery(form) {
  const q = new URLSearchParams();
  for (const key of ['entrypoint', 'sni', 'alpn', 'clientIP', 'user']) {
    const v = form.elements[key].value.trim();
    if (v) q.set(key, v);
  }
  if (form.elements.plain.checked) q.set('plain', 'true');
  return q.toString();
}

function explainChosen(r) {
  const facts = [
    ['Rule', el('code', {}, text(r.rule))],
    ['Priority', [text(r.priority), r.priorityFrom ? el('span', {class: 'muted'}, ' (' + r.priorityFrom + ')') : null]],
    ['Service', name(r.service)],
    ['Mode', r.mode ? badge(r.mode, r.mode) : dash()],
  ];
  const cert = r.certificate;
  if (cert) facts.push(['Certificate', cert.refusedBySniStrict ? badge('refused by sniStrict', 'error')
                                                               : [text(cert.origin), el('span', {class: 'muted'}, ` (${cert.match} match)`)]]);
  const mws = list(r.middlewares);
  if (mws.length)
    facts.push(['Middlewares', el('ul', {class: 'plain-list'}, mws.map((m) => el('li', {},
        name(m.name), ' ', el('span', {class: 'muted'}, m.type || ''), ': ', text(m.what),
        m.refuses ? [' ', badge('refuses', 'error')] : null)))]);
  const servers = list(r.servers);
  if (servers.length)
    facts.push(['Servers', el('ul', {class: 'servers'}, servers.map((s) => el('li', {},
        el('code', {}, text(s.address)), ' ', s.status ? badge(s.status, s.status === 'UP' ? 'up' : 'down') : null)))]);
  if (list(r.serviceChoice).length) facts.push(['Next server', el('pre', {class: 'choice'}, r.serviceChoice.join('\n'))]);
  return el('dl', {class: 'facts'}, facts.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function renderExplain(answer) {
  const out = [];
  const chosen = answer.router;
  const refused = answer.outcome && answer.outcome !== 'match';
  out.push(el('div', {class: 'verdict ' + (chosen && !refused ? 'ok' : 'refused'), 'data-outcome': answer.outcome || ''},
      chosen ? ['Router ', name(chosen.name), refused ? ' matches, but the client is refused' : ' takes this client']
             : 'No router takes this client',
      answer.refusal ? el('div', {class: 'reason'}, answer.refusal) : null));
  if (chosen) out.push(explainChosen(chosen));
  const others = list(answer.others);
  if (others.length) {
    out.push(el('h3', {}, 'Why not the others'));
    out.push(el('div', {class: 'scroll'}, el('table', {class: 'others'},
        el('thead', {}, el('tr', {}, el('th', {}, 'Router'), el('th', {}, 'Rule'), el('th', {class: 'num'}, 'Priority'), el('th', {}, 'Why not'))),
        el('tbody', {}, others.map((o) => el('tr', {},
            el('td', {}, name(o.name)), el('td', {class: 'rule'}, el('code', {}, text(o.rule))),
            el('td', {class: 'num', title: o.priorityFrom}, text(o.priority)), el('td', {class: 'detail'}, text(o.why))))))));
  }
  // Past 20 routers the answer lists the candidates only and counts the others by reason.
  const unlisted = list(answer.unlisted);
  if (unlisted.length) out.push(el('ul', {class: 'unlisted'}, unlisted.map((u) => el('li', {}, text(u.why)))));
  if (answer.text)
    out.push(el('details', {}, el('summary', {}, 'As snigate explain prints it'), el('pre', {class: 'cli'}, answer.text)));
  document.getElementById('explain-result').replaceChildren(...out);
}

async function onExplain(event) {
  event.preventDefault();
  const result = document.getElementById('explain-result');
  result.replaceChildren(el('p', {class: 'muted'}, 'asking…'));
  try {
    const res = await fetch('../api/explain?' + explainQuery(event.target), {cache: 'no-store'});
    let answer = null;
    try { answer = await res.json(); } catch (e) { /* shown below */ }
    if (!res.ok || !answer) {
      const why = answer && answer.message ? answer.message : `${res.status} ${res.statusText}`;
      result.replaceChildren(el('div', {class: 'verdict bad-query', 'data-outcome': 'badQuery'}, why));
      return;
    }
    renderExplain(answer);
  } catch (e) {
    result.replaceChildren(el('div', {class: 'verdict bad-query'}, 'The API did not answer: ' + e.message));
  }
}

// ------------------------------------------------------------ polling

// One section's source: what to fetch and how to show it. A failing one
// says so above its table and leaves the others alone.
const sections = [
  {key: 'routers', fetch: () => getList('tcp/routers'), show: renderRouters},
  {key: 'services', fetch: () => getList('tcp/services'), show: renderServices},
  {key: 'entrypoints', fetch: () => getList('entrypoints'), show: renderEntryPoints},
  {key: 'refusals', fetch: () => getJSON('refusals?limit=50').then((r) => list(r.data)), show: renderRefusals},
  {key: 'connections', fetch: () => getJSON('connections?limit=100').then((r) => r.data), show: renderConnections},
];

let version = null;

async function poll() {
  const [overview, stats, ...answers] = await Promise.allSettled([
    getJSON('overview'), getJSON('stats'), ...sections.map((s) => s.fetch())]);
  if (stats.status === 'fulfilled') updateRates(stats.value.data);
  sections.forEach((s, i) => {
    const a = answers[i];
    if (a.status === 'fulfilled') {
      setProblem(s.key, '');
      s.show(a.value);
    } else {
      setProblem(s.key, 'Not available: ' + a.reason.message);
    }
  });
  renderSummary(overview.status === 'fulfilled' ? overview.value.data : null, version);
  const live = document.getElementById('live');
  const reachable = answers.some((a) => a.status === 'fulfilled') || overview.status === 'fulfilled';
  live.className = 'live ' + (reachable ? 'ok' : 'down');
  live.textContent = reachable ? 'live · ' + new Date().toLocaleTimeString([], {hour12: false})
                               : 'API unreachable · retrying';
}

async function loadVersion() {
  try {
    version = (await getJSON('version')).data;
    document.getElementById('version').textContent = version && version.Version ? 'v' + version.Version : '';
  } catch (e) { /* the header just shows no version */ }
}

async function loop() {
  try { await poll(); } catch (e) { console.error(e); }
  setTimeout(loop, POLL_MS);  // after the answer, so a slow API never stacks requests
}

document.getElementById('explain-form').addEventListener('submit', onExplain);
loadVersion().then(loop);
