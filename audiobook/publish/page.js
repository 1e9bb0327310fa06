// The show's pages work without this script (links, native audio controls); it adds seeking by
// chapter, following along in the chapter list and transcript, and copying the feed address.
(function () {
  "use strict";

  // The feed address where this page is served (the file's own link), for copying and podcast:// links.
  var feedLink = document.querySelector("link[rel=alternate][type='application/rss+xml']");
  var feedInput = document.getElementById("feed-url");
  if (feedLink && feedInput && /^https?:$/.test(location.protocol)) {
    var here = new URL(feedLink.getAttribute("href"), location.href).href;
    feedInput.value = here;
    var app = document.getElementById("open-in-app");
    if (app) app.href = "podcast://" + here.replace(/^https?:\/\//, "");
  }
  var copy = document.getElementById("copy-feed");
  if (copy && feedInput) {
    copy.addEventListener("click", function () {
      var status = document.getElementById("copy-status");
      var done = function () { if (status) status.textContent = copy.dataset.done; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(feedInput.value).then(done, function () { feedInput.select(); });
      } else {
        feedInput.select();
        try { if (document.execCommand("copy")) done(); } catch (e) { /* the address stays selected */ }
      }
    });
  }

  var player = document.getElementById("player");
  if (!player) return;
  var buttons = Array.prototype.slice.call(document.querySelectorAll("button.seek"));
  var lines = Array.prototype.slice.call(document.querySelectorAll(".transcript .line"));
  var starts = function (els) { return els.map(function (el) { return parseFloat(el.dataset.start); }); };
  var chapterStarts = starts(buttons), lineStarts = starts(lines);

  function seek(seconds) {
    player.currentTime = seconds;
    var playing = player.play();
    if (playing && playing.catch) playing.catch(function () { /* not allowed to play yet: seeking is enough */ });
  }
  buttons.forEach(function (button) {
    button.addEventListener("click", function () { seek(parseFloat(button.dataset.start)); });
  });

  function current(list, t) {  // the last start at or before t
    var found = -1;
    for (var i = 0; i < list.length && list[i] <= t + 0.05; i++) found = i;
    return found;
  }
  var shownChapter = -2, shownLine = -2;
  function follow() {
    var t = player.currentTime, c = current(chapterStarts, t), l = current(lineStarts, t);
    if (c !== shownChapter) {
      buttons.forEach(function (b, i) {
        if (i === c) b.setAttribute("aria-current", "true"); else b.removeAttribute("aria-current");
      });
      shownChapter = c;
    }
    if (l !== shownLine) {
      if (shownLine >= 0) lines[shownLine].classList.remove("now");
      if (l >= 0) lines[l].classList.add("now");
      shownLine = l;
    }
  }
  player.addEventListener("timeupdate", follow);
  player.addEventListener("seeked", follow);

  // A link to a moment: page#t=90 starts there.
  var match = /^#t=(\d+(?:\.\d+)?)$/.exec(location.hash);
  if (match) player.currentTime = parseFloat(match[1]);
})();
