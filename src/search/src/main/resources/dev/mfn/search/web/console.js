// The console's shared helpers: the API key, calls to the API, images behind the key, the tabs,
// escaping. The key stays in this page's memory only (never in browser storage, a cookie or the
// URL): the tabs are one page (hash navigation), so switching tabs keeps it, and closing or
// reloading the page forgets it; no other script of this origin can read it later.
'use strict';

const mfn = (() => {
  const keyField = document.getElementById('key');
  const tabs = ['search', 'verify', 'enroll', 'subjects', 'models', 'pipeline'];
  const shown = {};
  let refused = false; // a call got 401 (no key, or a wrong one)

  function headers(extra) {
    return Object.assign({ 'X-API-Key': keyField.value }, extra || {});
  }

  function sleep(ms) {
    return new Promise(resolve => setTimeout(resolve, ms));
  }

  // fetch() with the key; a 429 (the key's rate limit: nothing was done) is tried again after its
  // Retry-After, twice at most
  async function send(path, options) {
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(path, options);
      if (response.status !== 429 || attempt === 2) {
        return response;
      }
      await sleep(1000 * Math.min(10, Number(response.headers.get('Retry-After')) || 1));
    }
  }

  // fetch() with the key; resolves to { ok, status, body } where body is the answer's JSON (or
  // { error } when it is not JSON, or when the service did not answer at all)
  async function call(path, options) {
    const o = Object.assign({}, options || {});
    o.headers = headers(o.headers);
    let response;
    try {
      response = await send(path, o);
    } catch (e) {
      return { ok: false, status: 0, body: { error: 'the service does not answer' } };
    }
    let body;
    try {
      body = await response.json();
    } catch (e) {
      body = { error: response.statusText || ('HTTP ' + response.status) };
    }
    if (response.status === 401) {
      refused = true;
    }
    if (!response.ok && (!body || typeof body.error !== 'string')) {
      body = { error: 'HTTP ' + response.status };
    }
    return { ok: response.ok, status: response.status, body: body };
  }

  // an image the API serves behind the key, as a blob: URL for an <img> ('' when refused); a page
  // of thumbnails loads four at a time, so that it stays within the key's rate limit
  const images = [];
  let loading = 0;

  function image(path) {
    return new Promise(resolve => {
      images.push({ path: path, resolve: resolve });
      nextImages();
    });
  }

  function nextImages() {
    while (loading < 4 && images.length > 0) {
      const job = images.shift();
      loading++;
      loadImage(job.path).then(url => {
        loading--;
        job.resolve(url);
        nextImages();
      });
    }
  }

  async function loadImage(path) {
    try {
      const r = await send(path, { headers: headers() });
      return r.ok ? URL.createObjectURL(await r.blob()) : '';
    } catch (e) {
      return '';
    }
  }

  function thumbnail(faceId) {
    return image('faces/' + encodeURIComponent(faceId) + '/crop');
  }

  // an element with a class and a text (never parsed as HTML)
  function element(tag, className, text) {
    const e = document.createElement(tag);
    if (className) {
      e.className = className;
    }
    if (text !== undefined && text !== null) {
      e.textContent = String(text);
    }
    return e;
  }

  // what an error answer says, with a hint when the key is the problem
  function problem(r) {
    const error = (r.body && r.body.error) || ('HTTP ' + r.status);
    if (r.status === 401) {
      return error + ': type the API key above';
    }
    return error;
  }

  // a tab's script registers what to do each time its tab is shown (load its data)
  function onShow(tab, action) {
    shown[tab] = action;
  }

  function current() {
    const hash = location.hash.replace(/^#/, '');
    return tabs.includes(hash) ? hash : 'search';
  }

  function show() {
    const tab = current();
    tabs.forEach(t => {
      document.getElementById('panel-' + t).hidden = t !== tab;
      const link = document.getElementById('tab-' + t);
      link.classList.toggle('active', t === tab);
      if (t === tab) {
        link.setAttribute('aria-current', 'page');
      } else {
        link.removeAttribute('aria-current');
      }
    });
    if (shown[tab]) {
      shown[tab]();
    }
  }

  window.addEventListener('hashchange', show);
  // the scripts stand at the end of the page: every tab's script has registered by then
  document.addEventListener('DOMContentLoaded', show);
  // a key typed after a call was refused for want of one: load the tab again with it
  keyField.addEventListener('change', () => {
    if (!refused) {
      return;
    }
    refused = false;
    const tab = current();
    if (shown[tab]) {
      shown[tab]();
    }
  });

  return { call, image, thumbnail, element, problem, onShow };
})();
