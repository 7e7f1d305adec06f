// Enrol tab: a person's name and photos in (POST /enroll: the photos go onto the enroll topic, and
// the embed job indexes them), then a row per photo with its state (GET /enroll/{id}?subject=S),
// asked every second until each is searchable or a dead letter (with the job's reason), for five
// minutes at most: a stopped or lagging embed job must not keep the page asking forever.
'use strict';

(() => {
  const POLL_MS = 1000;
  const GIVE_UP_MS = 5 * 60 * 1000;
  // at most this many photos are asked about per second, in turn: the key's rate limit (20/s by
  // default) stays free for the other tabs, however many photos were sent
  const PER_ROUND = 8;
  const form = document.getElementById('enroll-form');
  const subjectField = document.getElementById('enroll-subject');
  const photosField = document.getElementById('enroll-photos');
  const button = document.getElementById('enroll-submit');
  const status = document.getElementById('enroll-status');
  const table = document.getElementById('enroll-table');
  const rows = document.getElementById('enroll-rows');
  let run = 0; // only the last enrolment's photos are followed

  function plural(n, one, many) {
    return n + ' ' + (n === 1 ? one : many);
  }

  function row(photo) {
    const tr = mfn.element('tr', 'enroll-photo');
    tr.dataset.imageId = photo.id;
    tr.dataset.state = 'waiting';
    tr.appendChild(mfn.element('td', 'filename', photo.filename));
    tr.appendChild(mfn.element('td', 'image-id', photo.id));
    photo.stateCell = mfn.element('td', 'state', 'waiting');
    photo.reasonCell = mfn.element('td', 'reason', '');
    tr.appendChild(photo.stateCell);
    tr.appendChild(photo.reasonCell);
    photo.row = tr;
    return tr;
  }

  function show(photo, answer) {
    photo.state = answer.state;
    photo.row.dataset.state = answer.state;
    if (answer.state === 'searchable') {
      photo.stateCell.textContent = 'searchable';
      photo.reasonCell.textContent = plural(answer.faces, 'face', 'faces') + ' in the index of model ' + answer.model;
    } else if (answer.state === 'dead_letter') {
      photo.stateCell.textContent = 'dead letter';
      photo.reasonCell.textContent = answer.reason + (answer.message ? ': ' + answer.message : '');
    } else {
      photo.stateCell.textContent = 'waiting';
    }
  }

  function done(photo) {
    return photo.state === 'searchable' || photo.state === 'dead_letter';
  }

  function summary(photos) {
    const searchable = photos.filter(p => p.state === 'searchable').length;
    const refused = photos.filter(p => p.state === 'dead_letter').length;
    return plural(searchable, 'photo', 'photos') + ' searchable, ' + plural(refused, 'dead letter', 'dead letters');
  }

  async function follow(mine, subject, photos, since) {
    const started = Date.now();
    let next = 0; // where the next round starts among the photos still waiting
    for (;;) {
      const waiting = photos.filter(p => !done(p));
      if (waiting.length === 0) {
        status.textContent = 'Done: ' + summary(photos) + '.';
        return;
      }
      if (Date.now() - started > GIVE_UP_MS) {
        status.textContent = 'Stopped checking after 5 minutes: ' + plural(waiting.length, 'photo is', 'photos are')
            + ' still waiting (is the embed job running and keeping up?); ' + summary(photos) + '.';
        return;
      }
      let problem = null;
      for (let i = 0; i < Math.min(PER_ROUND, waiting.length); i++) {
        const photo = waiting[(next + i) % waiting.length];
        // since: a dead letter of an earlier sending of the same photo (same id) is not this one's
        const r = await mfn.call('enroll/' + encodeURIComponent(photo.id) + '?subject=' + encodeURIComponent(subject)
            + '&since=' + since);
        if (mine !== run) {
          return; // a newer enrolment took over the table
        }
        if (r.ok) {
          show(photo, r.body);
        } else {
          problem = mfn.problem(r);
        }
      }
      next += PER_ROUND;
      const left = photos.filter(p => !done(p)).length;
      if (left === 0) {
        continue; // the loop's first check says so
      }
      status.textContent = problem ? 'could not ask about every photo: ' + problem + '; trying again'
          : 'the embed job is on it: ' + summary(photos) + ', ' + left + ' waiting ...';
      await new Promise(resolve => setTimeout(resolve, POLL_MS));
      if (mine !== run) {
        return;
      }
    }
  }

  form.addEventListener('submit', async e => {
    e.preventDefault(); // the page never navigates: the key stays in its memory
    const subject = subjectField.value.trim();
    const files = Array.from(photosField.files);
    if (!subject) {
      status.textContent = "type the person's name first";
      return;
    }
    if (files.length === 0) {
      status.textContent = 'choose one or more photos first';
      return;
    }
    const mine = ++run;
    button.disabled = true;
    status.textContent = 'sending ' + plural(files.length, 'photo', 'photos') + ' of ' + subject + ' ...';
    const data = new FormData();
    data.append('subject', subject);
    files.forEach(f => data.append('photo', f));
    const r = await mfn.call('enroll', { method: 'POST', body: data });
    button.disabled = false;
    if (mine !== run) {
      return;
    }
    if (!r.ok) {
      status.textContent = 'not enrolled: ' + mfn.problem(r);
      return;
    }
    const photos = r.body.photos.map(p => ({ id: p.image_id, filename: p.filename, state: 'waiting' }));
    rows.replaceChildren();
    photos.forEach(p => rows.appendChild(row(p)));
    table.hidden = false;
    photosField.value = ''; // the same photos chosen again are a new enrolment
    status.textContent = 'sent ' + plural(photos.length, 'photo', 'photos') + ' of ' + r.body.subject
        + (r.body.topic ? ' to ' + r.body.topic : '') + '; waiting for the embed job ...';
    follow(mine, r.body.subject, photos, r.body.submitted_at);
  });
})();
