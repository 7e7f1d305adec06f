// Subjects tab: the enrolled people of the served version, sorted by name, with their face counts
// and a thumbnail each, a name filter and paging (GET /subjects); a person's faces (GET
// /subjects/{s}/faces, crops by GET /faces/{id}/crop); and their deletion after a confirmation that
// says what goes (DELETE /subjects/{s}).
'use strict';

(() => {
  const PAGE = 20;
  const filterField = document.getElementById('subjects-filter');
  const status = document.getElementById('subjects-status');
  const outcome = document.getElementById('subjects-result');
  const list = document.getElementById('subjects-list');
  const pageText = document.getElementById('subjects-page');
  const prev = document.getElementById('subjects-prev');
  const next = document.getElementById('subjects-next');
  const detail = document.getElementById('subject-detail');
  const detailName = document.getElementById('subject-name');
  const detailSummary = document.getElementById('subject-summary');
  const detailFaces = document.getElementById('subject-faces');
  const deleteButton = document.getElementById('subject-delete');
  let offset = 0;
  let total = 0;
  let latest = 0;
  let opened = 0;
  let selected = null; // { subject, faces } shown in the detail

  function faces(n) {
    return n + (n === 1 ? ' face' : ' faces');
  }

  function subjectPath(subject) {
    return 'subjects/' + encodeURIComponent(subject);
  }

  // One user action (a tab shown, a page turned, a filter typed, a refresh, a deletion) is one load();
  // it may jump once to the last page when its page came back empty. Once only: on Elasticsearch the
  // pages beyond 10,000 hits are always empty and the total is approximate, so the "last page" the
  // total points at can be empty too, and jumping again would ask for it forever.
  function load() {
    return fetchPage(false);
  }

  async function fetchPage(jumped) {
    const mine = ++latest;
    const filter = filterField.value.trim();
    status.textContent = 'loading ...';
    const r = await mfn.call('subjects?offset=' + offset + '&limit=' + PAGE + (filter ? '&filter=' + encodeURIComponent(filter) : ''));
    if (mine !== latest) {
      return; // a newer load is under way
    }
    if (!r.ok) {
      status.textContent = mfn.problem(r);
      list.replaceChildren();
      pageText.textContent = '';
      prev.disabled = true;
      next.disabled = true;
      return;
    }
    const page = r.body;
    total = page.total;
    if (page.subjects.length === 0 && offset > 0 && total > 0 && !jumped) {
      const last = Math.floor((total - 1) / PAGE) * PAGE; // the page emptied (a deletion): show the last one
      if (last < offset) {
        offset = last;
        fetchPage(true);
        return;
      }
    }
    list.replaceChildren();
    page.subjects.forEach(s => list.appendChild(row(s)));
    if (total === 0) {
      status.textContent = filter ? 'nobody whose name contains "' + filter + '"' : 'nobody is enrolled in model ' + page.model;
      pageText.textContent = '';
    } else {
      status.textContent = total + (total === 1 ? ' person' : ' people') + (filter ? ' whose name contains "' + filter + '"' : '')
          + ' in the index of model ' + page.model;
      pageText.textContent = page.subjects.length === 0
          ? 'nothing from ' + (offset + 1) + ' on (of about ' + total + ')'
          : (offset + 1) + '-' + (offset + page.subjects.length) + ' of ' + total;
    }
    prev.disabled = offset === 0;
    next.disabled = page.subjects.length === 0 || offset + page.subjects.length >= total;
  }

  function row(s) {
    const item = mfn.element('li', 'subject');
    item.dataset.subject = s.subject;
    const open = mfn.element('button', 'subject-open');
    open.type = 'button';
    const img = mfn.element('img', 'subject-thumb');
    img.alt = '';
    if (s.face_id) {
      mfn.thumbnail(s.face_id).then(url => { img.src = url; });
    }
    open.appendChild(img);
    open.appendChild(mfn.element('span', 'subject-name', s.subject));
    open.appendChild(mfn.element('span', 'subject-faces', faces(s.faces)));
    open.addEventListener('click', () => show(s));
    item.appendChild(open);
    return item;
  }

  async function show(s) {
    const mine = ++opened;
    selected = s;
    detail.hidden = false;
    detailName.textContent = s.subject;
    detailSummary.textContent = 'loading the faces ...';
    detailFaces.replaceChildren();
    const r = await mfn.call(subjectPath(s.subject) + '/faces?limit=60');
    if (mine !== opened) {
      return;
    }
    if (!r.ok) {
      detailSummary.textContent = mfn.problem(r);
      return;
    }
    const shown = r.body.faces;
    detailSummary.textContent = faces(s.faces) + ' in the index of model ' + r.body.model
        + (shown.length < s.faces ? '; the first ' + shown.length + ' shown' : '');
    shown.forEach(f => {
      const figure = mfn.element('figure', 'subject-face');
      figure.dataset.id = f.id;
      const img = mfn.element('img', 'subject-face-crop');
      img.alt = f.id;
      mfn.thumbnail(f.id).then(url => { img.src = url; });
      figure.appendChild(img);
      figure.appendChild(caption(f));
      detailFaces.appendChild(figure);
    });
  }

  // A face's caption: the photo it came from first (what a person looks for to check a face), then
  // when that photo was published, then where in it the face is. One line each (div: block without
  // a style rule); faces indexed before the index kept sources have neither of the first two.
  function caption(f) {
    const figcaption = mfn.element('figcaption');
    if (f.source) {
      const from = mfn.element('div', 'subject-face-source', 'from ' + f.source);
      from.style.overflowWrap = 'anywhere'; // a long path without spaces stays within the 140px caption
      figcaption.appendChild(from);
    }
    if (f.published_at) {
      figcaption.appendChild(mfn.element('div', 'subject-face-published', 'published ' + published(f.published_at)));
    }
    const box = Array.isArray(f.box) ? f.box.map(v => Math.round(v)).join(', ') : 'unknown';
    figcaption.appendChild(mfn.element('div', 'subject-face-where', 'image ' + f.image_id + ', face ' + f.face_index + ', box ' + box));
    return figcaption;
  }

  // an ISO-8601 time as the Pipeline tab writes times (UTC, to the second); as sent if unreadable
  function published(iso) {
    const t = new Date(iso);
    return isNaN(t.getTime()) ? iso : t.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  }

  // what a deletion leaves behind: the photos already in Kafka's photo topics, until each topic's
  // retention ends (read from the broker through GET /pipeline; said plainly when it cannot be)
  async function retention() {
    const generic = 'photos already in Kafka topics stay there until their retention ends.';
    const r = await mfn.call('pipeline');
    const body = r.body || {};
    if (!r.ok || !Array.isArray(body.photo_retention)) {
      const why = r.ok ? body.photo_retention_error : mfn.problem(r);
      return generic + (why ? ' (their retention could not be read: ' + why + ')' : '');
    }
    if (body.photo_retention.length === 0) {
      return 'none of the photo topics the service knows exists on the broker, so no photo stays in Kafka.';
    }
    return 'their photos stay in Kafka until each topic\'s retention ends: ' + body.photo_retention.map(t =>
        t.topic + ' ' + (t.retention_ms < 0 ? 'forever (retention.ms -1)' : days(t.retention_days))
        + (t.compacted ? ' (compacted: until a newer record with the same key replaces it)' : '')).join(', ') + '.';
  }

  function days(d) {
    return d >= 1 ? d.toFixed(d % 1 === 0 ? 0 : 1) + (d === 1 ? ' day' : ' days') : (d * 24).toFixed(1) + ' hours';
  }

  deleteButton.addEventListener('click', async () => {
    if (!selected) {
      return;
    }
    const s = selected;
    deleteButton.disabled = true;
    outcome.className = '';
    outcome.textContent = 'checking what a deletion of ' + s.subject + ' leaves behind ...';
    let kept;
    try {
      kept = await retention();
    } catch (e) {
      kept = 'photos already in Kafka topics stay there until their retention ends.';
    } finally {
      deleteButton.disabled = false;
      outcome.textContent = '';
    }
    const question = 'Delete ' + s.subject + '?\n\nThis removes all ' + faces(s.faces) + ' of ' + s.subject
        + " from every model version's index, vectors and crops; a tombstone keeps them from coming back.\n\n"
        + 'What stays: ' + kept + ' Photos that travelled by reference stay in the blob store, and training'
        + ' shards already cut keep their crops (delete the cut, or cut again).';
    if (!window.confirm(question)) {
      return;
    }
    deleteButton.disabled = true;
    outcome.className = '';
    outcome.textContent = 'deleting ' + s.subject + ' ...';
    const r = await mfn.call(subjectPath(s.subject), { method: 'DELETE' });
    deleteButton.disabled = false;
    if (!r.ok) {
      outcome.className = 'failed';
      outcome.textContent = s.subject + ' was not deleted: ' + mfn.problem(r);
      return;
    }
    outcome.className = 'done';
    outcome.textContent = 'Deleted ' + r.body.subject + ': ' + faces(r.body.removed)
        + " removed from every model version's index (vectors and crops); the tombstone is recorded.";
    selected = null;
    opened++; // a faces answer still on its way is not shown
    detail.hidden = true;
    load();
  });

  let typing;
  filterField.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => { offset = 0; load(); }, 250);
  });
  filterField.addEventListener('keydown', e => {
    if (e.key === 'Enter') {
      clearTimeout(typing);
      offset = 0;
      load();
    }
  });
  document.getElementById('subjects-refresh').addEventListener('click', load);
  prev.addEventListener('click', () => { offset = Math.max(0, offset - PAGE); load(); });
  next.addEventListener('click', () => { offset += PAGE; load(); });

  mfn.onShow('subjects', load);
})();
