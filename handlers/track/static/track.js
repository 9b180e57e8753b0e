// Keeps the tracking page current without a reload.
//
// Every few seconds (data-poll-seconds, set by the server) it asks the token
// API for the job and its texts. Only when they differ from what the page was
// rendered from (the #track-state block) does it fetch the page again and swap
// in the new #job section, so all wording and local times come from the same
// server template the no-JavaScript page uses. Polling pauses while the tab is
// hidden and checks at once when it comes back.
(function () {
  "use strict";

  var job = document.getElementById("job");
  var stateBlock = document.getElementById("track-state");
  if (!job || !stateBlock || !window.fetch || !window.DOMParser) {
    return;
  }

  var token = encodeURIComponent(job.getAttribute("data-token"));
  var seconds = Math.max(2, Number(job.getAttribute("data-poll-seconds")) || 12);
  var urls = {
    view: "/jobs/token/" + token,
    messages: "/jobs/token/" + token + "/messages",
    page: "/track/" + token,
  };
  var shown = JSON.parse(stateBlock.textContent);
  var timer = null;
  var stopped = false;

  function schedule(delaySeconds) {
    clearTimeout(timer);
    if (!stopped && !document.hidden) {
      timer = setTimeout(check, (delaySeconds || seconds) * 1000);
    }
  }

  function getJson(url) {
    return fetch(url, { cache: "no-store", credentials: "omit", headers: { Accept: "application/json" } }).then(
      function (response) {
        if (!response.ok) {
          var error = new Error("HTTP " + response.status);
          error.status = response.status;
          error.retryAfter = Number(response.headers.get("Retry-After")) || 0;
          throw error;
        }
        return response.json();
      }
    );
  }

  // Key order differs between the API's JSON and the embedded block, so
  // compare a form with sorted keys.
  function canonical(value) {
    if (Array.isArray(value)) {
      return "[" + value.map(canonical).join(",") + "]";
    }
    if (value && typeof value === "object") {
      return (
        "{" +
        Object.keys(value)
          .sort()
          .map(function (key) {
            return JSON.stringify(key) + ":" + canonical(value[key]);
          })
          .join(",") +
        "}"
      );
    }
    return JSON.stringify(value);
  }

  function same(a, b) {
    return canonical(a) === canonical(b);
  }

  function swapIn(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var freshJob = fresh.getElementById("job");
    var freshState = fresh.getElementById("track-state");
    if (!freshJob || !freshState) {
      return;
    }
    var statusChanged = freshJob.className !== job.className;
    freshJob.classList.add("just-updated");
    job.replaceWith(document.adoptNode(freshJob));
    job = freshJob;
    shown = JSON.parse(freshState.textContent);
    document.title = fresh.title;
    var headline = job.querySelector("#status-heading");
    var announce = document.getElementById("announce");
    if (announce && headline) {
      announce.textContent = (statusChanged ? "Status updated: " : "New update: ") + headline.textContent;
    }
  }

  function check() {
    Promise.all([getJson(urls.view), getJson(urls.messages)])
      .then(function (results) {
        var latest = { view: results[0], messages: results[1].messages };
        if (same(latest, shown)) {
          return null;
        }
        return fetch(urls.page, { cache: "no-store", credentials: "omit" }).then(function (response) {
          return response.ok ? response.text().then(swapIn) : null;
        });
      })
      .then(
        function () {
          schedule();
        },
        function (error) {
          if (error && error.status === 404) {
            stopped = true; // the link no longer leads anywhere; keep what is shown
            return;
          }
          // Offline or slowed down: keep the page as it is and try again later.
          schedule(error && error.retryAfter ? error.retryAfter : seconds * 2);
        }
      );
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      clearTimeout(timer);
    } else {
      check();
    }
  });

  schedule();
})();
