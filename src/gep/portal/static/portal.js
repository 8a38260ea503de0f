// Language switch (zh/en), remembered in localStorage. No other script runs on the pages.
(function () {
  var root = document.documentElement;
  var saved = null;
  try { saved = localStorage.getItem("gep-lang"); } catch (e) { /* storage disabled */ }
  if (saved === "en" || saved === "zh") root.setAttribute("data-lang", saved);
  document.addEventListener("DOMContentLoaded", function () {
    var b = document.getElementById("lang-toggle");
    if (!b) return;
    b.addEventListener("click", function () {
      var next = root.getAttribute("data-lang") === "zh" ? "en" : "zh";
      root.setAttribute("data-lang", next);
      root.setAttribute("lang", next === "zh" ? "zh-CN" : "en");
      try { localStorage.setItem("gep-lang", next); } catch (e) { /* ignore */ }
    });
  });
})();
