// The map page: world-atlas outlines drawn with d3-geo as SVG paths, the graph's points on top.
"use strict";

(async () => {
  const layers = JSON.parse(document.getElementById("map-data").textContent);
  const svg = document.getElementById("map");
  const placePanel = document.getElementById("place-events");
  const eventPanel = document.getElementById("event-details");
  const SVG = "http://www.w3.org/2000/svg";
  const node = (tag, attributes) => {
    const element = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    return element;
  };

  const response = await fetch("/static/vendor/world-atlas/countries-50m.json");
  const world = await response.json();
  const countries = topojson.feature(world, world.objects.countries);
  const points = {
    type: "FeatureCollection",
    features: layers.placed.map((p) => ({
      type: "Feature",
      properties: p,
      geometry: { type: "Point", coordinates: [p.longitude, p.latitude] },
    })),
  };
  // The densest cluster: the points within 6 degrees of the point with most such neighbours.
  const near = (a, b) => Math.hypot(a.longitude - b.longitude, a.latitude - b.latitude) < 6;
  const centre = layers.placed.reduce((best, p) => {
    const count = layers.placed.filter((q) => near(p, q)).length;
    return count > best.count ? { p, count } : best;
  }, { p: null, count: 0 }).p;
  const cluster = {
    type: "FeatureCollection",
    features: points.features.filter((f) => centre && near(f.properties, centre)),
  };
  const states = new Set(layers.states);

  function draw(extent) {
    svg.replaceChildren();
    // Fit the projection to the chosen points (with a margin), not to the whole world.
    const projection = d3.geoMercator().fitExtent([[160, 110], [800, 490]], extent);
    const path = d3.geoPath(projection);
    const outlines = node("g", { class: "countries" });
    for (const feature of countries.features) {
      const d = path(feature);
      if (!d) continue;
      const name = feature.properties.name;
      const shape = node("path", { d, class: states.has(name) ? "country in-graph" : "country" });
      const title = node("title", {});
      title.textContent = name;
      shape.append(title);
      outlines.append(shape);
    }
    svg.append(outlines);
    const marks = node("g", { class: "places" });
    for (const feature of points.features) {
      const place = feature.properties;
      const [x, y] = projection(feature.geometry.coordinates);
      const radius = 4 + Math.min(8, place.events.length * 1.5);
      const dot = node("circle", {
        cx: x, cy: y, r: radius,
        class: `place ${strongest(place.events)}`,
        "data-place": place.place, tabindex: 0,
      });
      const title = node("title", {});
      title.textContent = `${place.label}: ${place.events.length} event(s)`;
      dot.append(title);
      dot.addEventListener("click", () => openPlace(place));
      const label = node("text", { x: x + radius + 2, y: y + 4, class: "place-label" });
      label.textContent = place.label;
      marks.append(dot, label);
    }
    svg.append(marks);
  }
  const strongest = (events) => {
    const order = ["stated", "claimed", "planned", "disputed", "cancelled"];
    const seen = events.map((e) => e.presentation);
    return order.find((kind) => seen.includes(kind)) || "none";
  };
  document.getElementById("zoom-all").addEventListener("click", () => draw(points));
  document.getElementById("zoom-cluster").addEventListener("click", () => draw(cluster));
  draw(cluster.features.length > 1 ? cluster : points);

  function openPlace(place) {
    placePanel.replaceChildren();
    const heading = document.createElement("h2");
    const link = document.createElement("a");
    link.href = place.href;
    link.textContent = place.label;
    heading.append(link, ` (${place.latitude.toFixed(3)}, ${place.longitude.toFixed(3)})`);
    placePanel.append(heading);
    const list = document.createElement("ul");
    for (const event of place.events) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = `event-button ${event.presentation}`;
      button.textContent = `${event.label}${event.date ? " · " + event.date : ""} · ${event.presentation}`;
      button.addEventListener("click", () => window.karabakhEvidence.show(eventPanel, event));
      item.append(button);
      list.append(item);
    }
    if (!place.events.length) list.append(Object.assign(document.createElement("li"), { textContent: "no event here in this perspective" }));
    placePanel.append(list);
    placePanel.hidden = false;
  }
  window.karabakhMap = { layers, openPlace, ready: true };
})();
