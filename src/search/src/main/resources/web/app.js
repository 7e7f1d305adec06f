// The key stays in this page's memory only (never in browser storage): closing the tab forgets
// it, and no other script of this origin can read it later.
const keyField = document.getElementById('key');
const drop = document.getElementById('drop');
drop.addEventListener('dragover', e => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', e => { e.preventDefault(); drop.classList.remove('over'); if (e.dataTransfer.files[0]) search(e.dataTransfer.files[0]); });
document.getElementById('file').addEventListener('change', e => { if (e.target.files[0]) search(e.target.files[0]); });

async function search(file) {
  const status = document.getElementById('status');
  const results = document.getElementById('results');
  const stage = document.getElementById('stage');
  const photo = document.getElementById('photo');
  status.textContent = 'searching ...';
  results.innerHTML = '';
  stage.querySelectorAll('.box').forEach(b => b.remove());
  photo.src = URL.createObjectURL(file);
  await photo.decode();
  const form = new FormData();
  form.append('photo', file);
  const response = await fetch('search?k=3', { method: 'POST', body: form, headers: { 'X-API-Key': keyField.value } });
  const body = await response.json();
  if (!response.ok) { status.textContent = body.error || response.statusText; return; }
  status.textContent = body.faces.length + ' face(s); model ' + body.model + ', threshold ' + body.threshold.toFixed(3);
  const scale = photo.clientWidth / photo.naturalWidth;
  body.faces.forEach((face, i) => {
    const name = face.unknown ? 'unknown' : face.subject;
    const box = document.createElement('div');
    box.className = 'box';
    box.style.left = (face.box[0] * scale) + 'px';
    box.style.top = (face.box[1] * scale) + 'px';
    box.style.width = (face.box[2] * scale) + 'px';
    box.style.height = (face.box[3] * scale) + 'px';
    box.innerHTML = '<span>' + (i + 1) + ': ' + escape(name) + '</span>';
    stage.appendChild(box);
    const row = document.createElement('div');
    row.className = 'face';
    row.innerHTML = '<h3 class="face-name">face ' + (i + 1) + ': ' + escape(name) + '</h3>';
    face.matches.forEach(m => {
      const cell = document.createElement('div');
      cell.className = 'match';
      const img = document.createElement('img');
      thumbnail(m.id).then(url => img.src = url);
      cell.appendChild(img);
      cell.appendChild(document.createTextNode(m.subject + ' ' + m.similarity.toFixed(3)));
      row.appendChild(cell);
    });
    results.appendChild(row);
  });
}

async function thumbnail(id) {
  const r = await fetch('faces/' + encodeURIComponent(id) + '/crop', { headers: { 'X-API-Key': keyField.value } });
  return r.ok ? URL.createObjectURL(await r.blob()) : '';
}

function escape(s) {
  return String(s).replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
}
