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
          "font-size": 10,
          "text-wrap": "wrap",
          "text-max-width": 110,
          "text-valign": "bottom",
          "text-margin-y": 3,
          width: 22,
          height: 22,
        },
      },
      { selector: "node.Event", style: { shape: "diamond" } },
      { selector: "node.Claim", style: { shape: "tag" } },
      { selector: "node.Organization", style: { shape: "round-rectangle" } },
      { selector: "node.PoliticalEntity", style: { shape: "octagon" } },
      { selector: "node.Place", style: { shape: "triangle" } },
      {
        selector: "edge",
        style: {
          width: 1.5,
          "curve-style": "bezier",
          "target-arrow-shape": "triangle",
          "line-color": "#9aa5b1",
          "target-arrow-color": "#9aa5b1",
          label: "data(label)",
          "font-size": 8,
          color: "#52606d",
          "text-rotation": "autorotate",
        },
      },
      { selector: "edge.derived", style: { "line-style": "dashed", "line-color": "#d9a441", "target-arrow-color": "#d9a441" } },
      { selector: "edge.path", style: { "line-color": "#c0392b", "target-arrow-color": "#c0392b", width: 4 } },
      { selector: "node.path", style: { "border-width": 3, "border-color": "#c0392b" } },
      { selector: ":selected", style: { "border-width": 3, "border-color": "#111", "line-color": "#111" } },
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

  function query(params) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (Array.isArray(value)) value.forEach((v) => search.append(key, v));
      else if (value !== undefined && value !== null) search.append(key, String(value));
    }
    return search.toString();
  }

  function inferred() {
    return document.getElementById("show-derived").checked;
  }

  function addElements(elements) {
    const added = cy.collection();
    cy.batch(() => {
      for (const node of elements.nodes || []) {
        if (cy.getElementById(node.data.id).empty()) added.merge(cy.add({ group: "nodes", ...node }));
      }
      for (const edge of elements.edges || []) {
        if (cy.getElementById(edge.data.id).empty()) added.merge(cy.add({ group: "edges", ...edge }));
      }
    });
    applyFilters();
    if (added.nonempty()) layout();
    return added;
  }

  function layout(fresh) {
    cy.layout({
      name: "cose",
      animate: false,
      randomize: Boolean(fresh),
      nodeRepulsion: 60000,
      idealEdgeLength: 110,
      nodeOverlap: 40,
      padding: 30,
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
    const source = cy.getElementById(data.source).data("label");
    const target = cy.getElementById(data.target).data("label");
    details.append(element("h2", `${source} — ${data.label} → ${target}`));
    details.append(element("p", `${data.kind} · ${data.relation}` + (data.date ? ` · ${data.date}` : ""), "kind-" + data.kind));
    if (data.quote) {
      details.append(element("blockquote", data.quote));
      if (data.evidence) details.append(element("p", "Evidence: " + data.evidence));
      if (data.lines) details.append(element("p", "Seed line: " + data.lines));
    } else if (data.kind === "derived") {
      details.append(element("p", "Derived by reasoning" + (data.via ? ` (via ${data.via})` : "") + "; no quote of its own."));
    }
  }

  async function expand(name) {
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
      cy.fit(cy.elements(".path"), 60);
      setStatus(`Path (${path.length} steps): ` + path.nodes.map((n) => n.label).join(" → "));
      return result;
    } catch (error) {
      setStatus(error.message);
      return null;
    }
  }

  async function showNetwork() {
    setStatus("Loading the negotiation network…");
    try {
      const result = await api("/graph/network?" + query({ level: "person", inferred: true }));
      cy.elements().remove();
      addElements(result.elements);
      layout(true);
      cy.fit(undefined, 30);
      setStatus(`Negotiation network: ${result.rows.length} links between ${result.elements.nodes.length} parties.`);
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
  document.getElementById("download-form").addEventListener("submit", (event) => {
    event.preventDefault();
    window.location.href = downloadUrl(document.getElementById("download-format").value);
  });

  window.karabakhExplorer = { cy, expand, search, showPath, showNetwork, downloadUrl, colours };
  if (root.dataset.focus) expand(root.dataset.focus);
})();
