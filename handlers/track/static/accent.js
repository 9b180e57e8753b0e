// Paints the page in its business's accent colour before the first paint.
//
// The server puts the colour, the text colour that reads on it, a hover
// shade and a halo tint on <html> as data-accent-* (handlers/track/view.py,
// `accent`); this sets them as the CSS custom properties track.css uses.
// The CSP allows no inline style, but it does allow our own script to change
// styles through the CSSOM. Without JavaScript the page keeps its own navy.
(function () {
  "use strict";

  var root = document.documentElement;
  ["accent", "accent-ink", "accent-hover", "accent-ring"].forEach(function (name) {
    var value = root.getAttribute("data-" + name);
    if (value && /^#[0-9a-f]{6}$/.test(value)) {
      root.style.setProperty("--" + name, value);
    }
  });
})();
