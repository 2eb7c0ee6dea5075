// Recruiter page: key sign-in (sessionStorage), CV analysis, interview creation with the
// candidate link, and the interview table with reports. REST contract: PROTOCOL.md.

const $ = (id) => document.getElementById(id);
const KEY_STORAGE = 'vi.recruiterKey';
const LINKS_STORAGE = 'vi.candidateLinks';
const PAGE_SIZE = 20;
const REFRESH_MS = 10000;

const S = {
  key: sessionStorage.getItem(KEY_STORAGE) || '',
  analysis: null, // {id, candidate_id, cv_text, ...}
  offset: 0,
  total: 0,
  loading: false,
  refreshTimer: null,
  reportUrl: null,
  reportId: null,
};

class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

// ------------------------------------------------------------------ REST

async function api(path, { method = 'GET', body, accept = 'application/json' } = {}) {
  const headers = { Authorization: `Bearer ${S.key}`, Accept: accept };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'Cannot reach the server. Check that it is running and try again.');
  }
  if (!res.ok) {
    let code;
    let message;
    try {
      const data = await res.json();
      code = data.error && data.error.code;
      message = data.error && data.error.message;
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, code, message);
  }
  if (res.status === 204) return null;
  return accept === 'application/json' ? res.json() : res.text();
}

function humanError(err) {
  if (!(err instanceof ApiError)) return `Unexpected error: ${err && err.message ? err.message : err}`;
  switch (err.status) {
    case 0:
      return err.message;
    case 401:
      return 'The recruiter key was not accepted. Please enter it again.';
    case 403:
      return 'This key is not allowed to do that (it is not a recruiter key).';
    case 404:
      return err.code === 'CV_ANALYSIS_NOT_FOUND'
        ? 'The CV analysis was not found; analyse the CV again.'
        : `Not found: ${err.message}`;
    case 413:
      return `Too large: ${err.message}`;
    case 429:
      return 'Too many requests; wait a moment and try again.';
    case 503:
      return `The server is busy or still loading its models (${err.message}). Try again in a few seconds.`;
    default:
      if (err.status >= 500) return `The server failed (${err.status}): ${err.message}`;
      return err.message;
  }
}

/** Handle an error from any call: a rejected key sends the recruiter back to sign-in. */
function reportError(err, where) {
  if (err instanceof ApiError && err.status === 401) {
    signOut('The recruiter key was not accepted. Please enter it again.');
    return;
  }
  const text = humanError(err);
  if (where) {
    where.textContent = text;
    where.dataset.kind = 'error';
  } else {
    showAlert(text);
  }
}

function showAlert(text) {
  const el = $('alert');
  el.hidden = !text;
  el.textContent = text || '';
}

function setStatus(text, kind = 'info') {
  const el = $('form-status');
  el.textContent = text;
  el.dataset.kind = kind;
}

// ------------------------------------------------------------------ sign-in

function showLogin(message) {
  $('login').hidden = false;
  $('app').hidden = true;
  $('signout').hidden = true;
  $('who').textContent = 'Signed out';
  $('who').dataset.state = 'idle';
  $('key-error').textContent = message || '';
  $('key').setAttribute('aria-invalid', message ? 'true' : 'false');
  $('key').focus();
  stopRefresh();
}

function showApp() {
  $('login').hidden = true;
  $('app').hidden = false;
  $('signout').hidden = false;
  $('who').textContent = 'Signed in';
  $('who').dataset.state = 'open';
  showAlert('');
  loadList();
  startRefresh();
}

function signOut(message) {
  S.key = '';
  sessionStorage.removeItem(KEY_STORAGE);
  showLogin(message);
}

