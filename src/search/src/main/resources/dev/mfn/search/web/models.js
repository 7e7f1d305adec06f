// Models tab: the version the service serves and every version of the model store, newest first,
// each with its card's key numbers, the gate's verdict and its plots (GET /models, GET
// /models/{v}/plots/{name}); a retrain request (POST /retrain); and the training runs' status,
// newest first (GET /training/runs), read again every 5 s while the tab is shown and a run is
// queued or started.
'use strict';

(() => {
  const served = document.getElementById('models-served');
  const status = document.getElementById('models-status');
  const list = document.getElementById('models-list');
  const form = document.getElementById('retrain-form');
  const answer = document.getElementById('retrain-result');
  const panel = document.getElementById('panel-models');
  const runsStatus = document.getElementById('runs-status');
  const runsTable = document.getElementById('runs-table');
  const runsRows = document.getElementById('runs-rows');
  const POLL_MS = 5000;
  let latest = 0;
  let latestRuns = 0;
  let poll = null; // the pending setTimeout while a run is queued or started
  // a request sent from this page that the list does not show yet (the service reads the topics at
  // most every few seconds), and until when to wait for it
  let awaited = null;
  let following = false; // the last answer had a run queued or started
  let failingSince = 0; // when the answers began to fail, 0 while they do not
  let awaitedUntil = 0;

  function percent(x) {
    return typeof x === 'number' ? (100 * x).toFixed(2) + '%' : '?';
  }

  function number(x, digits) {
    return typeof x === 'number' ? x.toFixed(digits) : '?';
  }

  // the card's verification on LFW (else its first one)
  function lfw(card) {
    const all = Array.isArray(card.verification) ? card.verification : [];
    return all.find(v => String(v.dataset).toUpperCase() === 'LFW') || all[0] || null;
  }

  async function load() {
    loadRuns();
    const mine = ++latest;
    status.textContent = 'loading ...';
    const r = await mfn.call('models');
    if (mine !== latest) {
      return;
    }
    if (!r.ok) {
      status.textContent = mfn.problem(r);
      list.replaceChildren();
      served.textContent = '';
      return;
    }
    served.textContent = 'Served now: model ' + r.body.served;
    list.replaceChildren();
    status.textContent = r.body.versions.length === 0 ? 'no model store is configured, or it holds no version'
        : r.body.versions.length + (r.body.versions.length === 1 ? ' version' : ' versions') + ' in the model store, newest first';
    r.body.versions.forEach(v => list.appendChild(version(v, r.body.served)));
  }

  function version(v, servedNow) {
    const article = mfn.element('article', 'model');
    article.dataset.version = v.version;
    const title = mfn.element('h3', 'model-title', 'Model ' + v.version);
    // the served id is the config's (v1-5ba27732 for models/default), not the folder's name
    if (v.id && v.id === servedNow) {
      title.appendChild(mfn.element('span', 'badge served', 'served'));
    }
    if (!v.complete) {
      title.appendChild(mfn.element('span', 'badge incomplete', 'incomplete'));
    }
    article.appendChild(title);
    article.appendChild(mfn.element('p', 'model-created', 'created ' + v.created));
    const facts = mfn.element('ul', 'card');
    const card = v.card;
    if (!card) {
      facts.appendChild(mfn.element('li', 'card-missing', 'no model card'));
    } else {
      const eval_ = lfw(card);
      if (eval_) {
        facts.appendChild(mfn.element('li', 'card-lfw', (eval_.dataset || 'LFW') + ' accuracy ' + percent(eval_.accuracy)
            + ' \u00b1 ' + percent(eval_.accuracy_std || 0) + (eval_.pairs ? ' (' + eval_.pairs + ' pairs)' : '')));
        facts.appendChild(mfn.element('li', 'card-tar', 'TAR@FAR1e-3 ' + percent(eval_['tar_at_far_1e-3'])));
      }
      facts.appendChild(mfn.element('li', 'card-threshold', 'threshold ' + number(card.threshold, 4)
          + (card.threshold_source ? ' (' + card.threshold_source + ')' : '')));
      const t = card.training || {};
      facts.appendChild(mfn.element('li', 'card-training', 'training: ' + (t.images !== undefined ? t.images : '?') + ' images, '
          + (t.epochs !== undefined ? t.epochs : '?') + ' epochs, '
          + (typeof t.seconds === 'number' ? Math.round(t.seconds / 60) : '?') + ' minutes'
          + (t.device ? ' on ' + t.device : '')));
      if (card.command) {
        const li = mfn.element('li', 'card-command', 'made by ');
        li.appendChild(mfn.element('code', null, card.command));
        facts.appendChild(li);
      }
    }
    article.appendChild(facts);
    if (v.gate) {
      const passed = v.gate.passed === true;
      article.appendChild(mfn.element('p', 'model-gate ' + (passed ? 'passed' : 'refused'),
          (passed ? 'Gate passed' : 'Refused by the gate') + (v.gate.reason ? ': ' + v.gate.reason : '')));
    }
    const plots = mfn.element('div', 'plots');
    (v.plots || []).forEach(name => {
      const figure = mfn.element('figure', 'plot');
      const img = mfn.element('img', 'plot-image');
      img.alt = v.version + ' ' + name;
      img.dataset.plot = name;
      mfn.image('models/' + encodeURIComponent(v.version) + '/plots/' + encodeURIComponent(name)).then(url => { img.src = url; });
      figure.appendChild(img);
      figure.appendChild(mfn.element('figcaption', null, name.replace(/\.png$/, '')));
      plots.appendChild(figure);
    });
    article.appendChild(plots);
    return article;
  }

  // an ISO time as this browser's local time ('?' when there is none)
  function local(iso) {
    if (iso === null || iso === undefined || iso === '') {
      return '?';
    }
    const d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
  }

  function budget(run) {
    const parts = [];
    if (typeof run.epochs === 'number') {
      parts.push(run.epochs + (run.epochs === 1 ? ' epoch' : ' epochs'));
    }
    if (typeof run.minutes === 'number') {
      parts.push(run.minutes + (run.minutes === 1 ? ' minute' : ' minutes'));
    }
    return parts.length === 0 ? 'default' : parts.join(', ');
  }

  function stateClass(state) {
    return 'state-' + String(state || 'unknown').toLowerCase().replace(/[^a-z0-9_-]/g, '_');
  }

  function runRow(run) {
    const tr = mfn.element('tr', 'run');
    tr.dataset.request = run.request_id || '';
    tr.appendChild(mfn.element('td', 'run-requested', local(run.requested_at)));
    tr.appendChild(mfn.element('td', 'run-by', run.requested_by || '?'));
    tr.appendChild(mfn.element('td', 'run-reason', run.reason || ''));
    tr.appendChild(mfn.element('td', 'run-budget', budget(run)));
    const state = mfn.element('td', 'run-state ' + stateClass(run.state), run.state || '?');
    if (run.updated_at) {
      state.title = 'updated ' + local(run.updated_at);
    }
    tr.appendChild(state);
    const detail = mfn.element('td', 'run-detail');
    if (run.run) {
      detail.appendChild(mfn.element('code', 'run-name', run.run));
    }
    if (run.message) {
      detail.appendChild(mfn.element('span', 'run-message', run.message));
    }
    tr.appendChild(detail);
    return tr;
  }

  function stopPolling() {
    if (poll !== null) {
      clearTimeout(poll);
      poll = null;
    }
  }

  // the training runs, newest first; read again in 5 s while the tab is shown and one is still going
  async function loadRuns() {
    stopPolling();
    const mine = ++latestRuns;
    const r = await mfn.call('training/runs');
    if (mine !== latestRuns) {
      return;
    }
    if (!r.ok) {
      runsStatus.textContent = mfn.problem(r);
      runsStatus.classList.add('problem');
      runsRows.replaceChildren();
      runsTable.hidden = true;
      // a passing failure (rate limit, a restart) must not end the following: try again later
      if (awaited !== null && Date.now() > awaitedUntil) {
        awaited = null;
      }
      // two minutes of nothing but failures: stop following (Refresh starts again)
      failingSince = failingSince || Date.now();
      if (Date.now() - failingSince > 2 * 60 * 1000) {
        following = false;
        awaited = null;
      }
      if ((following || awaited !== null) && r.status !== 401 && r.status !== 403 && !panel.hidden) {
        poll = setTimeout(() => {
          poll = null;
          if (!panel.hidden) {
            loadRuns();
          }
        }, 2 * POLL_MS);
      }
      return;
    }
    failingSince = 0;
    const runs = Array.isArray(r.body.runs) ? r.body.runs : [];
    const topics = r.body.topics || {};
    let text = runs.length === 0 ? 'no training runs yet'
        : runs.length + (runs.length === 1 ? ' run' : ' runs') + ', newest first';
    if (topics.requests || topics.runs) {
      text += ' (topics ' + [topics.requests, topics.runs].filter(t => t).join(' and ') + ')';
    }
    if (r.body.error) {
      text += '; ' + r.body.error;
    }
    runsStatus.textContent = text;
    runsStatus.classList.toggle('problem', Boolean(r.body.error));
    runsRows.replaceChildren();
    runs.forEach(run => runsRows.appendChild(runRow(run)));
    runsTable.hidden = runs.length === 0;
    if (awaited !== null && (runs.some(run => run.request_id === awaited) || Date.now() > awaitedUntil)) {
      awaited = null;
    }
    const going = runs.some(run => run.state === 'QUEUED' || run.state === 'STARTED');
    following = going;
    if ((going || awaited !== null) && !panel.hidden) {
      poll = setTimeout(() => {
        poll = null;
        if (!panel.hidden) {
          loadRuns();
        }
      }, POLL_MS);
    }
  }

  function whole(id) {
    const text = document.getElementById(id).value.trim();
    return text === '' ? undefined : Number(text);
  }

  form.addEventListener('submit', async e => {
    e.preventDefault();
    const body = {};
    const reason = document.getElementById('retrain-reason').value.trim();
    if (reason) {
      body.reason = reason;
    }
    const epochs = whole('retrain-epochs');
    const minutes = whole('retrain-minutes');
    for (const [name, value] of [['epochs', epochs], ['minutes', minutes]]) {
      if (value !== undefined) {
        if (!Number.isInteger(value) || value < 1) {
          answer.className = 'failed';
          answer.textContent = name + ' is a positive whole number';
          return;
        }
        body[name] = value;
      }
    }
    answer.className = '';
    answer.textContent = 'sending ...';
    const r = await mfn.call('retrain', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (!r.ok) {
      answer.className = 'failed';
      answer.textContent = 'not queued: ' + mfn.problem(r);
      return;
    }
    answer.className = 'done';
    answer.textContent = 'Queued: request ' + r.body.requestId + '; ' + r.body.status;
    awaited = r.body.requestId;
    awaitedUntil = Date.now() + 2 * 60 * 1000;
    loadRuns();
  });

  document.getElementById('models-refresh').addEventListener('click', load);
  mfn.onShow('models', load);
})();
