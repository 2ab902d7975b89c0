// Progressive enhancement: draw each report chart with vega-embed when it has loaded.
// The data table after each chart is always there, so nothing is lost without this file.
(function () {
  if (typeof window.vegaEmbed !== "function") return;
  document.querySelectorAll(".sg-chart[data-spec-id]").forEach(function (el) {
    var source = document.getElementById(el.getAttribute("data-spec-id"));
    if (!source) return;
    var spec;
    try { spec = JSON.parse(source.textContent); } catch (e) { return; }
    window.vegaEmbed(el, spec, { actions: false, renderer: "svg" }).catch(function () {});
  });
})();
