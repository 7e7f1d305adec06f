// Pipeline tab: the Flink jobs (state, restarts, last checkpoint, records per second), the consumer
// lag of each group on each topic, and the dead letters by reason with recent examples and a
// thumbnail of the photo where it decodes (GET /pipeline, GET /pipeline/dead-letters/{p}/{o}/thumbnail).
'use strict';

(() => {
  const status = document.getElementById('pipeline-status');
  const jobs = document.getElementById('pipeline-jobs');
  const lag = document.getElementById('pipeline-lag');
  const reasons = document.getElementById('pipeline-reasons');
  const recent = document.getElementById('pipeline-recent');
  let latest = 0;

  function table(headings, rows) {
    const t = mfn.element('table', 'grid');
    const head = mfn.element('tr');
    headings.forEach(h => head.appendChild(mfn.element('th', null, h)));
    t.appendChild(head);
    rows.forEach(cells => {
      const tr = mfn.element('tr');
      cells.forEach(c => {
        const td = mfn.element('td');
        if (c instanceof Node) {
          td.appendChild(c);
        } else {
          td.textContent = c === null || c === undefined ? '' : String(c);
        }
        tr.appendChild(td);
      });
      t.appendChild(tr);
    });
    return t;
  }

  function when(ms) {
    return ms > 0 ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '';
  }

  function fill(box, error, build) {
    box.replaceChildren();
    if (error) {
      box.appendChild(mfn.element('p', 'problem', error));
    } else {
      box.appendChild(build());
    }
  }

  async function load() {
    const mine = ++latest;
    status.textContent = 'reading the pipeline ...';
    const r = await mfn.call('pipeline');
    if (mine !== latest) {
      return;
    }
    if (!r.ok) {
      status.textContent = mfn.problem(r);
      return;
    }
    const p = r.body;
    status.textContent = p.flink ? 'Flink cluster at ' + p.flink : '';
    // several clusters (one per application cluster): the ones that answer are listed, the others named
    jobs.replaceChildren();
    if (p.jobs_error) {
      jobs.appendChild(mfn.element('p', 'problem', p.jobs_error));
    }
    if (p.jobs) {
      jobs.appendChild(p.jobs.length === 0 ? mfn.element('p', null, 'no jobs on the cluster')
        : table(['job', 'state', 'started', 'restarts', 'last checkpoint', 'records/s'], p.jobs.map(j => [
          j.name + ' (' + j.id.substring(0, 8) + ')', j.state, when(j.start_time), j.restarts,
          j.last_checkpoint ? '#' + j.last_checkpoint.id + ' at ' + when(j.last_checkpoint.completed_at) + ', '
            + j.last_checkpoint.duration_ms + ' ms, ' + j.last_checkpoint.size_bytes + ' bytes' : 'none yet',
          j.records_per_second === null ? '' : j.records_per_second.toFixed(1)])));
    }
    fill(lag, p.lag_error, () => p.lag.length === 0 ? mfn.element('p', null, 'no consumer group has committed offsets')
      : table(['group', 'topic', 'lag (records)', 'partitions'], p.lag.map(l => [l.group, l.topic, l.lag, l.partitions])));
    const d = p.dead_letters;
    fill(reasons, p.dead_letters_error, () => {
      const entries = Object.entries(d.by_reason);
      return entries.length === 0 ? mfn.element('p', null, 'no dead letters on ' + d.topic)
        : table(['reason', 'dead letters (last ' + d.scanned + ' on ' + d.topic + ')'], entries);
    });
    fill(recent, p.dead_letters_error, () => table(['time', 'subject', 'reason', 'why', 'photo'], d.recent.map(e => {
      const cell = mfn.element('span', 'dead-letter', e.has_photo ? '' : 'none');
      cell.dataset.reason = e.reason;
      if (e.has_photo) {
        const img = mfn.element('img', 'thumb');
        img.alt = 'no preview';
        mfn.image('pipeline/dead-letters/' + e.partition + '/' + e.offset + '/thumbnail').then(url => {
          if (url) {
            img.src = url;
          } else {
            cell.textContent = 'no preview (not decodable)';
          }
        });
        cell.appendChild(img);
      }
      return [e.time, e.subject || '', e.reason, e.message, cell];
    })));
  }

  document.getElementById('pipeline-refresh').addEventListener('click', load);
  mfn.onShow('pipeline', load);
})();
