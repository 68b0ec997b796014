// A "Graph" view for YASGUI results, drawn with the vendored Cytoscape.js: CONSTRUCT
// results as nodes and edges, and SELECT results whose rows link two IRIs.
(function () {
  "use strict";
  const RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label";

  function shortName(iri) {
    const cut = Math.max(iri.lastIndexOf("/"), iri.lastIndexOf("#"));
    return cut >= 0 ? iri.slice(cut + 1) : iri;
  }

  // {nodes: Map(iri -> label), edges: [{source, target, label}]} from the results.
  function toGraph(results) {
    const nodes = new Map();
    const edges = [];
    const labels = new Map();
    const statements = results.getStatements && results.getStatements();
    if (statements && statements.length) {
      for (const q of statements) {
        if (q.predicate.value === RDFS_LABEL && q.object.termType === "Literal") {
          labels.set(q.subject.value, q.object.value);
        } else if (q.object.termType === "NamedNode" && q.subject.termType === "NamedNode") {
          nodes.set(q.subject.value, null);
          nodes.set(q.object.value, null);
          edges.push({ source: q.subject.value, target: q.object.value, label: shortName(q.predicate.value) });
        }
      }
    } else {
      const variables = results.getVariables() || [];
      for (const row of results.getBindings() || []) {
        const iris = variables.filter((v) => row[v] && row[v].type === "uri");
        if (iris.length < 2) continue;
        const [a, b] = [iris[0], iris[iris.length - 1]];
        const middle = iris.length > 2 ? shortName(row[iris[1]].value) : "";
        for (const v of [a, b]) {
          nodes.set(row[v].value, null);
          const label = row[v + "Label"];
          if (label && label.value) labels.set(row[v].value, label.value);
        }
        edges.push({ source: row[a].value, target: row[b].value, label: middle });
      }
    }
    for (const iri of nodes.keys()) nodes.set(iri, labels.get(iri) || shortName(iri));
    return { nodes, edges };
  }

  class GraphPlugin {
    constructor(yasr) {
      this.yasr = yasr;
      this.priority = 5;
      this.label = "Graph";
    }
    canHandleResults() {
      try {
        return !!this.yasr.results && toGraph(this.yasr.results).edges.length > 0;
      } catch (error) {
        return false;
      }
    }
    getIcon() {
      const icon = document.createElement("span");
      icon.textContent = "◉";
      return icon;
    }
    draw() {
      const graph = toGraph(this.yasr.results);
      const container = document.createElement("div");
      container.className = "kg-result-graph";
      this.yasr.resultsEl.appendChild(container);
      const elements = [];
      for (const [iri, label] of graph.nodes) elements.push({ data: { id: iri, label: label } });
      // One edge per pair and relation: a symmetric relation (both directions) is drawn
      // once, without an arrow, so its label is not printed twice on top of itself.
      const drawn = new Map();
      for (const e of graph.edges) {
        const forward = e.source + "\u0000" + e.target + "\u0000" + e.label;
        const backward = e.target + "\u0000" + e.source + "\u0000" + e.label;
        if (drawn.has(forward)) continue;
        if (drawn.has(backward)) {
          drawn.get(backward).classes = "symmetric";
          continue;
        }
        const edge = { data: { id: "e" + drawn.size, source: e.source, target: e.target, label: e.label } };
        drawn.set(forward, edge);
        elements.push(edge);
      }
      const cy = cytoscape({
        container: container,
        elements: elements,
        style: [
          { selector: "node", style: { label: "data(label)", "font-size": 10, "background-color": "#1f5f99",
            width: 14, height: 14, "text-wrap": "wrap", "text-max-width": 120, "text-valign": "bottom",
            "text-margin-y": 3, "text-background-color": "#ffffff", "text-background-opacity": 0.85,
            "text-background-padding": 1 } },
          { selector: "edge", style: { label: "data(label)", "font-size": 8, width: 1, "line-color": "#9aa5b1",
            "target-arrow-shape": "triangle", "target-arrow-color": "#9aa5b1", "curve-style": "bezier", color: "#334e68",
            "text-rotation": "none", "text-background-color": "#ffffff", "text-background-opacity": 0.9,
            "text-background-padding": 1 } },
          { selector: "edge.symmetric", style: { "target-arrow-shape": "none" } },
        ],
      });
      // As in the explorer: labels count as part of the nodes, so the layout keeps them apart.
      cy.layout({
        name: "cose",
        animate: false,
        randomize: false,
        nodeDimensionsIncludeLabels: true,
        nodeRepulsion: () => 250000,
        idealEdgeLength: () => 100,
        edgeElasticity: () => 60,
        nodeOverlap: 60,
        gravity: 0.6,
        componentSpacing: 80,
        numIter: 2500,
        padding: 20,
      }).run();
      cy.on("tap", "node", (event) => {
        const path = window.karabakhLocalPath && window.karabakhLocalPath(event.target.id());
        if (path) window.location.href = path;
      });
      window.karabakhResultGraph = cy;
    }
  }

  if (window.Yasgui && window.cytoscape) Yasgui.Yasr.registerPlugin("graph", GraphPlugin);
})();
