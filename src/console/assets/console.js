// The console's one script: the live progress bar of a teardown's page. The page works without it
// (reload to see progress); with it, the bar follows the teardown, and the page reloads once when
// the status changes so that the timeline, archive and receipt show what happened.
(function () {
  'use strict';
  var section = document.getElementById('progress');
  if (!section || section.getAttribute('data-finished') === 'true') return;
  var url = section.getAttribute('data-progress-url');
  var shownStatus = section.getAttribute('data-status');
  var field = function (name) {
    return section.querySelector('[data-field="' + name + '"]');
  };
  var setBar = function (id, percent) {
    var bar = document.getElementById(id);
    if (!bar) return;
    if (percent === null) bar.removeAttribute('value');
    else bar.value = percent;
    bar.textContent = percent === null ? 'unknown' : percent + '%';
  };
  var failures = 0;
  var poll = function () {
    fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (response) {
        if (response.status === 401) throw new Error('signed out');
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (p) {
        failures = 0;
        field('statusLabel').textContent = p.statusLabel;
        field('step').textContent = p.step;
        field('etaText').textContent = p.etaText ? ' · ' + p.etaText : '';
        field('leads').textContent =
          p.leadsExported + ' of ' + (p.leadsTotal === null ? 'unknown' : p.leadsTotal);
        field('requests').textContent =
          p.upstreamRequests +
          ' sent' +
          (p.upstreamRequestsLeft === null ? '' : ', about ' + p.upstreamRequestsLeft + ' to go');
        setBar('leads-bar', p.leadsPercent);
        setBar('requests-bar', p.requestsPercent);
        if (p.status !== shownStatus) {
          window.location.reload();
          return;
        }
        setTimeout(poll, 1500);
      })
      .catch(function (error) {
        failures += 1;
        field('live').textContent =
          'Live updates paused (' + error.message + '); reload the page to see the latest.';
        if (failures < 5 && error.message !== 'signed out') setTimeout(poll, 5000);
      });
  };
  setTimeout(poll, 1500);
})();