async function onLogin(ev) {
  ev.preventDefault();
  const key = $('key').value.trim();
  if (!key) {
    $('key-error').textContent = 'Enter the recruiter key.';
    $('key').setAttribute('aria-invalid', 'true');
    $('key').focus();
    return;
  }
  $('login-submit').disabled = true;
  $('key-error').textContent = 'Checking…';
  S.key = key;
  try {
    await api('/api/interviews?limit=1');
    sessionStorage.setItem(KEY_STORAGE, key);
    $('key').value = '';
    $('key-error').textContent = '';
    showApp();
    $('candidate').focus();
  } catch (err) {
    S.key = '';
    const text = err instanceof ApiError && err.status === 401
      ? 'That key was not accepted. Check it and try again.'
      : humanError(err);
    $('key-error').textContent = text;
    $('key').setAttribute('aria-invalid', 'true');
    $('key').focus();
  } finally {
    $('login-submit').disabled = false;
  }
}

// ------------------------------------------------------------------ create

function readForm() {
  const candidate = $('candidate').value.trim();
  const role = $('role').value.trim();
  const numRaw = $('num').value.trim();
  const num = Number(numRaw);
  const cv = $('cv').value.trim();
  let ok = true;
  $('candidate-error').textContent = '';
  $('num-error').textContent = '';
  $('candidate').setAttribute('aria-invalid', 'false');
  $('num').setAttribute('aria-invalid', 'false');
  if (!candidate) {
    $('candidate-error').textContent = 'Enter a candidate id.';
    $('candidate').setAttribute('aria-invalid', 'true');
    $('candidate').focus();
    ok = false;
  }
  if (!/^\d+$/.test(numRaw) || num < 1 || num > 20) {
    $('num-error').textContent = 'Choose a whole number from 1 to 20.';
    $('num').setAttribute('aria-invalid', 'true');
    if (ok) $('num').focus();
    ok = false;
  }
  return ok ? { candidate, role, num, cv } : null;
}

function busy(on) {
  $('analyse').disabled = on;
  $('create').disabled = on;
  $('create-form').setAttribute('aria-busy', on ? 'true' : 'false');
}

async function analyse(form) {
  setStatus('Analysing the CV… this can take a minute or two.', 'busy');
  const result = await api('/api/cv-analyses', {
    method: 'POST',
    body: { candidate_id: form.candidate, cv_text: form.cv },
  });
  S.analysis = { ...result, candidate_id: form.candidate, cv_text: form.cv };
  renderAnalysis(result);
  if (!$('role').value.trim() && Array.isArray(result.roles) && result.roles.length) {
    $('role').value = result.roles[0];
  }
  return S.analysis;
}

function renderAnalysis(a) {
  $('analysis').hidden = false;
  $('analysis-summary').textContent = a.summary || 'No summary.';
  $('analysis-years').textContent =
    a.experience_years === null || a.experience_years === undefined
      ? 'not stated'
      : `${a.experience_years} year${Number(a.experience_years) === 1 ? '' : 's'}`;
  const ul = $('analysis-skills');
  ul.replaceChildren();
  for (const s of a.skills || []) {
    const li = document.createElement('li');
    li.textContent = s;
    ul.append(li);
  }
  if (!(a.skills || []).length) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = 'none found';
    ul.append(li);
  }
  const roles = Array.isArray(a.roles) ? a.roles : [];
  $('analysis-roles-row').hidden = roles.length === 0;
  $('analysis-roles').textContent = roles.join(', ');
}

async function onAnalyse() {
  const form = readForm();
  if (!form) return;
  if (!form.cv) {
    setStatus('Paste the CV text first.', 'error');
    $('cv').focus();
    return;
  }
  busy(true);
  try {
    await analyse(form);
    setStatus('CV analysed. Check the role and create the interview.', 'ok');
  } catch (err) {
    reportError(err, $('form-status'));
  } finally {
    busy(false);
  }
}

function analysisMatches(form) {
  const a = S.analysis;
  return a !== null && a.candidate_id === form.candidate && a.cv_text === form.cv;
}

