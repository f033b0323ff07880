// The capture pages (review/capture.py); they work without script too.
//  - The share URL may carry the board's token (?token=): once the page is open it is dropped from the
//    address bar and the history, as the board's own redirect does for its first URL.
//  - /capture's copy buttons copy the bookmarklet or the share URL to the clipboard.
(function () {
  "use strict";
  if (window.history && history.replaceState && /[?&]token=/.test(location.search)) {
    var query = new URLSearchParams(location.search);
    query.delete("token");
    var rest = query.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : ""));
  }
  if (!navigator.clipboard) { return; }
  Array.prototype.forEach.call(document.querySelectorAll("[data-copy-from]"), function (button) {
    var source = document.getElementById(button.getAttribute("data-copy-from"));
    if (!source) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.value).then(function () { button.textContent = "已复制"; });
    });
  });
}());
