// Pages work without this script; with it, a form that starts long work (a lesson, an answer, a quiz,
// a class to grade) shows what the agents are doing while the next page is prepared.
(function () {
  function poll(box, started) {
    fetch("/status", {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (s) {
      var seconds = Math.round((Date.now() - started) / 1000);
      box.textContent = s.working ? "Working: " + s.line : "Working… " + seconds + " s";
    }).catch(function () {});
  }
  document.querySelectorAll("form.long").forEach(function (form) {
    form.addEventListener("submit", function () {
      var box = document.getElementById("working");
      if (!box) { return; }
      box.hidden = false;
      var started = Date.now();
      box.textContent = "Working…";
      setInterval(function () { poll(box, started); }, 700);
    });
  });
})();
