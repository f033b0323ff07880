// The share URL's confirm page (review/capture.py); it works without script too. The share URL may
// carry the board's token (?token=): once the page is open it is dropped from the address bar and the
// history, as the board's own redirect does for its first URL.
(function () {
  "use strict";
  if (window.history && history.replaceState && /[?&]token=/.test(location.search)) {
    var query = new URLSearchParams(location.search);
    query.delete("token");
    var rest = query.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : ""));
  }
}());
