// The graph explorer: Cytoscape.js over the /graph JSON endpoints.
// Everything is loaded from this server; labels are inserted as text, never as HTML.
"use strict";

(function () {
  const root = document.getElementById("explorer");
  const statusLine = document.getElementById("status");
  const details = document.getElementById("details");
  const colours = JSON.parse(root.dataset.colours || "{}");

  const cy = cytoscape({
    container: document.getElementById("cy"),
    wheelSensitivity: 0.3,
    style: [
      {
        selector: "node",
        style: {
          "background-color": "data(color)",
          label: "data(label)",
          "font-size": 11,
          "text-wrap": "wrap",
          "text-max-width": 120,
          "text-valign": "bottom",
          "text-margin-y": 4,
          "text-background-color": "#fcfcfd",
          "text-background-opacity": 0.85,
          "text-background-padding": 1,
          width: 24,
          height: 24,
        },
      },
      { selector: "node.Event", style: { shape: "diamond", "font-size": 9, "text-max-width": 140 } },
      { selector: "node.Claim", style: { shape: "tag", "font-size": 9 } },
      { selector: "node.Organization", style: { shape: "round-rectangle" } },
      { selector: "node.PoliticalEntity", style: { shape: "octagon", width: 30, height: 30 } },
      { selector: "node.Place", style: { shape: "triangle" } },
      {
        selector: "edge",
        style: {
          width: 1.5,
          "curve-style": "bezier",
          "control-point-step-size": 48,
          "target-arrow-shape": "triangle",
          "line-color": "#9aa5b1",
          "target-arrow-color": "#9aa5b1",
          // Horizontal labels on a light background: readable at any edge angle.
          label: "data(caption)",
          "font-size": 9,
          color: "#334e68",
          "text-wrap": "wrap",
          "text-rotation": "none",
          "text-background-color": "#ffffff",
          "text-background-opacity": 0.9,
          "text-background-shape": "round-rectangle",
          "text-background-padding": 2,
          "text-border-color": "#d9e2ec",
          "text-border-width": 1,
          "text-border-opacity": 1,
        },
      },
      { selector: "edge.symmetric", style: { "target-arrow-shape": "none" } },
      { selector: "edge.derived", style: { "line-style": "dashed", "line-color": "#d9a441", "target-arrow-color": "#d9a441" } },
      { selector: "edge.single-claimant", style: { "line-style": "dashed", "line-dash-pattern": [2, 4], width: 2.5, "line-color": "#b03a2e", "target-arrow-color": "#b03a2e", color: "#7b241c" } },
      { selector: "edge.unrealised", style: { "line-style": "dotted", "line-color": "#9b59b6", "target-arrow-color": "#9b59b6", color: "#6b2c91" } },
      { selector: "edge.through", style: { "line-color": "#52606d", "target-arrow-color": "#52606d" } },
      { selector: "edge.path", style: { "line-color": "#c0392b", "target-arrow-color": "#c0392b", width: 4 } },
      { selector: "node.path", style: { "border-width": 3, "border-color": "#c0392b" } },
      { selector: ":selected", style: { "border-width": 3, "border-color": "#111", "line-color": "#111" } },
      // Off the path: kept in the view, but faint and unlabelled so the path reads clearly.
      { selector: ".faded", style: { opacity: 0.12, label: "", events: "no" } },
      { selector: ".hidden", style: { display: "none" } },
    ],
  });

  function setStatus(text) {
    statusLine.textContent = text;
  }

  async function api(path) {
    const response = await fetch(path, { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) {
      const names = (body.suggestions || []).map((s) => s.label).join(", ");
      const error = new Error(body.error + (names ? " — did you mean: " + names + "?" : ""));
      error.suggestions = body.suggestions || [];
      throw error;
    }
    return body;
  }

  // The perspective switch: every request answers from that side's statements alone.
  function perspective() {
    const select = document.getElementById("perspective");
    return select ? select.value : "all";
  }

  function query(params) {
    const search = new URLSearchParams();
    if (perspective() !== "all") search.append("perspective", perspective());
    for (const [key, value] of Object.entries(params)) {
      if (Array.isArray(value)) value.forEach((v) => search.append(key, v));
      else if (value !== undefined && value !== null) search.append(key, String(value));
    }
    return search.toString();
  }

  function inferred() {
    return document.getElementById("show-derived").checked;
  }

  // Exports join list attributes with " | ".
  function names(value) {
    return [].concat(value).flatMap((v) => String(v).split(" | "));
  }

  // An edge's caption: its relation, and its date where it has one.
  function caption(data) {
    const name = data.label;  // who acted for the parties is in the details
    if (data.members) {
      const dates = data.dates.length ? data.dates.join(", ") : "";
      const undated = data.members.length - data.dates.length;
      const extra = undated ? `${dates ? " + " : ""}${undated} undated` : "";
      return `${name}\n${dates}${extra}`;
    }
    const says = data.single_claimant_label ? `\nsays ${data.single_claimant_label}` : "";
    return (data.date ? `${name}\n${data.date}` : name) + says;
  }

  function edgeClasses(edge) {
    const data = edge.data;
    const classes = [edge.classes || data.kind || "asserted"];
    if (data.symmetric || ["metWith", "spokeWith", "negotiatedWith", "communicatedWith"].includes(data.label)) {
      classes.push("symmetric");
    }
    if (data.unrealised) classes.push("unrealised");
    if (data.through) classes.push("through");
    return classes.join(" ");
  }

  function addElements(elements) {
    const added = cy.collection();
    cy.batch(() => {
      for (const node of elements.nodes || []) {
        if (cy.getElementById(node.data.id).empty()) added.merge(cy.add({ group: "nodes", ...node }));
      }
      for (const edge of elements.edges || []) {
        if (!cy.getElementById(edge.data.id).empty()) continue;
        const data = { ...edge.data, caption: caption(edge.data) };
        added.merge(cy.add({ group: "edges", data: data, classes: edgeClasses(edge) }));
      }
    });
    applyFilters();
    if (added.nonempty()) layout();
    return added;
  }

  function layout(fresh, fit) {
    cy.elements().removeClass("faded");
    cy.layout({
      name: "cose",
      animate: false,
      randomize: Boolean(fresh),
      // Labels count as part of the nodes, so the layout keeps them apart.
      nodeDimensionsIncludeLabels: true,
      nodeRepulsion: () => 250000,
      idealEdgeLength: (edge) => (edge.data("members") ? 170 : 130),
      edgeElasticity: () => 60,
      nodeOverlap: 60,
      gravity: 0.6,
      componentSpacing: 80,
      numIter: 2500,
      padding: 30,
      fit: fit !== false,
    }).run();
  }

  function applyFilters() {
    const shownCategories = new Set(
      Array.from(document.querySelectorAll(".category-filter:checked")).map((box) => box.value)
    );
    const asserted = document.getElementById("show-asserted").checked;
    const derived = document.getElementById("show-derived").checked;
    cy.batch(() => {
      cy.nodes().forEach((node) => {
        node.toggleClass("hidden", !shownCategories.has(node.data("category") || "Other"));
      });
      cy.edges().forEach((edge) => {
        const kind = edge.data("kind");
        const hidden = (kind === "derived" && !derived) || (kind !== "derived" && !asserted);
        edge.toggleClass("hidden", hidden);
      });
    });
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function showNode(node) {
    details.replaceChildren();
    const data = node.data();
    details.append(element("h2", data.label));
    const list = element("dl");
    const rows = [
      ["IRI", data.iri || data.id],
      ["CURIE", data.curie],
      ["category", data.category],
      ["types", data.types],
      ["also named", data.altLabels],
      ["Wikidata", data.wikidata],
      ["date", data.date || data.year],
    ];
    for (const [name, value] of rows) {
      if (!value) continue;
      list.append(element("dt", name), element("dd", value));
    }
    details.append(list);
    const link = element("a", "Open the resource page");
    link.href = "/resource/" + encodeURIComponent((data.curie || "").replace(/^kg:/, ""));
    if ((data.curie || "").startsWith("kg:")) details.append(link);
  }

  function showEdge(edge) {
    details.replaceChildren();
    const data = edge.data();
    if (data.members) {
      data.members.forEach((member, i) => showEdgeData(member, i > 0));
      return;
    }
    showEdgeData(data, false);
  }

  function showEdgeData(data, more) {
    if (more) details.append(element("hr"));
    const source = cy.getElementById(data.source).data("label");
    const target = cy.getElementById(data.target).data("label");
    details.append(element("h2", `${source} — ${data.label} → ${target}`));
    details.append(element("p", `${data.kind} · ${data.relation}` + (data.date ? ` · ${data.date}` : ""), "kind-" + data.kind));
    if (data.eventLabel) {
      const status = data.status ? names(data.status).join(", ") : "";
      details.append(element("p", `Event: ${data.eventLabel}` + (status ? ` (${status})` : "")));
    }
    if (data.through) details.append(element("p", "Through the people acting for them: " + names(data.through).join(", ")));
    if (data.unrealised) details.append(element("p", "Not reported as having taken place: no relation follows from it.", "kind-unrealised"));
    if (data.quote) {
      details.append(element("blockquote", data.quote));
      if (data.evidence) details.append(element("p", "Evidence: " + data.evidence));
      if (data.lines) details.append(element("p", "Seed line: " + data.lines));
    } else if (data.kind === "derived") {
      details.append(element("p", "Derived by reasoning" + (data.via ? ` (via ${data.via})` : "") + "; no quote of its own."));
    }
    if (data.single_claimant) {
      details.append(element("p", `Rests on the statements of ${data.single_claimant_label} alone: it holds in that perspective, not in the article's own.`, "single-claimant"));
    }
  }

  let lastAction = null;

  async function expand(name) {
    lastAction = () => expand(name);
    setStatus(`Loading neighbours of ${name}…`);
    try {
      const result = await api("/graph/neighbours?" + query({ node: name, inferred: inferred() }));
      addElements(result.elements);
      const centre = cy.getElementById(result.node.iri);
      cy.elements().unselect();
      centre.select();
      showNode(centre);
      cy.animate({ center: { eles: centre } }, { duration: 0 });
      setStatus(`${result.node.label}: ${result.neighbours.length} neighbours shown.`);
      return result;
    } catch (error) {
      setStatus(error.message);
      return null;
    }
  }

  async function search(text) {
    const list = document.getElementById("search-results");
    list.replaceChildren();
    if (!text.trim()) return [];
    try {
      const result = await api("/graph/search?" + query({ q: text, limit: 12 }));
      if (!result.results.length) setStatus(`Nothing is named like “${text}”.`);
      for (const entity of result.results) {
        const button = element("button", entity.label);
        button.type = "button";
        button.dataset.iri = entity.iri;
        const types = entity.types.filter((t) => t.startsWith("kgo:"));
        button.append(" ", element("small", (types.length ? types : entity.types).join(", ")));
        button.addEventListener("click", () => expand(entity.iri));
        const item = element("li");
        item.append(button);
        list.append(item);
      }
      return result.results;
    } catch (error) {
      setStatus(error.message);
      return [];
    }
  }

  async function showPath(from, to) {
    lastAction = () => showPath(from, to);
    setStatus(`Looking for a path from ${from} to ${to}…`);
    try {
      const result = await api("/graph/path?" + query({ from: from, to: to, inferred: inferred() }));
      cy.elements().removeClass("path");
      if (!result.paths.length) {
        setStatus(`No path between ${from} and ${to}.`);
        return result;
      }
      addElements(result.elements);
      const path = result.paths[0];
      for (const step of path.steps) {
        const edge = step.edge;
        cy.getElementById(`${edge.source}|${edge.key}|${edge.target}`).addClass("path");
      }
      for (const node of path.nodes) cy.getElementById(node.iri).addClass("path");
      // Lay the path out as a row across the view; the rest fades behind it.
      const onPath = cy.elements(".path");
      const width = cy.width();
      const height = cy.height();
      const gap = Math.max(160, (width - 160) / Math.max(1, path.nodes.length - 1));
      path.nodes.forEach((node, i) => {
        const y = height / 2 + (i % 2 === 0 ? 0 : 50);
        cy.getElementById(node.iri).position({ x: 80 + i * gap, y: y });
      });
      cy.elements().not(onPath).addClass("faded");
      cy.fit(onPath, 70);
      setStatus(`Path (${path.length} steps): ` + path.nodes.map((n) => n.label).join(" → "));
      return result;
    } catch (error) {
      setStatus(error.message);
      return null;
    }
  }

  // One drawn edge per pair and relation: its caption lists the dates of the events behind
  // it (three calls on three days), its details every one of them with its quote.
  function mergeParallel(edges) {
    const groups = new Map();
    for (const edge of edges) {
      const d = edge.data;
      const key = [d.source, d.target, d.label].join("|");
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(edge);
    }
    return Array.from(groups.values()).map((members) => {
      if (members.length === 1) return members[0];
      const first = members[0];
      const dates = members.map((m) => m.data.date).filter(Boolean);
      const data = { ...first.data, id: first.data.id + "|merged", members: members.map((m) => m.data) };
      delete data.date;
      data.dates = dates;
      return { data: data, classes: first.classes };
    });
  }

  async function showNetwork() {
    lastAction = () => showNetwork();
    setStatus("Loading the negotiation network…");
    try {
      const level = document.getElementById("network-level").value;
      const unrealised = document.getElementById("network-unrealised").checked;
      const result = await api("/graph/network?" + query({ level: level, unrealised: unrealised, inferred: inferred() }));
      cy.elements().remove();
      addElements({ nodes: result.elements.nodes, edges: mergeParallel(result.elements.edges) });
      layout(true);
      cy.fit(undefined, 30);
      const extra = unrealised ? " (with planned, expected and cancelled meetings)" : "";
      setStatus(`Negotiation network, ${level} level: ${result.rows.length} links between ${result.elements.nodes.length} parties${extra}.`);
      return result;
    } catch (error) {
      setStatus(error.message);
      return null;
    }
  }

  function downloadUrl(format) {
    const nodes = cy.nodes().not(".hidden").map((node) => node.id());
    const params = { download: true, inferred: inferred() };
    if (nodes.length) params.node = nodes;
    return `/export/${encodeURIComponent(format)}?` + query(params);
  }

  cy.on("tap", "node", (event) => {
    showNode(event.target);
    expand(event.target.id());
  });
  cy.on("tap", "edge", (event) => showEdge(event.target));

  document.getElementById("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search(document.getElementById("search").value);
  });
  document.getElementById("path-form").addEventListener("submit", (event) => {
    event.preventDefault();
    showPath(document.getElementById("path-from").value, document.getElementById("path-to").value);
  });
  document.querySelectorAll("#filters input").forEach((box) => box.addEventListener("change", applyFilters));
  document.getElementById("network-button").addEventListener("click", showNetwork);
  document.getElementById("layout-button").addEventListener("click", () => layout(true));
  document.getElementById("clear-button").addEventListener("click", () => {
    cy.elements().remove();
    details.replaceChildren();
    setStatus("Cleared.");
  });
  document.getElementById("perspective").addEventListener("change", () => {
    cy.elements().remove();
    details.replaceChildren();
    setStatus(`Perspective: ${perspective()}.`);
    if (lastAction) lastAction();
  });
  document.getElementById("download-form").addEventListener("submit", (event) => {
    event.preventDefault();
    window.location.href = downloadUrl(document.getElementById("download-format").value);
  });

  window.karabakhExplorer = { cy, expand, search, showPath, showNetwork, downloadUrl, colours, perspective };
  if (root.dataset.focus) expand(root.dataset.focus);
})();
