/* Live regions: every element with data-live="/live/..." is refreshed from
   that URL every 10 seconds while the page is visible. Served by the app
   itself (Content-Security-Policy: script-src 'self'); no framework. */
(function () {
  "use strict";
  var PERIOD_MS = parseInt(document.body.getAttribute("data-live-period"), 10) || 10000;
  var status = document.querySelector("[data-live-status]");
  var regions = Array.prototype.slice.call(document.querySelectorAll("[data-live]"));
  var stopped = false;
  var timer = null;

  function say(text) {
    if (status) { status.textContent = text; }
  }

  function clock() {
    var d = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  /* Never replace a region the user is working in: a focused field, an
     opened form, or text typed but not sent. */
  function busy(region) {
    if (region.contains(document.activeElement) && document.activeElement !== document.body) {
      return true;
    }
    if (region.querySelector("details[open]")) { return true; }
    var fields = region.querySelectorAll("textarea, input[type=text], input:not([type])");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value) { return true; }
    }
    return false;
  }

  /* Frames scrolled by hand (the map on a phone) keep their place when
     their region is redrawn. */
  function scrolled(region) {
    return Array.prototype.map.call(region.querySelectorAll("[data-keep-scroll]"), function (e) {
      return [e.getAttribute("data-keep-scroll"), e.scrollLeft, e.scrollTop];
    });
  }

  function rescroll(region, kept) {
    kept.forEach(function (k) {
      var frame = region.querySelector('[data-keep-scroll="' + k[0] + '"]');
      if (frame) { frame.scrollLeft = k[1]; frame.scrollTop = k[2]; }
    });
  }

  function refresh(region) {
    return fetch(region.getAttribute("data-live"), {
      credentials: "same-origin",
      headers: { "Accept": "text/html" },
      cache: "no-store",
      redirect: "error"
    }).then(function (response) {
      if (response.status === 401 || response.status === 403) {
        stopped = true;
        say(status ? status.getAttribute("data-text-paused") : "");
        return;
      }
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text().then(function (html) {
        if (!busy(region)) {
          var kept = scrolled(region);
          region.innerHTML = html;
          rescroll(region, kept);
          region.setAttribute("data-live-updated", String(Date.now()));
        }
      });
    });
  }

  function tick() {
    timer = null;
    if (stopped) { return; }
    if (document.hidden) { schedule(); return; }
    Promise.all(regions.map(refresh)).then(function () {
      if (!stopped && status) {
        say(status.getAttribute("data-text-updated").replace("{time}", clock()));
      }
    }, function () {
      if (status) { say(status.getAttribute("data-text-offline")); }
    }).then(schedule);
  }

  function schedule() {
    if (!stopped && timer === null) { timer = window.setTimeout(tick, PERIOD_MS); }
  }

  if (regions.length) {
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && timer !== null) {
        window.clearTimeout(timer);
        timer = null;
        tick();
      }
    });
    schedule();
  }

  /* Long selects kept once a page in a <template> (the rules page's sites
     and boards, one copy instead of one a form) are copied into a form's
     select when its <details> is opened. */
  function fill(select) {
    var source = document.getElementById(select.getAttribute("data-fill"));
    select.removeAttribute("data-fill");
    if (source) { select.appendChild(source.content.cloneNode(true)); }
  }
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (details.open && details.querySelectorAll) {
      Array.prototype.forEach.call(details.querySelectorAll("select[data-fill]"), fill);
    }
  }, true);

  /* A refused form's error page (error.html): "Go back" returns to the
     form as it was left, what was typed still in it, where the browser
     keeps it; without a history the link opens the form's page. */
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-history-back]") : null;
    if (link && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });

  /* Buttons that change something are disabled once pressed, so a double
     tap on a phone does not send the form twice. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.method && form.method.toLowerCase() === "post") {
      var buttons = form.querySelectorAll("button[type=submit]");
      window.setTimeout(function () {
        for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = true; }
      }, 0);
    }
  });
})();

/* The "where" picker (input[data-place-search], see _where_select.html):
   as the reader types, up to 20 places in their scope are fetched from
   /search/places and offered in the input's <datalist>; the chosen
   suggestion's text ends with its id, which the server reads. */
(function () {
  "use strict";
  var DELAY_MS = 200;
  Array.prototype.forEach.call(document.querySelectorAll("input[data-place-search]"), function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null;
    var asked = "";
    if (!list || !window.fetch) { return; }
    function show(items) {
      var options = document.createDocumentFragment();
      items.forEach(function (item) {
        var option = document.createElement("option");
        option.value = item.label;
        options.appendChild(option);
      });
      while (list.firstChild) { list.removeChild(list.firstChild); }
      list.appendChild(options);
    }
    function ask() {
      var text = input.value.trim();
      if (text.length < 2 || text === asked || /\[(site|board):[^\]]+\]$/.test(text)) { return; }
      asked = text;
      var url = input.getAttribute("data-place-search") + "?q=" + encodeURIComponent(text);
      var kind = input.getAttribute("data-place-kind");
      if (kind) { url += "&kind=" + encodeURIComponent(kind); }
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : {items: []}; })
        .then(function (body) { if (asked === text) { show(body.items || []); } })
        .catch(function () { /* offline: the listed places stay */ });
    }
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, DELAY_MS);
    });
  });
})();

/* A refused form comes back as its page again, at the top unless its
   action names its section: on a phone the reason (and the field at fault)
   may be screens below. Bring the first refusal into view and put the
   cursor in its marked field. */
(function () {
  "use strict";
  var refusal = document.querySelector(".refusal[role=alert]");
  if (!refusal || window.location.hash) { return; }
  refusal.scrollIntoView({block: "start"});
  var field = document.querySelector("[aria-invalid=true]");
  if (field && field.focus) { field.focus({preventScroll: true}); }
})();
