// Verify tab: two photos, one face each: the same person or not, the similarity against the
// model's 1:1 threshold and where that threshold comes from (POST /verify, fields a and b).
'use strict';

(() => {
  const a = document.getElementById('verify-a');
  const b = document.getElementById('verify-b');
  const status = document.getElementById('verify-status');
  const result = document.getElementById('verify-result');
  const verdict = document.getElementById('verify-verdict');
  const why = document.getElementById('verify-why');
  let latest = 0;

  function preview(input, img) {
    input.addEventListener('change', () => {
      result.hidden = true;
      img.src = input.files[0] ? URL.createObjectURL(input.files[0]) : '';
    });
  }
  preview(a, document.getElementById('verify-a-preview'));
  preview(b, document.getElementById('verify-b-preview'));

  document.getElementById('verify-run').addEventListener('click', async () => {
    const mine = ++latest;
    result.hidden = true;
    if (!a.files[0] || !b.files[0]) {
      status.textContent = 'choose two photos first';
      return;
    }
    status.textContent = 'comparing ...';
    const form = new FormData();
    form.append('a', a.files[0]);
    form.append('b', b.files[0]);
    const r = await mfn.call('verify', { method: 'POST', body: form });
    if (mine !== latest) {
      return;
    }
    if (!r.ok) {
      status.textContent = mfn.problem(r);
      return;
    }
    const v = r.body;
    status.textContent = '';
    verdict.textContent = v.same_person ? 'Same person' : 'Different people';
    verdict.className = v.same_person ? 'same' : 'different';
    why.textContent = 'similarity ' + v.similarity.toFixed(3) + (v.same_person ? ' >= ' : ' < ') + 'threshold '
        + v.threshold.toFixed(3) + ' (' + v.threshold_source + '), model ' + v.model;
    result.hidden = false;
  });
})();
