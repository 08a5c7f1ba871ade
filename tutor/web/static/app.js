// Pages work without this script. With it:
// - a form that starts long work (a lesson, an answer, a quiz, a class to grade) shows what the agents are doing
//   while the next page is prepared;
// - a lesson's check question (and the "Does your answer say this?" rating that may follow) is answered in place:
//   the form is posted with fetch and the result, HTML the server escaped, appears under the question; the lesson
//   is not left or run again. On any failure the form is posted the ordinary way.
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

  function resultBox(form) {
    var card = form.closest(".check-card");
    return card ? card.querySelector(".check-result") : null;
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var inCheck = form.matches("form.check") || (form.matches("form.rate") && form.closest(".check-result"));
    var box = inCheck ? resultBox(form) : null;
    if (!box || !window.fetch || !window.FormData) { return; }
    event.preventDefault();
    var data = new FormData(form);
    if (event.submitter && event.submitter.name) { data.append(event.submitter.name, event.submitter.value); }
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    box.setAttribute("aria-busy", "true");
    box.innerHTML = '<p class="dim">Checking your answer…</p>';
    fetch(form.action, {method: "POST", body: data, credentials: "same-origin",
                        headers: {"X-Requested-With": "fetch"}})
      .then(function (r) {
        if (!r.ok) { throw new Error(r.status); }
        return r.text();
      })
      .then(function (html) {
        box.innerHTML = html;  // the server's own template: everything in it is escaped
        box.removeAttribute("aria-busy");
        buttons.forEach(function (b) { b.disabled = false; });
        var first = box.querySelector("[role=status], [role=alert]");
        if (first) { first.setAttribute("tabindex", "-1"); first.focus({preventScroll: false}); }
      })
      .catch(function () {
        buttons.forEach(function (b) { b.disabled = false; });
        box.removeAttribute("aria-busy");
        form.submit();  // the plain form post, as without JavaScript
      });
  });
})();
