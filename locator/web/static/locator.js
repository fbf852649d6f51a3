/* Bureau-de-vote locator: progressive enhancement of the page and the widget.
 *
 * Without this script everything works (the form POSTs and the server renders the result).
 * With it: address suggestions (ARIA 1.2 combobox), results inserted in place and announced
 * to screen readers, a "use my location" button, the Leaflet map, and, inside the widget's
 * iframe, the height sent to the embedding page (embed.js resizes the iframe).
 * No inline script or style anywhere: the CSP forbids them.
 */
(function () {
  'use strict';

  document.documentElement.classList.add('js');

  var form = document.getElementById('search-form');
  var resultBox = document.getElementById('result');
  var announce = document.getElementById('announce');
  var isWidget = document.body.classList.contains('widget-body');
  var lang = document.documentElement.lang || 'fr';

  function msg(name, n) {
    var text = (form && form.dataset['msg' + name]) || '';
    return n === undefined ? text : text.replace('{n}', String(n));
  }

  /* ---------------------------------------------------------------- results in place */

  function postSearch(body) {
    if (!resultBox) { return; }
    resultBox.setAttribute('aria-busy', 'true');
    announce.textContent = msg('Searching');
    fetch(form.action, {
      method: 'POST',
      body: body,
      headers: { 'X-Locator-Fragment': '1', 'Accept': 'text/html' },
      credentials: 'same-origin'
    }).then(function (response) {
      return response.text();
    }).then(function (html) {
      // Same-origin HTML rendered by our templates (every user value autoescaped).
      resultBox.innerHTML = html;
      showResult();
    }).catch(function () {
      resultBox.textContent = '';
      var p = document.createElement('p');
      p.className = 'error-message';
      p.setAttribute('role', 'alert');
      p.textContent = msg('Network');
      resultBox.appendChild(p);
    }).then(function () {
      resultBox.removeAttribute('aria-busy');
      notifyHeight();
    });
  }

  function showResult() {
    var heading = resultBox.querySelector('#result-heading');
    var sentence = resultBox.querySelector('[data-announce]');
    if (heading) { heading.focus({ preventScroll: true }); }
    // The voter sees the answer, not the form they just used (on a phone it is below the fold).
    var top = resultBox.querySelector('.result') || resultBox;
    top.scrollIntoView({ block: 'start' });
    announce.textContent = '';
    // A fresh text node after a tick makes screen readers announce even a repeated result.
    window.setTimeout(function () {
      announce.textContent = sentence ? sentence.textContent : '';
    }, 50);
    initMap(resultBox);
  }

  function formBody(source, submitter) {
    var data = new URLSearchParams();
    var fd = submitter ? new FormData(source, submitter) : new FormData(source);
    fd.forEach(function (value, key) { data.append(key, value); });
    return data;
  }

  if (form && resultBox) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      combo.cancel();
      positionMessage('');
      postSearch(formBody(form));
    });
    // Candidate pickers inside a result are forms too.
    resultBox.addEventListener('submit', function (event) {
      var target = event.target;
      if (!target.classList || !target.classList.contains('pick')) { return; }
      event.preventDefault();
      var submitter = event.submitter || null;
      if (submitter && submitter.name === 'q') { document.getElementById('q').value = submitter.value; }
      postSearch(formBody(target, submitter));
    });
  }

  /* ---------------------------------------------------------------- autocomplete */

  var combo = { cancel: function () {} };
  var input = document.getElementById('q');
  var list = document.getElementById('q-options');
  if (form && input && list && form.dataset.autocompleteUrl && window.fetch) {
    combo = makeCombobox(input, list);
  }

  function makeCombobox(input, list) {
    var items = [];
    var active = -1;
    var timer = null;
    var seq = 0;
    var status = document.createElement('p');
    status.className = 'visually-hidden';
    status.setAttribute('role', 'status');
    status.setAttribute('aria-live', 'polite');
    list.parentNode.appendChild(status);

    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', list.id);
    input.setAttribute('autocomplete', 'off');

    function open() {
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
    }

    function close() {
      list.hidden = true;
      input.setAttribute('aria-expanded', 'false');
      input.removeAttribute('aria-activedescendant');
      active = -1;
    }

    function highlight(index) {
      var options = list.querySelectorAll('[role="option"]');
      options.forEach(function (li, i) { li.setAttribute('aria-selected', i === index ? 'true' : 'false'); });
      active = index;
      if (index >= 0 && options[index]) {
        input.setAttribute('aria-activedescendant', options[index].id);
        options[index].scrollIntoView({ block: 'nearest' });
      } else {
        input.removeAttribute('aria-activedescendant');
      }
    }

    function choose(index) {
      var item = items[index];
      if (!item) { return; }
      input.value = item.label;
      close();
      if (form.requestSubmit) { form.requestSubmit(); } else { postSearch(formBody(form)); }
    }

    function render(results) {
      items = results;
      list.textContent = '';
      results.forEach(function (r, i) {
        var li = document.createElement('li');
        li.id = 'q-option-' + i;
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', 'false');
        li.textContent = r.label;
        list.appendChild(li);
      });
      active = -1;
      if (results.length) {
        open();
        status.textContent = msg('Count', results.length);
      } else {
        close();
        status.textContent = '';
      }
    }

    function fetchSuggestions() {
      var q = input.value.trim();
      if (q.length < 3) { render([]); return; }
      var id = ++seq;
      var url = form.dataset.autocompleteUrl + '?limit=5&q=' + encodeURIComponent(q);
      if (form.dataset.departement) { url += '&departement=' + encodeURIComponent(form.dataset.departement); }
      fetch(url, { headers: { 'Accept': 'application/json' } }).then(function (response) {
        return response.ok ? response.json() : { results: [] };
      }).then(function (data) {
        if (id === seq && document.activeElement === input) { render(data.results || []); }
      }).catch(function () {
        if (id === seq) { render([]); }
      });
    }

    input.addEventListener('input', function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(fetchSuggestions, 200);
    });
    input.addEventListener('keydown', function (event) {
      var count = items.length;
      if (event.key === 'ArrowDown' && count) {
        event.preventDefault();
        open();
        highlight(active + 1 >= count ? 0 : active + 1);
      } else if (event.key === 'ArrowUp' && count) {
        event.preventDefault();
        open();
        highlight(active - 1 < 0 ? count - 1 : active - 1);
      } else if (event.key === 'Enter' && !list.hidden && active >= 0) {
        event.preventDefault();
        choose(active);
      } else if (event.key === 'Escape' && !list.hidden) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener('blur', function () { window.setTimeout(close, 150); });
    list.addEventListener('mousedown', function (event) { event.preventDefault(); });
    list.addEventListener('click', function (event) {
      var li = event.target.closest('[role="option"]');
      if (li) { choose(Array.prototype.indexOf.call(list.children, li)); }
    });
    // A search was submitted: drop pending and in-flight suggestions.
    function cancel() {
      window.clearTimeout(timer);
      seq += 1;
      close();
    }

    return { cancel: cancel };
  }

  /* ---------------------------------------------------------------- my location */

  /* A refused or failed position is said on screen (under the buttons) and to screen readers. */
  function positionMessage(text) {
    var box = document.getElementById('position-message');
    if (!box) {
      box = document.createElement('p');
      box.id = 'position-message';
      box.className = 'position-message';
      box.setAttribute('role', 'alert');
      form.appendChild(box);
    }
    box.textContent = text;
    box.hidden = !text;
    notifyHeight();
  }

  if (form && !isWidget && navigator.geolocation && form.dataset.msgPosition) {
    var locate = document.createElement('button');
    locate.type = 'button';
    locate.className = 'button-secondary locate';
    locate.textContent = form.dataset.msgPosition;
    locate.addEventListener('click', function () {
      positionMessage('');
      navigator.geolocation.getCurrentPosition(function (pos) {
        var body = new URLSearchParams();
        body.append('lon', pos.coords.longitude.toFixed(6));
        body.append('lat', pos.coords.latitude.toFixed(6));
        postSearch(body);
      }, function (err) {
        var denied = err && err.code === 1;  // PERMISSION_DENIED
        positionMessage((denied && form.dataset.msgPositionDenied) || form.dataset.msgPositionError || '');
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
    form.querySelector('.field-row').appendChild(locate);
  }

  /* ---------------------------------------------------------------- map */

  function pair(text) {
    if (!text) { return null; }
    var parts = text.split(',');
    var lon = parseFloat(parts[0]);
    var lat = parseFloat(parts[1]);
    return isFinite(lon) && isFinite(lat) ? [lat, lon] : null;
  }

  function initMap(scope) {
    var el = scope.querySelector('.map');
    if (!el || !window.L || el.dataset.ready) { return; }
    el.dataset.ready = '1';
    var still = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    var map = L.map(el, { zoomControl: false, scrollWheelZoom: false, zoomAnimation: !still, fadeAnimation: !still });
    L.control.zoom({
      zoomInTitle: lang === 'en' ? 'Zoom in' : 'Zoomer',
      zoomOutTitle: lang === 'en' ? 'Zoom out' : 'Dézoomer'
    }).addTo(map);
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution || '', maxZoom: 19 }).addTo(map);
    }
    var bounds = L.latLngBounds([]);
    var point = pair(el.dataset.point);
    var bureau = pair(el.dataset.bureau);
    if (point) {
      L.circleMarker(point, { radius: 9, color: '#ffffff', weight: 3, fillColor: '#1d4ed8', fillOpacity: 1 })
        .addTo(map).bindTooltip(lang === 'en' ? 'Your address' : 'Votre adresse');
      bounds.extend(point);
    }
    if (bureau) {
      L.marker(bureau, {
        icon: L.divIcon({ className: 'bureau-marker', iconSize: [20, 20] }),
        title: el.dataset.bureauName || '',
        alt: el.dataset.bureauName || '',
        keyboard: false
      }).addTo(map).bindTooltip(el.dataset.bureauName || '');
      bounds.extend(bureau);
    }
    if (bounds.isValid()) { map.fitBounds(bounds.pad(0.4), { maxZoom: 16, animate: false }); }
    fetch(el.dataset.communeUrl, { headers: { 'Accept': 'application/geo+json' } }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (feature) {
      if (!feature) { return; }
      var outline = L.geoJSON(feature, {
        style: { color: '#14532d', weight: 3, dashArray: '6 4', fillColor: '#14532d', fillOpacity: 0.06 },
        interactive: false
      }).addTo(map);
      outline.bringToBack();
      var all = outline.getBounds();
      if (bounds.isValid()) { all.extend(bounds); }
      // No animation: the outline is drawn at its final zoom at once (and the page is stable
      // for whoever reads or captures it).
      map.fitBounds(all, { padding: [12, 12], animate: false });
      el.dataset.outline = '1';
    }).catch(function () { /* the map stays useful without the outline */ });
  }

  if (resultBox) { initMap(resultBox); }

  /* ---------------------------------------------------------------- widget height */

  function notifyHeight() {
    if (!isWidget || window.parent === window) { return; }
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    window.parent.postMessage({ type: 'bureau-de-vote:height', height: height }, '*');
  }
  if (isWidget) {
    if (window.ResizeObserver) { new ResizeObserver(notifyHeight).observe(document.body); }
    window.addEventListener('load', notifyHeight);
    notifyHeight();
  }
})();
