/* Bureau-de-vote locator: the embed script of the copy-paste snippet.
 *
 *   <div data-bureau-de-vote data-lang="fr" data-departement="57" data-colour="1d4ed8" data-map="1"></div>
 *   <script src="https://HOST/embed.js" async></script>
 *
 * Replaces each [data-bureau-de-vote] element's content with an iframe of HOST/widget and
 * resizes it from the height messages the widget posts (accepted only from HOST).
 */
(function () {
  'use strict';

  var script = document.currentScript;
  if (!script) {
    var scripts = document.querySelectorAll('script[src$="/embed.js"]');
    script = scripts[scripts.length - 1];
  }
  if (!script) { return; }
  var origin = new URL(script.src, document.baseURI).origin;
  var OPTIONS = { lang: 'lang', colour: 'colour', departement: 'departement', map: 'map' };
  var frames = [];

  function mount(node) {
    if (node.getAttribute('data-bureau-de-vote-ready')) { return; }
    node.setAttribute('data-bureau-de-vote-ready', '1');
    var params = new URLSearchParams();
    Object.keys(OPTIONS).forEach(function (key) {
      var value = node.getAttribute('data-' + key);
      if (value) { params.set(OPTIONS[key], value); }
    });
    var lang = node.getAttribute('data-lang') === 'en' ? 'en' : 'fr';
    var iframe = document.createElement('iframe');
    iframe.src = origin + '/widget' + (params.toString() ? '?' + params.toString() : '');
    iframe.title = node.getAttribute('data-title') ||
      (lang === 'en' ? 'Find my polling station' : 'Trouver mon bureau de vote');
    iframe.loading = 'lazy';
    iframe.setAttribute('referrerpolicy', 'no-referrer');
    iframe.style.width = '100%';
    iframe.style.minWidth = '280px';
    iframe.style.height = '420px';
    iframe.style.border = '0';
    iframe.style.display = 'block';
    node.textContent = '';
    node.appendChild(iframe);
    frames.push(iframe);
  }

  window.addEventListener('message', function (event) {
    if (event.origin !== origin || !event.data || event.data.type !== 'bureau-de-vote:height') { return; }
    var height = Number(event.data.height);
    if (!isFinite(height)) { return; }
    frames.forEach(function (iframe) {
      if (iframe.contentWindow === event.source) {
        iframe.style.height = Math.max(200, Math.min(4000, Math.ceil(height))) + 'px';
      }
    });
  });

  document.querySelectorAll('[data-bureau-de-vote]').forEach(mount);
})();