async function onCreate(ev) {
  ev.preventDefault();
  const form = readForm();
  if (!form) return;
  busy(true);
  try {
    let analysisId;
    if (form.cv) {
      const a = analysisMatches(form) ? S.analysis : await analyse(form);
      analysisId = a.id;
    }
    setStatus('Creating the interview…', 'busy');
    const body = { candidate_id: form.candidate, num_questions: form.num };
    const role = $('role').value.trim();
    if (role) body.role = role;
    if (analysisId) body.cv_analysis_id = analysisId;
    const r = await api('/api/interviews', { method: 'POST', body });
    const path = r.candidate_url || `/interview/${r.id}`;
    const link = `${location.origin}${path}?token=${encodeURIComponent(r.candidate_token)}`;
    rememberLink(r.id, link);
    $('created').hidden = false;
    $('created-info').textContent =
      `${r.total} question${r.total === 1 ? '' : 's'} for ${form.candidate}` +
      `${role ? ` (${role})` : ''}${analysisId ? ', chosen from the CV' : ''}.`;
    $('link').value = link;
    $('open-link').href = link;
    $('copy-status').textContent = '';
    setStatus('Interview created.', 'ok');
    $('created-title').focus();
    S.offset = 0;
    loadList();
  } catch (err) {
    reportError(err, $('form-status'));
  } finally {
    busy(false);
  }
}

async function copyText(text, statusEl, input) {
  try {
    await navigator.clipboard.writeText(text);
    statusEl.textContent = 'Link copied to the clipboard.';
  } catch {
    if (input) {
      input.focus();
      input.select();
    }
    statusEl.textContent = 'Could not copy automatically: the link is selected, press Ctrl+C (or ⌘C).';
  }
}

function links() {
  try {
    return JSON.parse(sessionStorage.getItem(LINKS_STORAGE) || '{}');
  } catch {
    return {};
  }
}

function rememberLink(id, link) {
  const all = links();
  all[id] = link;
  try {
    sessionStorage.setItem(LINKS_STORAGE, JSON.stringify(all));
  } catch {
    /* storage disabled */
  }
}

// ------------------------------------------------------------------ list

function parseTime(value) {
  if (!value) return null;
  // The server writes UTC; SQLite drops the offset, so a bare time is UTC too.
  const hasZone = /[zZ]$|[+-]\d\d:?\d\d$/.test(value);
  const d = new Date(hasZone ? value : `${value}Z`);
  return Number.isNaN(d.getTime()) ? null : d;
}

function formatTime(value) {
  const d = parseTime(value);
  if (!d) return '–';
  return d.toLocaleString(undefined, {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
  });
}

function formatScore(score) {
  if (score === null || score === undefined) return '–';
  return `${Math.round(Number(score))}`;
}

const STATUS_TEXT = {
  ready: 'Ready',
  in_progress: 'In progress',
  paused: 'Paused',
  completed: 'Completed',
  cancelled: 'Cancelled',
};

function cell(row, text, label, cls) {
  const td = document.createElement('td');
  td.dataset.label = label;
  if (cls) td.className = cls;
  if (text instanceof Node) td.append(text);
  else td.textContent = text;
  row.append(td);
  return td;
}

async function loadList() {
  if (!S.key || S.loading) return;
  S.loading = true;
  $('refresh').disabled = true;
  try {
    const data = await api(`/api/interviews?limit=${PAGE_SIZE}&offset=${S.offset}`);
    renderList(data);
    $('list-updated').textContent = `Updated ${new Date().toLocaleTimeString()}`;
    showAlert('');
  } catch (err) {
    reportError(err);
  } finally {
    S.loading = false;
    $('refresh').disabled = false;
  }
}

