// The timeline page: vis-timeline over the items the server embedded in the page.
"use strict";

(() => {
  const items = JSON.parse(document.getElementById("timeline-data").textContent);
  const container = document.getElementById("timeline");
  const panel = document.getElementById("event-details");
  const byId = new Map(items.map((item) => [item.id, item]));

  const badge = (item) => {
    if (item.reading) return ` (reading ${item.reading} of ${item.readings})`;
    if (item.precision === "month" || item.precision === "year") return ` (${item.precision})`;
    if (item.precision === "from") return " →";
    return "";
  };
  const data = items.map((item) => ({
    id: item.id,
    content: "",
    start: item.start,
    end: item.end || undefined,
    type: item.end ? "range" : "point",
    className: item.className,
    title: `${item.label} · ${item.date} · ${item.presentation}`,
    text: item.label + badge(item),
  }));

  const options = {
    stack: true,
    selectable: true,
    showCurrentTime: false,
    zoomMin: 1000 * 60 * 60 * 24 * 2,
    min: "1900-01-01",
    max: "2030-12-31",
    orientation: { axis: "top" },
    margin: { item: 4 },
    // Labels as text nodes: they come from the data and are never parsed as HTML.
    template: (entry) => {
      const label = document.createElement("span");
      label.textContent = entry.text;
      return label;
    },
  };
  // Without a date range, open on the days around the article's (9 October 2020); the
  // window is given to the constructor so that items outside it are laid out too.
  const params = new URLSearchParams(window.location.search);
  const around = items.filter((i) => i.start >= "2020-09-20");
  if (!params.get("from") && !params.get("to") && around.length) {
    options.start = "2020-09-24";
    options.end = "2020-10-16";
  }
  const dataset = new vis.DataSet(data);
  const timeline = new vis.Timeline(container, dataset, options);
  document.getElementById("show-all").addEventListener("click", () => timeline.fit());

  function open(id) {
    const item = byId.get(id);
    if (item) window.karabakhEvidence.show(panel, item);
  }
  timeline.on("select", (event) => {
    if (event.items.length) open(event.items[0]);
  });
  window.karabakhTimeline = { timeline, items, open };
})();
