/* The office inbox's few rules htmx has no attribute for. No build step, no inline script (the CSP
 * allows none); loaded after vendor/htmx.min.js and vendor/sse.min.js on a live page.
 *
 * The markup does the rest (templates/base.html): the page listens to /inbox/events; on "change"
 * the hidden #live element fetches the page's own address and swaps in its live regions by id
 * (hx-select-oob), title included (a hidden tab shows the count waiting); a form marked hx-boost
 * posts in the background and swaps in the <main> it is answered with.
 */
(function () {
  "use strict";
  var kept = [];  // live regions left alone because the user was typing in them

  function edited(region) {
    return Array.prototype.some.call(region.querySelectorAll("input, textarea, select"), function (field) {
      if (field.type === "hidden" || field.type === "submit") {
        return false;
      }
      if (field.type === "checkbox" || field.type === "radio") {
        return field.checked !== field.defaultChecked;
      }
      if (field.tagName === "SELECT") {
        return Array.prototype.some.call(field.options, function (o) { return o.selected !== o.defaultSelected; });
      }
      return field.value !== field.defaultValue;
    });
  }

  function inUse(region) {
    return region.contains(document.activeElement) || edited(region);
  }

  // A live region the user is in (focused, or with a field typed in and not sent) is not replaced,
  // so a half-typed ETA or total is never lost; it is brought up to date once they leave it.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var region = event.detail.target;
    if (inUse(region)) {
      event.detail.shouldSwap = false;
      if (kept.indexOf(region.id) < 0) {
        kept.push(region.id);
      }
    }
  });

  document.addEventListener("focusout", function () {
    window.setTimeout(function () {  // after the focus has landed where it is going
      var live = document.getElementById("live");
      var stale = kept.filter(function (id) {
        var region = document.getElementById(id);
        return region && !inUse(region);
      });
      if (live && stale.length) {
        kept = [];
        htmx.trigger(live, "sse:change");
      }
    }, 0);
  });

  // A login that ended: a request answered with the login (or business) page loads that page,
  // and the event stream's "ended" (which closes it: sse-close) reloads this one, which shows it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var landed = new URL(event.detail.xhr.responseURL || window.location.href).pathname;
    if (landed === "/inbox/login" || landed === "/inbox/business") {
      event.preventDefault();
      window.location.assign(landed);
    }
  });
  document.addEventListener("htmx:sseClose", function (event) {
    if (event.detail.type === "message") {
      window.location.reload();
    }
  });

  // A stream that dropped (a server restarted, a laptop woke up) announced nothing while it was
  // down: once it is open again, the page fetches itself once, so what came meanwhile shows.
  var cut = false;
  document.addEventListener("htmx:sseError", function () {
    cut = true;
  });
  document.addEventListener("htmx:sseOpen", function () {
    var live = document.getElementById("live");
    if (cut && live) {
      cut = false;
      htmx.trigger(live, "sse:change");
    }
  });

  // A form whose answer never came (no connection, a server error): say so and keep what was typed.
  function failed(event) {
    var problem = document.getElementById("problem");
    if (problem && event.detail.elt.tagName === "FORM") {
      problem.textContent = "That didn't go through. Check the connection and try again.";
      problem.hidden = false;
    }
  }
  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:sendError", failed);

  // After a form's answer is swapped in, the focus starts at the top of it, as on a new page.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.elt.id === "main" && !document.getElementById("main").contains(document.activeElement)) {
      document.getElementById("main").focus({ preventScroll: true });
    }
  });
})();