function renderList(data) {
  const items = data.interviews || [];
  S.total = typeof data.total === 'number' ? data.total : items.length;
  const tbody = $('rows');
  tbody.replaceChildren();
  const saved = links();
  for (const it of items) {
    const tr = document.createElement('tr');
    tr.dataset.id = it.id;
    tr.dataset.status = it.status;
    cell(tr, it.candidate_id, 'Candidate', 'strong');
    cell(tr, it.role || 'general', 'Role');
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.dataset.status = it.status;
    badge.textContent = STATUS_TEXT[it.status] || it.status;
    cell(tr, badge, 'Status');
    const answered = Math.min(it.current_question_index ?? 0, it.total ?? 0);
    cell(tr, `${answered} / ${it.total}`, 'Progress');
    cell(tr, formatScore(it.overall_score), 'Score', 'num');
    const created = cell(tr, formatTime(it.created_at), 'Created');
    const d = parseTime(it.created_at);
    if (d) created.title = d.toISOString();
    const actions = document.createElement('div');
    actions.className = 'row-actions';
    const report = document.createElement('button');
    report.type = 'button';
    report.className = 'small-button';
    report.textContent = 'Report';
    report.setAttribute('aria-label', `Report for ${it.candidate_id}`);
    report.addEventListener('click', () => openReport(it));
    actions.append(report);
    if (saved[it.id] && it.status !== 'completed' && it.status !== 'cancelled') {
      const copy = document.createElement('button');
      copy.type = 'button';
      copy.className = 'small-button';
      copy.textContent = 'Copy link';
      copy.setAttribute('aria-label', `Copy the candidate link for ${it.candidate_id}`);
      copy.addEventListener('click', () => copyText(saved[it.id], $('list-updated')));
      actions.append(copy);
    }
    cell(tr, actions, 'Actions', 'actions-cell');
    tbody.append(tr);
  }
  $('empty').hidden = items.length > 0;
  $('table').hidden = items.length === 0;
  const from = items.length ? S.offset + 1 : 0;
  $('page-info').textContent = `${from}–${S.offset + items.length} of ${S.total}`;
  $('prev').disabled = S.offset === 0;
  $('next').disabled = S.offset + items.length >= S.total;
}

function startRefresh() {
  stopRefresh();
  S.refreshTimer = setInterval(() => {
    if (document.visibilityState === 'visible' && !$('report').open) loadList();
  }, REFRESH_MS);
}

function stopRefresh() {
  clearInterval(S.refreshTimer);
  S.refreshTimer = null;
}

// ------------------------------------------------------------------ report

async function openReport(it) {
  showAlert('');
  try {
    const html = await api(`/api/interviews/${encodeURIComponent(it.id)}/feedback`, {
      accept: 'text/html',
    });
    if (S.reportUrl) URL.revokeObjectURL(S.reportUrl);
    S.reportUrl = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
    S.reportId = it.id;
    $('report-title').textContent = `Report: ${it.candidate_id}`;
    $('report-frame').srcdoc = html;
    $('report-open').href = S.reportUrl;
    const dlg = $('report');
    if (typeof dlg.showModal === 'function') dlg.showModal();
    else window.open(S.reportUrl, '_blank', 'noopener');
    $('report-close').focus();
  } catch (err) {
    reportError(err);
  }
}

async function downloadJson(ev) {
  ev.preventDefault();
  if (!S.reportId) return;
  try {
    const data = await api(`/api/interviews/${encodeURIComponent(S.reportId)}/export`);
    const url = URL.createObjectURL(
      new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }),
    );
    const a = document.createElement('a');
    a.href = url;
    a.download = `interview-${S.reportId}.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (err) {
    reportError(err);
  }
}

// ------------------------------------------------------------------ start-up

function init() {
  $('login-form').addEventListener('submit', onLogin);
  $('signout').addEventListener('click', () => signOut(''));
  $('create-form').addEventListener('submit', onCreate);
  $('analyse').addEventListener('click', onAnalyse);
  $('copy').addEventListener('click', () => copyText($('link').value, $('copy-status'), $('link')));
  $('refresh').addEventListener('click', loadList);
  $('prev').addEventListener('click', () => {
    S.offset = Math.max(0, S.offset - PAGE_SIZE);
    loadList();
  });
  $('next').addEventListener('click', () => {
    S.offset += PAGE_SIZE;
    loadList();
  });
  $('report-close').addEventListener('click', () => $('report').close());
  $('report-json').addEventListener('click', downloadJson);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && S.key) loadList();
  });
  if (S.key) {
    showApp();
  } else {
    showLogin('');
  }
}

init();
