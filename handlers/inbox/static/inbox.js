/* The office inbox's live updates: no build step, no inline script (the CSP allows none).
 *
 * The page listens to /inbox/events (server-sent events). On "change" it fetches itself again and
 * swaps in each element marked data-live-region (matched by id) -- except one the user is working
 * in, so a reply being typed is never lost -- and the title, which counts the conversations
 * waiting (a hidden tab shows it). A login that ended (the server says "ended", or the fetch is
 * sent to the login page) reloads the page, which then shows the login.
 */
(function () {
  "use strict";
  var source = document.body.getAttribute("data-live");
  if (!source || !window.EventSource || !window.fetch) {
    return;
  }
  var busy = false;
  var again = false;

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    document.querySelectorAll("[data-live-region]").forEach(function (old) {
      var replacement = fresh.getElementById(old.id);
      if (replacement && !old.contains(document.activeElement)) {
        old.replaceWith(document.importNode(replacement, true));
      }
    });
    document.title = fresh.title;
  }

  function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.redirected || !response.ok) {
          window.location.reload();
          return null;
        }
        return response.text();
      })
      .then(function (html) {
        if (html) {
          swap(html);
        }
      })
      .catch(function () { /* the next change tries again */ })
      .then(function () {
        busy = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  var events = new EventSource(source);
  events.addEventListener("change", refresh);
  events.addEventListener("ended", function () {
    events.close();
    window.location.reload();
  });
})();
