// Search tab: a photo in (dropped or chosen), every face boxed and named, each with its best
// matches as thumbnails and scores (POST /search, GET /faces/{id}/crop).
'use strict';

(() => {
  const drop = document.getElementById('drop');
  drop.addEventListener('dragover', e => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', e => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files[0]) {
      search(e.dataTransfer.files[0]);
    }
  });
  document.getElementById('file').addEventListener('change', e => {
    const file = e.target.files[0];
    e.target.value = ''; // choosing the same photo again searches again
    if (file) {
      search(file);
    }
  });

  let latest = 0; // only the last search's answer is drawn

  async function search(file) {
    const mine = ++latest;
    const status = document.getElementById('status');
    const results = document.getElementById('results');
    const stage = document.getElementById('stage');
    const photo = document.getElementById('photo');
    status.textContent = 'searching ...';
    results.replaceChildren();
    stage.querySelectorAll('.box').forEach(b => b.remove());
    photo.src = URL.createObjectURL(file);
    try {
      await photo.decode();
    } catch (e) {
      if (mine === latest) {
        status.textContent = 'this file is not an image the browser can show';
      }
      return;
    }
    const form = new FormData();
    form.append('photo', file);
    const r = await mfn.call('search?k=3', { method: 'POST', body: form });
    if (mine !== latest) {
      return;
    }
    if (!r.ok) {
      status.textContent = mfn.problem(r);
      return;
    }
    const body = r.body;
    status.textContent = body.faces.length + ' face(s); model ' + body.model + ', threshold ' + body.threshold.toFixed(3);
    const scale = photo.clientWidth / photo.naturalWidth;
    body.faces.forEach((face, i) => {
      const name = face.unknown ? 'unknown' : face.subject;
      const box = mfn.element('div', 'box');
      box.style.left = (face.box[0] * scale) + 'px';
      box.style.top = (face.box[1] * scale) + 'px';
      box.style.width = (face.box[2] * scale) + 'px';
      box.style.height = (face.box[3] * scale) + 'px';
      box.appendChild(mfn.element('span', null, (i + 1) + ': ' + name));
      stage.appendChild(box);
      const row = mfn.element('div', 'face');
      row.appendChild(mfn.element('h3', 'face-name', 'face ' + (i + 1) + ': ' + name));
      face.matches.forEach(m => {
        const cell = mfn.element('div', 'match');
        const img = document.createElement('img');
        img.alt = m.subject;
        mfn.thumbnail(m.id).then(url => { img.src = url; });
        cell.appendChild(img);
        cell.appendChild(mfn.element('span', 'match-text', m.subject + ' ' + m.similarity.toFixed(3)));
        row.appendChild(cell);
      });
      results.appendChild(row);
    });
  }
})();
